"""The worker's records: one `ProfileWork` per kept-fresh profile, one `SessionInfo` per session.

Both are touched only by the engine's worker thread, and changed only through their own
methods, each named for what happened (`succeeded`, `needs_login`, `section_loaded`...), so
that "what a refresh failure does to a profile" reads in one place. `view.build_snapshot`
turns them into the immutable `Snapshot` the faces see.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from aws_sso_tray.engine import timing
from aws_sso_tray.snapshot import ProfileStatus

if TYPE_CHECKING:
    from aws_sso_tray.aws.profiles import ChainedProfile, SsoProfile, SsoSession
    from aws_sso_tray.aws.rolecreds import RoleCredentials
    from aws_sso_tray.aws.tokens import SsoToken
    from aws_sso_tray.files.settings import SyncTarget


@dataclass
class ProfileWork:
    """One kept-fresh profile's refresh state."""

    profile: SsoProfile | ChainedProfile  # a chained role belongs to its root's session
    section: str
    expires_at: datetime | None = None  # of the credentials in the section
    fetched_at: datetime | None = None  # our clock when they were fetched (judges lifetimes)
    failures: int = 0
    retry_at: datetime | None = None
    blocked: bool = False  # its session needs a login: do not ask the portal
    stopped: bool = False  # needs the user to fix something: wait for a file to change
    forced: bool = False  # refresh_now()
    status: ProfileStatus = ProfileStatus.FRESH
    last_refresh_at: datetime | None = None
    last_error: str | None = None
    pending: RoleCredentials | None = None  # fetched, but the file could not be written
    pending_at: datetime | None = None  # when `pending` was fetched

    @property
    def session_key(self) -> str:
        return self.profile.session.cache_key

    # --- when ---------------------------------------------------------------------------------

    def due(self, now: datetime, lead: timedelta, slack: timedelta) -> bool:
        """A refresh should run at this tick (forced, a retry that is due, or in the lead)."""
        if self.forced:
            return True
        if self.blocked or self.stopped:
            return False
        if self.retry_at is not None:
            return now >= self.retry_at
        return timing.refresh_due(
            self.expires_at, now, lead, fetched_at=self.fetched_at, slack=slack
        )

    def wake_at(self, now: datetime, lead: timedelta, slack: timedelta) -> datetime | None:
        """When the worker must wake up for this profile; None: not on a timer."""
        if self.blocked or self.stopped:
            return None
        if self.retry_at is not None:
            return self.retry_at
        at = timing.batch_at(self.expires_at, lead, self.fetched_at, slack)
        return now if at is None else at

    def next_refresh_at(self, now: datetime, lead: timedelta) -> datetime | None:
        """The next refresh as the faces show it; None: none planned (waits for the user)."""
        if self.blocked or self.stopped:
            return None
        if self.retry_at is not None:
            return self.retry_at
        return timing.refresh_at(self.expires_at, lead, self.fetched_at) or now

    # --- what happened ----------------------------------------------------------------------

    def force(self) -> None:
        """refresh_now(): at the next tick, whatever it waited for."""
        self.forced = True
        self.blocked = False
        self.stopped = False

    def refreshing(self) -> None:
        self.status = ProfileStatus.REFRESHING

    def attempted(self) -> None:
        """A refresh ran (whatever its outcome): a refresh_now() request is served."""
        self.forced = False

    def succeeded(self, expires_at: datetime | None, fetched_at: datetime, now: datetime) -> None:
        """New credentials (fetched at `fetched_at`) are in the section."""
        self.expires_at = expires_at
        self.fetched_at = fetched_at
        self.failures = 0
        self.retry_at = None
        self.pending = None
        self.pending_at = None
        self.status = ProfileStatus.FRESH
        self.last_refresh_at = now
        self.last_error = None

    def unwritten(self, creds: RoleCredentials, fetched_at: datetime) -> None:
        """Fetched, but the file could not be written: keep them for the next try."""
        self.pending = creds
        self.pending_at = fetched_at

    def needs_login(self, message: str) -> None:
        """Its session needs a sign-in: ask the portal nothing until then."""
        self.blocked = True
        self.retry_at = None
        self.status = ProfileStatus.LOGIN_NEEDED
        self.last_error = message

    def needs_fix(self, message: str) -> None:
        """Asking again cannot help: wait until the user changes a file."""
        self.stopped = True
        self.retry_at = None
        self.failures = 0
        self.status = ProfileStatus.ERROR
        self.last_error = message

    def retry_later(self, message: str, now: datetime) -> None:
        """A transient failure: back off; show it as failing after a few, or once expired."""
        self.failures += 1
        self.retry_at = now + timing.backoff_delay(self.failures)
        self.last_error = message
        still_valid = self.expires_at is not None and self.expires_at > now
        failing = self.failures >= timing.REPORT_AFTER or not still_valid
        self.status = ProfileStatus.ERROR if failing else ProfileStatus.FRESH

    def clock_set_back(self, now: datetime) -> None:
        """The wall clock went back: a backoff must not last the jump."""
        if self.retry_at and self.retry_at > now + timing.BACKOFF_CAP:
            self.retry_at = now

    def files_changed(self) -> bool:
        """The user changed a file: a stopped profile tries its fix once; True if it was."""
        was_stopped, self.stopped = self.stopped, False
        return was_stopped

    def section_unreadable(self, message: str) -> None:
        self.last_error = message

    def section_loaded(self, expires_at: datetime | None) -> None:
        """What the credentials file says expires when (someone else may have written it)."""
        if expires_at != self.expires_at:
            self.expires_at = expires_at
            self.fetched_at = None

    def signed_out(self, session_name: str) -> None:
        """The user signed out of its session: wait for a sign-in, asking the portal nothing."""
        self.blocked = True
        self.forced = False
        self.retry_at = None
        self.status = ProfileStatus.LOGIN_NEEDED
        self.last_error = f"signed out of SSO session {session_name}"

    def signed_in(self) -> None:
        """Its session has a new token: a profile waiting for it starts over."""
        if not self.blocked:
            return
        self.blocked = False
        self.failures = 0
        self.retry_at = None
        self.status = ProfileStatus.FRESH
        self.last_error = None


