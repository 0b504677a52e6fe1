"""Which desktop notices to send: a pure comparison of the previous and the current snapshot.

`decide(previous, current, sent, now=..., warn_before=...)` returns the notices to show, the
notice keys to take off the screen, and the new record of what was sent. Each event is sent at
most once: an event has an id that names the thing that happened (the session, and the session
end or token it is about), and an id in `sent` is never sent again. A refresh that keeps
failing and recovering (a flapping endpoint) is re-armed by recovery but also held back by a
cool-down, so it cannot flood the desktop.

Events:
- `session-ending:KEY`: the SSO session ends within `warn_before` (the session end the engine
  estimates from the login time; never the hourly access-token renewal, which is silent);
- `login-needed:KEY`: the session has ended or its token was refused, with a "Log in" button;
- `not-signed-in:KEY`: a session kept-fresh profiles rely on was never signed in here: the same
  button, in a normal (not critical) notice that says nothing ended;
- `refresh-failed`: kept-fresh profiles whose refresh failed after retries, or stopped on an
  error only the user can fix (no next refresh: the notice says so, never "Retrying"), in one
  notice;
- `login:KEY`: a sign-in to the session succeeded, in this process or another (the session
  came back to life, or our recorded sign-in time moved on): it takes the notices about the
  session's end or expiry, and the engine's "Signing in", "Open this page" and "Confirm the
  code" notices off the screen.

A session the user signed out of (`SIGNED_OUT`) gets no notice at all, and its notices about
an end or expiry are taken off the screen: a sign-out is not an expiry.

A notice's `key` is what `notify.Notifier.on_action` receives: `login-needed:KEY` and
`session-ending:KEY` mean "log in to session KEY" (see `session_of`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aws_sso_tray.clock import format_remaining, format_time
from aws_sso_tray.desktop.notify import Notice
from aws_sso_tray.engine.timing import session_warning_due
from aws_sso_tray.snapshot import (
    ProfileState,
    ProfileStatus,
    SessionState,
    SessionStatus,
    Snapshot,
)

ENDING = "session-ending"
LOGIN_NEEDED = "login-needed"
REFRESH_FAILED = "refresh-failed"
LOGGED_IN = "login"
NOT_SIGNED_IN = "not-signed-in"
AUTO_LOGIN = "auto-login"  # the engine's "Signing in to ..." notice (logins.Logins.auto_login)
LOGIN_PAGE = "login-page"  # the engine's "Open this page to sign in" notice
LOGIN_CODE = "login-code"  # the engine's "Confirm the code" notice (device code)
COOLDOWN = timedelta(hours=1)  # a re-armed failure notice waits this long after the last one
FORGET_AFTER = timedelta(days=2)  # sent-event records older than this are dropped
LOG_IN = "Log in"

_LIVE = (SessionStatus.LOGGED_IN, SessionStatus.EXPIRING)
_SIGNED_IN_FROM = (
    SessionStatus.LOGIN_NEEDED,
    SessionStatus.LOGGING_IN,
    SessionStatus.NOT_SIGNED_IN,
    SessionStatus.SIGNED_OUT,
)
_ACTION_PREFIXES = (f"{LOGIN_NEEDED}:", f"{ENDING}:")


@dataclass(frozen=True)
class Sent:
    """What was already sent: event id -> when, and notice key -> when last shown."""

    events: Mapping[str, datetime] = field(default_factory=dict)
    shown: Mapping[str, datetime] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    notices: tuple[Notice, ...]
    clear: tuple[str, ...]  # notice keys to take off the screen
    sent: Sent


def session_of(notice_key: str) -> str | None:
    """The session key a notice's action is about ("Log in"), or None for other notices."""
    for prefix in _ACTION_PREFIXES:
        if notice_key.startswith(prefix):
            return notice_key[len(prefix) :]
    return None


def _kept_fresh_sessions(snapshot: Snapshot) -> dict[str, list[str]]:
    keys: dict[str, list[str]] = {}
    for profile in snapshot.profiles:
        if profile.synced_section is not None:
            keys.setdefault(profile.session_key, []).append(_shown(profile))
    return keys


def _shown(profile: ProfileState) -> str:
    """A profile as notices name it: with its settings.toml label, `[PROD] prod-admin`."""
    return f"[{profile.label}] {profile.name}" if profile.label else profile.name


