"""Our own per-SSO-session state: when each session was last logged in, and by which flow,
and whether the user has signed out of it since.

The AWS token cache says when the *access token* expires (an hour or so, renewed by refresh), not
when the *session* ends (8 h by default, an administrator's setting we cannot read). The login
time is what that end is estimated from, so we record it here, in `state_dir()/sessions.json`,
keyed by the session's cache key (sso-session name, or start URL for a legacy profile). The
file holds no secret. A sign-out is recorded too (`record_logout`), because a sign-out is the
user's word: the tray and the daemon, in other processes, see it at their next file-watch tick
and stop treating the session as one that "expired". Another tool's sign-out (`aws sso
logout` deletes the token file of a live session) is recorded the same way by the engine that
notices it (`sign_out_time` tells it from an expiry). Writes are atomic and under an
inter-process lock, since the tray and the CLI may log in to different sessions at the same
moment.

The queries a face or the engine asks of an `SsoSession` live here too, beside the records they
read: when we signed in (`login_time`), whether and when the user signed out (`sign_out_time`,
which counts another tool's deletion of the token file), and when the session is expected to
end (`session_end`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aws_sso_tray import clock
from aws_sso_tray.aws import tokens
from aws_sso_tray.files import atomicfile, paths

if TYPE_CHECKING:
    from aws_sso_tray.aws.profiles import SsoSession

log = logging.getLogger(__name__)

_VERSION = 1
DEFAULT_SESSION_DURATION = timedelta(hours=8)  # IAM Identity Center's default session length


@dataclass(frozen=True)
class SessionRecord:
    """What we know about one session's last login."""

    login_time: datetime
    start_url: str
    flow: str  # "pkce" or "device"

    def to_dict(self) -> dict[str, str]:
        return {
            "loginTime": clock.format_time(self.login_time),
            "startUrl": self.start_url,
            "flow": self.flow,
        }

    @classmethod
    def from_dict(cls, data: Any) -> SessionRecord:
        """Raises ValueError when `data` is not a record."""
        if not isinstance(data, dict):
            raise ValueError("not an object")
        start_url = data.get("startUrl")
        login_time = data.get("loginTime")
        if not isinstance(start_url, str) or not isinstance(login_time, str):
            raise ValueError("no startUrl or loginTime")
        return cls(
            login_time=clock.parse_time(login_time),
            start_url=start_url,
            flow=str(data.get("flow") or ""),
        )


def state_file() -> Path:
    return paths.state_dir() / "sessions.json"


def _read(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(logins, sign-outs), each keyed by session cache key."""
    data = atomicfile.read_json_object(path, what="session state file") or {}
    sessions = data.get("sessions")
    signed_out = data.get("signedOut")
    return (
        dict(sessions) if isinstance(sessions, dict) else {},
        dict(signed_out) if isinstance(signed_out, dict) else {},
    )


def _write(path: Path, sessions: dict[str, Any], signed_out: dict[str, Any]) -> None:
    data: dict[str, Any] = {"version": _VERSION, "sessions": sessions}
    if signed_out:
        data["signedOut"] = signed_out
    body = json.dumps(data, indent=2, sort_keys=True)
    atomicfile.write_atomic(path, (body + "\n").encode("utf-8"), mode=0o600)


def get(cache_key: str) -> SessionRecord | None:
    """The recorded login of the session with this cache key, or None."""
    raw = _read(state_file())[0].get(cache_key)
    if raw is None:
        return None
    try:
        return SessionRecord.from_dict(raw)
    except ValueError:
        log.warning("ignoring a malformed session record in %s", state_file())
        return None


def record_login(cache_key: str, record: SessionRecord) -> None:
    """Remember `record` as the session's latest login (replacing an earlier one, and ending
    a recorded sign-out: the user has signed in again)."""
    path = state_file()
    with atomicfile.locked(path):
        sessions, signed_out = _read(path)
        sessions[cache_key] = record.to_dict()
        signed_out.pop(cache_key, None)
        _write(path, sessions, signed_out)


def clear(cache_key: str) -> bool:
    """Forget the session's login; True when there was a record."""
    path = state_file()
    with atomicfile.locked(path):
        sessions, signed_out = _read(path)
        if cache_key not in sessions:
            return False
        del sessions[cache_key]
        _write(path, sessions, signed_out)
    return True