@dataclass
class SessionInfo:
    """What we know about one SSO session's token."""

    session: SsoSession
    has_token: bool = False
    token_expires_at: datetime | None = None
    can_refresh: bool = False
    session_ends_at: datetime | None = None
    refused: bool = False  # the portal / OIDC said: log in again
    last_error: str | None = None
    auto_tried: str | None = None  # the expiry for which we already opened a login
    signed_in_at: datetime | None = None  # our recorded sign-in (login.history)
    signed_out_at: datetime | None = None  # the user signed out and has not signed in since

    def live(self, now: datetime) -> bool:
        """The session was signed in at the last look: a token usable now, not refused."""
        if not self.has_token or self.refused or self.token_expires_at is None:
            return False
        if self.token_expires_at > now:
            return True
        ended = self.session_ends_at is not None and self.session_ends_at <= now
        return self.can_refresh and not ended

    def observe_sign_in(self, signed_in_at: datetime | None) -> None:
        self.signed_in_at = signed_in_at

    def observe_sign_out(self, signed_out_at: datetime | None) -> bool:
        """Record the sign-out the files show; True when it is new."""
        new = signed_out_at is not None and self.signed_out_at is None
        self.signed_out_at = signed_out_at
        if new:
            self.refused = False
            self.last_error = None
        return new

    def observe_token(
        self, token: SsoToken | None, now: datetime, session_ends_at: datetime | None
    ) -> tuple[bool, bool]:
        """Record the cached token: (usable now, changed since the last look)."""
        before = (self.has_token, self.token_expires_at)
        self.has_token = token is not None
        self.token_expires_at = token.expires_at if token else None
        self.can_refresh = bool(token and token.can_refresh(now))
        self.session_ends_at = session_ends_at if token is not None else None
        usable = token is not None and (not token.expired(now) or self.can_refresh)
        return usable, (self.has_token, self.token_expires_at) != before

    def refused_by(self, message: str) -> None:
        """The portal or OIDC refused the token: a sign-in is needed."""
        self.refused = True
        self.last_error = message

    def login_failed(self, message: str) -> None:
        self.last_error = message

    def rearm(self) -> None:
        """A new token: forget the refusal and the automatic sign-in already opened."""
        self.refused = False
        self.last_error = None
        self.auto_tried = None

    def auto_login_opened(self, expiry: str) -> None:
        self.auto_tried = expiry


def carry_over_work(
    targets: Iterable[SyncTarget],
    profiles: Iterable[SsoProfile | ChainedProfile],
    old: Mapping[str, ProfileWork],
) -> tuple[dict[str, ProfileWork], list[str]]:
    """The records for the kept-fresh `targets` after a config or settings change, and the
    targets that are not SSO profiles in the config. A profile whose definition and section
    did not change keeps its record (its expiry, its backoff); any other starts afresh."""
    by_name = {p.name: p for p in profiles}
    work: dict[str, ProfileWork] = {}
    missing: list[str] = []
    for target in targets:
        profile = by_name.get(target.profile)
        if profile is None:
            missing.append(target.profile)
            continue
        kept = old.get(target.profile)
        if kept is not None and kept.profile == profile and kept.section == target.section:
            work[target.profile] = kept
        else:
            work[target.profile] = ProfileWork(profile, target.section)
    return work, missing


def carry_over_sessions(
    sessions: Iterable[SsoSession], old: Mapping[str, SessionInfo]
) -> dict[str, SessionInfo]:
    """The records for the config's sessions: an unchanged session keeps what we knew."""
    infos: dict[str, SessionInfo] = {}
    for session in sessions:
        kept = old.get(session.cache_key)
        infos[session.cache_key] = (
            kept if kept is not None and kept.session == session else SessionInfo(session)
        )
    return infos


__all__ = ["ProfileWork", "SessionInfo", "carry_over_sessions", "carry_over_work"]