class _Ledger:
    """One decision being made: what is sent, what is cleared, and the record of both."""

    def __init__(self, sent: Sent, now: datetime) -> None:
        self.now = now
        self.events = {k: v for k, v in sent.events.items() if now - v < FORGET_AFTER}
        self.shown = {k: v for k, v in sent.shown.items() if now - v < FORGET_AFTER}
        self.notices: list[Notice] = []
        self.clear: list[str] = []

    def once(self, event: str, notice: Notice) -> None:
        """Send `notice` unless `event` was already sent."""
        if event in self.events:
            return
        self.events[event] = self.now
        self.shown[notice.key] = self.now
        self.notices.append(notice)

    def decision(self) -> Decision:
        return Decision(
            tuple(self.notices), tuple(dict.fromkeys(self.clear)), Sent(self.events, self.shown)
        )


@dataclass(frozen=True)
class _SessionChange:
    """What a per-session rule looks at: the session now, before, and who relies on it."""

    session: SessionState
    before: SessionState | None
    kept_fresh: Mapping[str, list[str]]
    warn_before: timedelta

    @property
    def was(self) -> SessionStatus | None:
        return self.before.status if self.before is not None else None


def decide(
    previous: Snapshot | None,
    current: Snapshot,
    sent: Sent,
    *,
    now: datetime,
    warn_before: timedelta,
    cooldown: timedelta = COOLDOWN,
) -> Decision:
    """The notices `current` calls for, given `previous` and what was already `sent`."""
    ledger = _Ledger(sent, now)
    kept_fresh = _kept_fresh_sessions(current)
    for session in current.sessions:
        before = previous.session(session.key) if previous is not None else None
        change = _SessionChange(session, before, kept_fresh, warn_before)
        rule = _SESSION_RULES.get(session.status)
        if rule is not None:
            rule(change, ledger)
    _refresh_failures(previous, current, ledger, cooldown)
    return ledger.decision()


def _live_session(change: _SessionChange, ledger: _Ledger) -> None:
    session = change.session
    if _signed_in(change.before, session):
        ledger.clear += _about_the_end(session.key)
        ledger.once(_event(LOGGED_IN, session, session.token_expires_at), _logged_in(session))
    if session_warning_due(session.session_ends_at, ledger.now, change.warn_before):
        ledger.once(_event(ENDING, session, session.session_ends_at), _ending(session, ledger.now))


def _signed_out_session(change: _SessionChange, ledger: _Ledger) -> None:
    if change.was is not SessionStatus.SIGNED_OUT:
        ledger.clear += _about_the_end(change.session.key)


def _not_signed_in_session(change: _SessionChange, ledger: _Ledger) -> None:
    session = change.session
    ledger.clear.append(f"{ENDING}:{session.key}")
    if session.key in change.kept_fresh:
        ledger.once(
            _event(NOT_SIGNED_IN, session, None),
            _not_signed_in(session, change.kept_fresh[session.key]),
        )


def _login_needed_session(change: _SessionChange, ledger: _Ledger) -> None:
    session = change.session
    # Only sessions someone relies on: one the user keeps profiles fresh from, or one that was
    # logged in a moment ago. A session never used on this computer is quiet.
    if session.key not in change.kept_fresh and change.was not in _LIVE:
        return
    ledger.clear.append(f"{ENDING}:{session.key}")
    ledger.once(
        _event(LOGIN_NEEDED, session, session.token_expires_at),
        _login_needed(session, change.kept_fresh.get(session.key, [])),
    )


_SESSION_RULES: Mapping[SessionStatus, Callable[[_SessionChange, _Ledger], None]] = {
    SessionStatus.LOGGED_IN: _live_session,
    SessionStatus.EXPIRING: _live_session,
    SessionStatus.SIGNED_OUT: _signed_out_session,
    SessionStatus.NOT_SIGNED_IN: _not_signed_in_session,
    SessionStatus.LOGIN_NEEDED: _login_needed_session,
}


def _refresh_failures(
    previous: Snapshot | None, current: Snapshot, ledger: _Ledger, cooldown: timedelta
) -> None:
    """One notice for the kept-fresh profiles that fail, re-armed by recovery, cooled down."""
    failing = [
        p
        for p in current.profiles
        if p.synced_section is not None and p.status == ProfileStatus.ERROR
    ]
    healthy = {
        p.name
        for p in current.profiles
        if p.status in (ProfileStatus.FRESH, ProfileStatus.IDLE) or p.synced_section is None
    }
    events, now = ledger.events, ledger.now
    # Recovery re-arms a profile's failure event...
    for name in healthy:
        events.pop(f"{REFRESH_FAILED}:{name}", None)
    # ...but the notice waits out the cool-down, so a flapping endpoint cannot flood.
    new = [p for p in failing if f"{REFRESH_FAILED}:{p.name}" not in events]
    last = ledger.shown.get(REFRESH_FAILED)
    if new and (last is None or now - last >= cooldown):
        for p in failing:
            events[f"{REFRESH_FAILED}:{p.name}"] = now
        ledger.shown[REFRESH_FAILED] = now
        ledger.notices.append(_refresh_failed(failing))
    elif (
        not failing
        and previous is not None
        and any(p.status == ProfileStatus.ERROR for p in previous.profiles)
    ):
        ledger.clear.append(REFRESH_FAILED)


