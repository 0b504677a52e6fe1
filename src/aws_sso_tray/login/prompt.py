"""What a sign-in asks of the person, as every part of the login passes it around.

`LoginPrompt` is the one value a face sees of a running login: the page to open (and, for the
device code flow, the code to confirm), why that flow was chosen, and until when the login
waits. `login()` hands it to the caller's `PromptHandler`; `lock` publishes it so that a second
caller learns where the first login waits; `desktop.browser` re-sends it with `browser_error`
set when no browser showed the page. `Flow` names the two flows; `LoginCancelledError` is how
any wait of a login ends when the caller sets `cancel`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from aws_sso_tray import clock
from aws_sso_tray.errors import AppError, ExitCode

Flow = Literal["pkce", "device"]
FlowChoice = Literal["auto", "pkce", "device"]


class LoginCancelledError(AppError):
    """The caller set the `cancel` event (the tray quit, or the user pressed Cancel)."""

    exit_code = ExitCode.ERROR
    title = "Login cancelled"


@dataclass(frozen=True)
class LoginPrompt:
    """What the person must do: open `url` (and, for device code, confirm `user_code`)."""

    session: str  # the session's display name
    flow: Flow
    url: str  # the page to open: the authorize URL, or verificationUriComplete
    user_code: str | None  # device code only: the code the page shows, to compare
    verification_uri: str | None  # device code only: where to type the code by hand
    reason: str  # why this flow was chosen, one line
    opening_browser: bool  # False with open_browser=False: the caller must show the URL
    expires_at: datetime  # when the login stops waiting
    joined: bool = False  # True when this is another caller's login, being waited for
    browser_error: str | None = None  # why no browser showed `url`: the caller must show it

    def to_dict(self) -> dict[str, Any]:
        return {
            "session": self.session,
            "flow": self.flow,
            "url": self.url,
            "userCode": self.user_code,
            "verificationUri": self.verification_uri,
            "reason": self.reason,
            "openingBrowser": self.opening_browser,
            "expiresAt": clock.format_time(self.expires_at),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, joined: bool = False) -> LoginPrompt:
        flow: Flow = "device" if data.get("flow") == "device" else "pkce"
        return cls(
            session=str(data["session"]),
            flow=flow,
            url=str(data["url"]),
            user_code=data.get("userCode"),
            verification_uri=data.get("verificationUri"),
            reason=str(data.get("reason") or ""),
            opening_browser=bool(data.get("openingBrowser")),
            expires_at=clock.parse_time(data["expiresAt"]),
            joined=joined,
        )


PromptHandler = Callable[[LoginPrompt], None]