def record_logout(cache_key: str, start_url: str, when: datetime) -> None:
    """The user signed out (`logout`, in any process): forget the login and remember the
    sign-out, so a running engine shows "signed out" and opens no sign-in by itself until the
    next `record_login`."""
    path = state_file()
    with atomicfile.locked(path):
        sessions, signed_out = _read(path)
        sessions.pop(cache_key, None)
        signed_out[cache_key] = {"signedOutAt": clock.format_time(when), "startUrl": start_url}
        _write(path, sessions, signed_out)


def signed_out_at(cache_key: str, start_url: str | None = None) -> datetime | None:
    """When the user signed out of the session (None: not since the last sign-in). With
    `start_url`, a sign-out recorded for another start URL (a renamed session) does not count."""
    raw = _read(state_file())[1].get(cache_key)
    if not isinstance(raw, dict) or not isinstance(raw.get("signedOutAt"), str):
        return None
    recorded = raw.get("startUrl")
    if (
        start_url is not None
        and isinstance(recorded, str)
        and recorded.rstrip("/") != start_url.rstrip("/")
    ):
        return None
    try:
        return clock.parse_time(raw["signedOutAt"])
    except ValueError:
        log.warning("ignoring a malformed sign-out record in %s", state_file())
        return None


# --- what the records say of a session ------------------------------------------------------


def login_time(session: SsoSession) -> datetime | None:
    """When we last signed in to `session` (None: never, or someone else did, e.g. the CLI)."""
    record = get(session.cache_key)
    if record is None or record.start_url.rstrip("/") != session.start_url.rstrip("/"):
        return None
    return record.login_time


def sign_out_time(
    session: SsoSession,
    *,
    now: datetime,
    session_duration: timedelta = DEFAULT_SESSION_DURATION,
) -> datetime | None:
    """When the user signed out of `session`, which has no usable token (a token, from any
    tool's sign-in, outranks a sign-out: callers that found one do not ask); None: not since
    the last sign-in.

    Our `logout` records the sign-out. Another tool's leaves no record: `aws sso logout`, or
    botocore, deletes the token file. A token file that is gone while the sign-in we recorded
    says the session still runs is that sign-out too (its time unknown: `now` is returned).
    """
    recorded = signed_out_at(session.cache_key, session.start_url)
    if recorded is not None:
        return recorded
    started = login_time(session)
    if started is not None and started + session_duration > now and token_file_gone(session):
        return now
    return None


def token_file_gone(session: SsoSession) -> bool:
    """True when the session's token file does not exist (False when we cannot tell)."""
    try:
        tokens.token_cache_file(session).stat()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return False


def session_end(
    session: SsoSession,
    *,
    session_duration: timedelta = DEFAULT_SESSION_DURATION,
) -> datetime | None:
    """When the SSO session is expected to end; None when there is no cached token.

    Not the access token's expiry: a token with a refresh token is renewed until the session
    ends, which is `session_duration` (the administrator's setting, default 8 h) after the
    login we recorded. A token without a refresh token ends at its `expiresAt`. When we did not
    record the login (the AWS CLI did it), the token's `expiresAt` is the only safe answer. The
    end is never before `expiresAt`: the token works until then in any case.
    """
    token = tokens.read_token(session)
    if token is None:
        return None
    if not token.refresh_token:
        return token.expires_at
    started = login_time(session)
    if started is None:
        return token.expires_at
    return max(started + session_duration, token.expires_at)