def _signed_in(before: SessionState | None, session: SessionState) -> bool:
    """A sign-in happened between `before` and `session` (which is live)."""
    if before is None:
        return False  # the first look: nothing happened, it just is
    if before.status in _SIGNED_IN_FROM:
        return True
    # Signed in again while still live (the "ends soon" notice is up), maybe in another process.
    return session.signed_in_at is not None and (
        before.signed_in_at is None or session.signed_in_at > before.signed_in_at
    )


def _about_the_end(key: str) -> list[str]:
    """The keys of the notices a sign-in or a sign-out makes stale."""
    return [
        f"{LOGIN_NEEDED}:{key}",
        f"{ENDING}:{key}",
        f"{AUTO_LOGIN}:{key}",
        f"{LOGIN_PAGE}:{key}",
        f"{LOGIN_CODE}:{key}",
    ]


def _event(kind: str, session: SessionState, moment: datetime | None) -> str:
    return f"{kind}:{session.key}:{format_time(moment) if moment else '-'}"


def _ending(session: SessionState, now: datetime) -> Notice:
    assert session.session_ends_at is not None
    left = format_remaining(session.session_ends_at - now)
    return Notice(
        key=f"{ENDING}:{session.key}",
        title=f"SSO session {session.name} ends soon",
        message=f"Your SSO session '{session.name}' ends in {left}: log in again to keep "
        "your credentials fresh.",
        action_label=LOG_IN,
    )


def _login_needed(session: SessionState, profiles: list[str]) -> Notice:
    fed = f" Profiles kept fresh: {', '.join(profiles)}." if profiles else ""
    # The error is a sentence of its own, never put in parentheses: it often holds some itself.
    why = f" Last error: {session.last_error.rstrip('.')}." if session.last_error else ""
    return Notice(
        key=f"{LOGIN_NEEDED}:{session.key}",
        title=f"SSO session {session.name} expired",
        message=f"Your SSO session '{session.name}' has ended: log in to continue.{fed}{why}",
        action_label=LOG_IN,
        urgency="critical",
    )


def _not_signed_in(session: SessionState, profiles: list[str]) -> Notice:
    # The Log in button routes through the login-needed key (see `session_of`).
    return Notice(
        key=f"{LOGIN_NEEDED}:{session.key}",
        title=f"Sign in to {session.name}",
        message=f"SSO session '{session.name}' is not signed in yet: log in to keep "
        f"{', '.join(profiles)} fresh.",
        action_label=LOG_IN,
    )


def _logged_in(session: SessionState) -> Notice:
    return Notice(
        key=f"{LOGGED_IN}:{session.key}",
        title=f"Signed in to {session.name}",
        message=f"SSO session '{session.name}' is signed in; credentials are kept fresh.",
        urgency="low",
    )


def _refresh_failed(profiles: list[ProfileState]) -> Notice:
    # A profile with no next refresh stopped on a fix-it error (no access to the role,
    # long-term keys in its section...): its error says what to fix, and nothing is retried.
    stopped = [p for p in profiles if p.next_refresh_at is None]
    retried = [p for p in profiles if p.next_refresh_at is not None]
    parts = []
    if stopped:
        parts.append(
            f"Cannot refresh {_failing(stopped)}. Tried again once you change the AWS config, "
            "the credentials file or the settings."
        )
    if retried:
        lead = "Also failing: " if stopped else "Cannot refresh "
        parts.append(f"{lead}{_failing(retried)}. Retrying in the background.")
    return Notice(
        key=REFRESH_FAILED,
        title="Credentials refresh failing",
        message=" ".join(parts),
    )


def _failing(profiles: list[ProfileState]) -> str:
    """`profile dev: ERROR` / `profiles a, b: ERROR` (the first one's error)."""
    names = ", ".join(_shown(p) for p in profiles)
    error = (profiles[0].last_error or "unknown error").rstrip(".")
    plural = "s" if len(profiles) > 1 else ""
    return f"profile{plural} {names}: {error}"


__all__ = [
    "AUTO_LOGIN",
    "COOLDOWN",
    "LOGIN_CODE",
    "LOGIN_PAGE",
    "Decision",
    "Sent",
    "decide",
    "session_of",
]
