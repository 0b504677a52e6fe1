"""The engine's published state: immutable values the tray, the notifier and `status` render.

The engine builds a new `Snapshot` after every change and hands it to its subscribers; nobody
mutates one. Comparing two snapshots (`previous`, `current`) is how the notifier decides what is
new. `to_dict` / `from_dict` carry a snapshot through the file that `aws-sso-tray status` reads.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from enum import Enum
from typing import Any

from aws_sso_tray.clock import format_time, parse_time


class SessionStatus(str, Enum):
    LOGGED_IN = "logged_in"  # a usable token (renewable or not yet expired)
    EXPIRING = "expiring"  # the SSO session ends within the warning window
    LOGIN_NEEDED = "login_needed"  # the session expired, ended, or its token was refused
    NOT_SIGNED_IN = "not_signed_in"  # no token yet (never signed in here): nothing has ended
    # the user signed out (`logout`, or `aws sso logout` deleting the token file of a live
    # session): no login until they ask
    SIGNED_OUT = "signed_out"
    LOGGING_IN = "logging_in"  # a browser login is waiting for the user
    ERROR = "error"  # the last attempt failed for another reason (network, throttling...)


class ProfileStatus(str, Enum):
    IDLE = "idle"  # not kept fresh; nothing to do
    FRESH = "fresh"  # kept fresh and its section holds valid credentials
    REFRESHING = "refreshing"
    LOGIN_NEEDED = "login_needed"
    ERROR = "error"


@dataclass(frozen=True)
class SessionState:
    key: str  # SsoSession.cache_key
    name: str  # SsoSession.display_name
    start_url: str
    status: SessionStatus
    token_expires_at: datetime | None = None
    session_ends_at: datetime | None = None  # estimated end of the SSO session
    last_error: str | None = None
    signed_in_at: datetime | None = None  # our last recorded sign-in (None: none, or another tool)
    login_url: str | None = None  # LOGGING_IN: the page the person signs in on
    browser_error: str | None = None  # LOGGING_IN: why no browser showed that page


@dataclass(frozen=True)
class ProfileState:
    name: str
    session_key: str
    account_id: str
    role_name: str
    status: ProfileStatus
    synced_section: str | None = None  # set when the profile is kept fresh
    credentials_expire_at: datetime | None = None
    next_refresh_at: datetime | None = None
    last_refresh_at: datetime | None = None
    last_error: str | None = None
    account_name: str | None = None  # as the portal last listed it (None: not known here)
    label: str | None = None  # settings.toml's [[labels]] text for this profile ("PROD")
    via: str | None = None  # a role chained on SSO: the source profile it assumes it with


@dataclass(frozen=True)
class Snapshot:
    taken_at: datetime
    sessions: tuple[SessionState, ...] = ()
    profiles: tuple[ProfileState, ...] = ()
    busy: bool = False  # a refresh or login is running
    config_error: str | None = None
    pid: int | None = field(default=None, compare=False)

    def session(self, key: str) -> SessionState | None:
        return next((s for s in self.sessions if s.key == key), None)

    def profile(self, name: str) -> ProfileState | None:
        return next((p for p in self.profiles if p.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return _encode(asdict(self))  # type: ignore[no-any-return]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Snapshot:
        return cls(
            taken_at=parse_time(data["taken_at"]),
            sessions=tuple(
                SessionState(
                    **{
                        **_known(SessionState, s),
                        "status": SessionStatus(s["status"]),
                        **_times(s, "token_expires_at", "session_ends_at", "signed_in_at"),
                    }
                )
                for s in data.get("sessions", ())
            ),
            profiles=tuple(
                ProfileState(
                    **{
                        **_known(ProfileState, p),
                        "status": ProfileStatus(p["status"]),
                        **_times(p, "credentials_expire_at", "next_refresh_at", "last_refresh_at"),
                    }
                )
                for p in data.get("profiles", ())
            ),
            busy=bool(data.get("busy", False)),
            config_error=data.get("config_error"),
            pid=data.get("pid"),
        )


def _known(kind: type, data: dict[str, Any]) -> dict[str, Any]:
    """`data` without the keys `kind` has no field for: a status file written by a newer engine
    (one more field) still loads here, as an older engine's file (one field fewer) does."""
    names = {f.name for f in fields(kind)}
    return {k: v for k, v in data.items() if k in names}


def _times(data: dict[str, Any], *keys: str) -> dict[str, datetime | None]:
    return {k: parse_time(data[k]) if data.get(k) else None for k in keys}


def _encode(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return format_time(value)
    return value
