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
notices it (`login.signed_out_at` tells it from an expiry). Writes are atomic and under an
inter-process lock, since the tray and the CLI may log in to different sessions at the same
moment.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from aws_sso_tray import clock
from aws_sso_tray.files import atomicfile, paths

log = logging.getLogger(__name__)

_VERSION = 1


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
