"""Our own per-SSO-session state: when each session was last logged in, and by which flow.

The AWS token cache says when the *access token* expires (an hour or so, renewed by refresh), not
when the *session* ends (8 h by default, an administrator's setting we cannot read). The login
time is what that end is estimated from, so we record it here, in `state_dir()/sessions.json`,
keyed by the session's cache key (sso-session name, or start URL for a legacy profile). The
file holds no secret. Writes are atomic and under an inter-process lock, since the tray and the
CLI may log in to different sessions at the same moment.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from aws_sso_tray import atomicfile, clock, paths

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


def _read(path: Path) -> dict[str, Any]:
    data = atomicfile.read_json_object(path, what="session state file") or {}
    sessions = data.get("sessions")
    return dict(sessions) if isinstance(sessions, dict) else {}


def _write(path: Path, sessions: dict[str, Any]) -> None:
    body = json.dumps({"version": _VERSION, "sessions": sessions}, indent=2, sort_keys=True)
    atomicfile.write_atomic(path, (body + "\n").encode("utf-8"), mode=0o600)


def get(cache_key: str) -> SessionRecord | None:
    """The recorded login of the session with this cache key, or None."""
    raw = _read(state_file()).get(cache_key)
    if raw is None:
        return None
    try:
        return SessionRecord.from_dict(raw)
    except ValueError:
        log.warning("ignoring a malformed session record in %s", state_file())
        return None


def record_login(cache_key: str, record: SessionRecord) -> None:
    """Remember `record` as the session's latest login (replacing an earlier one)."""
    path = state_file()
    with atomicfile.locked(path):
        sessions = _read(path)
        sessions[cache_key] = record.to_dict()
        _write(path, sessions)


def clear(cache_key: str) -> bool:
    """Forget the session's login (logout); True when there was a record."""
    path = state_file()
    with atomicfile.locked(path):
        sessions = _read(path)
        if cache_key not in sessions:
            return False
        del sessions[cache_key]
        _write(path, sessions)
    return True
