"""The engine's records turned into the `Snapshot` the faces see: pure functions, no I/O.

`build_snapshot` takes plain inputs (the profiles of the AWS config, the kept-fresh profiles'
`ProfileWork`, the sessions' `SessionInfo`, the sign-ins waiting, the problems to show and the
lead times) and returns a new immutable `Snapshot`; `session_state` says which `SessionStatus`
one session is in. Nothing here reads a clock, a file or a lock.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from aws_sso_tray.engine import timing
from aws_sso_tray.engine.logins import LoginsView
from aws_sso_tray.engine.work import ProfileWork, SessionInfo
from aws_sso_tray.snapshot import (
    ProfileState,
    ProfileStatus,
    SessionState,
    SessionStatus,
    Snapshot,
)

if TYPE_CHECKING:
    from aws_sso_tray.aws.profiles import ChainedProfile, SsoProfile

NO_LOGINS = LoginsView()


def build_snapshot(
    now: datetime,
    *,
    profiles: Sequence[SsoProfile | ChainedProfile],
    work: Mapping[str, ProfileWork],
    sessions: Iterable[SessionInfo],
    logins: LoginsView = NO_LOGINS,
    busy: bool = False,
    problems: Iterable[str] = (),
    refresh_before: timedelta,
    warn_before: timedelta,
    pid: int | None = None,
    account_names: Mapping[str, str] | None = None,
    label_of: Callable[[str], str | None] | None = None,
) -> Snapshot:
    """Every profile and session as the faces show them at `now` (`account_names`: id ->
    the portal's name; `label_of`: a profile's settings.toml label)."""
    names = account_names or {}
    return Snapshot(
        taken_at=now,
        sessions=tuple(session_state(i, now, logins, warn_before) for i in sessions),
        profiles=tuple(
            _named(profile_state(p, work.get(p.name), now, refresh_before), names, label_of)
            for p in profiles
        ),
        busy=busy or bool(logins.waiting),
        # a session's problem once
        config_error="; ".join(dict.fromkeys(p for p in problems if p)) or None,
        pid=pid,
    )


def profile_state(
    profile: SsoProfile | ChainedProfile,
    work: ProfileWork | None,
    now: datetime,
    refresh_before: timedelta,
) -> ProfileState:
    """One profile: idle unless kept fresh (`work`); a chained role names its source (`via`)."""
    from aws_sso_tray.aws import profiles  # the engine has read the config with it already

    idle = ProfileState(
        name=profile.name,
        session_key=profile.session.cache_key,
        account_id=profile.account_id,
        role_name=profile.role_name,
        status=ProfileStatus.IDLE,
        via=profile.source.name if isinstance(profile, profiles.ChainedProfile) else None,
    )
    if work is None:
        return idle
    return dataclasses.replace(
        idle,
        status=work.status,
        synced_section=work.section,
        credentials_expire_at=work.expires_at,
        next_refresh_at=work.next_refresh_at(now, refresh_before),
        last_refresh_at=work.last_refresh_at,
        last_error=work.last_error,
    )


def _named(
    state: ProfileState,
    names: Mapping[str, str],
    label_of: Callable[[str], str | None] | None,
) -> ProfileState:
    name, label = names.get(state.account_id), label_of(state.name) if label_of else None
    if name is None and label is None:
        return state
    return dataclasses.replace(state, account_name=name, label=label)


def session_status(
    info: SessionInfo, now: datetime, logging_in: bool, warn_before: timedelta
) -> SessionStatus:
    """Which state one session is in at `now` (a sign-in waiting outranks everything)."""
    expired = info.token_expires_at is not None and info.token_expires_at <= now
    ended = info.session_ends_at is not None and info.session_ends_at <= now
    if logging_in:
        return SessionStatus.LOGGING_IN
    if not info.has_token:
        # Nothing has ended: the user signed out, or never signed in here.
        signed_out = info.signed_out_at is not None
        return SessionStatus.SIGNED_OUT if signed_out else SessionStatus.NOT_SIGNED_IN
    if info.refused or (expired and (not info.can_refresh or ended)):
        return SessionStatus.LOGIN_NEEDED
    if timing.session_warning_due(info.session_ends_at, now, warn_before):
        return SessionStatus.EXPIRING
    if info.last_error:
        return SessionStatus.ERROR
    return SessionStatus.LOGGED_IN


def session_state(
    info: SessionInfo, now: datetime, logins: LoginsView, warn_before: timedelta
) -> SessionState:
    key = info.session.cache_key
    login_url, browser_error = logins.pages.get(key, (None, None))
    return SessionState(
        key=key,
        name=info.session.display_name,
        start_url=info.session.start_url,
        status=session_status(info, now, key in logins.waiting, warn_before),
        token_expires_at=info.token_expires_at,
        session_ends_at=info.session_ends_at,
        last_error=info.last_error,
        signed_in_at=info.signed_in_at,
        login_url=login_url,
        browser_error=browser_error,
    )


__all__ = ["build_snapshot", "profile_state", "session_state", "session_status"]
