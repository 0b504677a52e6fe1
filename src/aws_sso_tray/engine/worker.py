"""The refresh engine: one named worker thread that keeps auto-sync profiles fresh.

Owns "what happens over time": every profile the user keeps fresh (settings `auto_sync`) is
written into its credentials-file section and refreshed when less than the lead time
(`refresh_before`, default 10 min) is left, re-planned from the new expiry. The faces (tray,
daemon) create one `Engine`, `start()` it, read `snapshot` or `subscribe()`, and call
`refresh_now()`, `login()`, `wake()` and `stop()`; nothing else.

How time is handled: every decision is a pure function of absolute UTC times (`timing`), taken
from an injectable clock and checked at every tick. The worker sleeps with `Event.wait` until
the next thing is due (a one-shot job in its own `schedule.Scheduler`), never longer than a
minute: monotonic waits do not count time spent suspended. A tick compares wall-clock and
monotonic deltas to notice a resume or a clock change and re-plans at once.

How failures are handled (one error boundary per tick, Maestral's model): each refresh failure
is sorted by its error's `recovery` (`errors.Recovery`, from `awsclients.ERROR_CODES`) into
login (stop asking the portal; wait for a new token; open the browser login once, see
`_auto_login`), retry (network, throttling, 5xx, an unwritable file: exponential backoff with
jitter, reported after `timing.REPORT_AFTER` failures, the old file kept), fix-it (long-term
keys in the section, no access to the role, a malformed profile: the profile stops in an error
state saying what to do, and is tried again only when the user changes the settings, the AWS
config or the credentials file, never on a timer) or a bug (traceback to the log, reported
once, the worker keeps running).

Other processes: the engine watches (stat only) the settings, the AWS config, the credentials
file and the SSO token cache, so `auto add`, an edited config or a terminal `aws sso login` take
effect at the next tick. Its snapshot goes to subscribers and to the snapshot file `status`
reads (`statusfile.write_snapshot`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import schedule

from aws_sso_tray import clock
from aws_sso_tray.desktop.notify import Notice
from aws_sso_tray.engine import alerts, timing
from aws_sso_tray.errors import (
    AlreadyRunningError,
    AppError,
    ConfigError,
    Recovery,
)
from aws_sso_tray.files import paths
from aws_sso_tray.files.settings import Settings
from aws_sso_tray.snapshot import (
    ProfileState,
    ProfileStatus,
    SessionState,
    SessionStatus,
    Snapshot,
)

if TYPE_CHECKING:
    from aws_sso_tray.aws.profiles import SsoProfile, SsoSession
    from aws_sso_tray.aws.rolecreds import RoleCredentials
    from aws_sso_tray.login.flows import LoginPrompt

log = logging.getLogger(__name__)

THREAD_NAME = "refresh-engine"
MAX_WORKERS = 6  # the portal throttles: 5-8 GetRoleCredentials at a time
WATCH_INTERVAL = 2.0  # seconds between stat()s of the files we depend on
STOP_TIMEOUT = 1.5

T = TypeVar("T")
R = TypeVar("R")


class Clock(Protocol):
    """Where the engine reads time: aware UTC wall clock, and a monotonic clock in seconds."""

    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...


class SystemClock:
    def now(self) -> datetime:
        return clock.now()

    def monotonic(self) -> float:
        return time.monotonic()


class NoticeSink(Protocol):
    """What the engine needs of `notify.Notifier`."""

    def send(self, notice: Notice) -> None: ...

    def clear(self, key: str) -> None: ...


Opener = Callable[[str], Any]  # opens a URL in the browser (flows.open_url by default)
Subscriber = Callable[[Snapshot], None]


@dataclass
class _Work:
    """One kept-fresh profile's refresh state (touched only by the worker thread)."""

    profile: SsoProfile
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


@dataclass
class _SessionInfo:
    """What we know about one SSO session's token (worker thread only)."""

    session: SsoSession
    has_token: bool = False
    token_expires_at: datetime | None = None
    can_refresh: bool = False
    session_ends_at: datetime | None = None
    refused: bool = False  # the portal / OIDC said: log in again
    last_error: str | None = None
    auto_tried: str | None = None  # the expiry for which we already opened a login
    signed_in_at: datetime | None = None  # our recorded sign-in (sessionstate)
    signed_out_at: datetime | None = None  # the user signed out and has not signed in since


class Engine:
    """Keeps auto-sync profiles fresh on one worker thread; see the module docstring."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        notifier: NoticeSink | None = None,
        refresh_before: timedelta | None = None,
        warn_before: timedelta | None = None,
        opener: Opener | None = None,
        env: Mapping[str, str] | None = None,
        platform: str | None = None,
        publish_file: bool = True,
        max_workers: int = MAX_WORKERS,
        watch_interval: float = WATCH_INTERVAL,
    ) -> None:
        self._clock: Clock = clock or SystemClock()
        self._notifier = notifier
        self._refresh_override = refresh_before
        self._warn_override = warn_before
        self._opener = opener
        self._env = env
        self._platform = platform
        self._publish_file = publish_file
        self._max_workers = max(1, max_workers)
        self._watch_interval = watch_interval

        self._lock = threading.Lock()  # guards the fields shared with other threads
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._subscribers: list[Subscriber] = []
        self._snapshot = Snapshot(taken_at=self._clock.now(), pid=os.getpid())
        self._published = False
        self._forced: set[str] = set()  # profile names, "*" for all
        self._logins: dict[str, threading.Thread] = {}
        self._login_results: dict[str, str | None] = {}  # session key -> error or None
        self._login_prompts: dict[str, LoginPrompt] = {}  # session key -> the waiting login
        self._browser_errors: dict[str, str] = {}  # session key -> why its page did not open
        # session key -> (title, why) of the automatic sign-in started: its one notice goes
        # out with the sign-in page (and the device code, if any), see _on_prompt
        self._auto_notices: dict[str, tuple[str, str]] = {}
        self._busy = False

        # Worker-thread state.
        self._settings = Settings()
        self._settings_problems: list[str] = []
        self._config_problem: str | None = None
        self._profiles: list[SsoProfile] = []
        self._work: dict[str, _Work] = {}
        self._sessions: dict[str, _SessionInfo] = {}
        self._missing: list[str] = []  # why auto-sync profiles are not usable, one line each
        # The credentials file's signature after our last write (none yet: matches nothing).
        self._own_write: object = object()
        self._loaded = False
        self._last_wall: float | None = None
        self._last_mono: float | None = None
        self._resumed_at: datetime | None = None
        self._offline = False  # offline_snapshot(): read the files, write nothing
        self._alert_prev: Snapshot | None = None
        self._sent = alerts.Sent()
        self._bugs = 0
        self._bug_reported = False
        self._scheduler = schedule.Scheduler()
        if watch_interval > 0:  # 0: at every tick (tests); schedule cannot repeat at 0 s
            self._scheduler.every(math.ceil(watch_interval)).seconds.do(self._watch).tag("watch")

        from aws_sso_tray.engine.watch import FileWatcher

        self._watcher = FileWatcher(self._watched_paths)
        if notifier is not None and getattr(notifier, "on_action", False) is None:
            notifier.on_action = self.handle_action  # type: ignore[attr-defined]

    # --- the API for the faces -------------------------------------------------------------

    @property
    def snapshot(self) -> Snapshot:
        with self._lock:
            return self._snapshot

    @property
    def refresh_before(self) -> timedelta:
        return self._refresh_override or self._settings.refresh_before

    @property
    def warn_before(self) -> timedelta:
        return self._warn_override or self._settings.warn_before

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call `callback(snapshot)` on the worker thread after every change; returns an
        unsubscribe function. Keep callbacks short (the tray marshals to its own loop)."""
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock, contextlib.suppress(ValueError):
                self._subscribers.remove(callback)

        return unsubscribe

    def start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
            self._thread.start()

    def stop(self, timeout: float = STOP_TIMEOUT) -> bool:
        """Stop the worker (and cancel waiting logins); True when it ended within `timeout`."""
        self._stop.set()
        self._wake.set()
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is None or thread is threading.current_thread():
            return True
        thread.join(timeout)
        return not thread.is_alive()

    def wake(self) -> None:
        """Re-plan now (e.g. the tray opened its menu, or a setting changed)."""
        self._wake.set()

    def refresh_now(self, profile: str | None = None) -> None:
        """Refresh `profile` (or every kept-fresh profile) at the next tick, due or not."""
        with self._lock:
            self._forced.add(profile or "*")
        self.wake()

    def login(self, session_key: str, *, reason: str | None = None) -> bool:
        """Start a browser login for the session on a background thread (never the caller's).

        When one is already waiting in this process, open its page again ("Open the sign-in
        page again") and return True; False when that page is not known yet or the session is
        unknown.
        """
        session = self._find_session(session_key)
        if session is None:
            log.warning("login: no SSO session %r in the AWS config", session_key)
            return False
        with self._lock:
            running = self._logins.get(session.cache_key)
            if running is not None and running.is_alive():
                prompt = self._login_prompts.get(session.cache_key)
                if prompt is None:
                    return False
                log.info("opening the sign-in page of %s again", session.display_name)
                self._open_page(session.cache_key, prompt)
                return True
            thread = threading.Thread(
                target=self._run_login,
                args=(session, reason),
                name=f"login-{session.display_name}",
                daemon=True,
            )
            self._logins[session.cache_key] = thread
        thread.start()
        self.wake()
        return True

    def offline_snapshot(self) -> Snapshot:
        """What the files say, with no portal call: `status` when no engine is running."""
        self._offline = True
        self._watch()
        return self._build(self._clock.now())

    def handle_action(self, notice_key: str) -> None:
        """A notice's button was pressed (`Notifier.on_action`): "Log in" starts the login."""
        session_key = alerts.session_of(notice_key)
        if session_key is not None:
            self.login(session_key, reason="you pressed Log in")

    # --- the worker ------------------------------------------------------------------------

    def _run(self) -> None:
        log.info("refresh engine started")
        while not self._stop.is_set():
            self._iteration()
            timeout = self._timeout()
            self._wake.wait(timeout)
            self._wake.clear()
        log.info("refresh engine stopped")

    def _iteration(self) -> None:
        """One tick inside the error boundary: nothing raised here ends the worker."""
        try:
            self.tick()
            self._bugs = 0
        except AppError as exc:
            if exc.recovery is Recovery.LOGIN:
                log.info("engine: %s", exc)
            elif exc.recovery is Recovery.FIX:
                self._config_problem = exc.message
                log.warning("engine: %s", exc)
            else:  # retry: the next tick tries again
                log.warning("engine: %s", exc)
        except Exception:
            self._bugs += 1
            log.exception("engine: unexpected error (the engine keeps running)")
            if not self._bug_reported:
                self._bug_reported = True
                self._send(
                    Notice(
                        key="engine-error",
                        title="aws-sso-tray internal error",
                        message="Something unexpected went wrong; refreshing continues. "
                        f"Details are in the log folder {paths.log_dir()}.",
                    )
                )

    def _timeout(self) -> float:
        if self._bugs:  # a tick that keeps failing must not spin
            return timing.backoff_delay(self._bugs, base=timedelta(seconds=1)).total_seconds()
        idle = self._scheduler.idle_seconds
        if idle is None:
            return timing.MAX_WAIT
        return min(timing.MAX_WAIT, max(timing.MIN_WAIT, idle))

    def tick(self) -> None:
        """One pass: notice jumps and file changes, refresh what is due, publish, plan.

        The worker calls this; tests call it directly with an injected clock.
        """
        now = self._clock.now()
        mono = self._clock.monotonic()
        self._notice_jump(now, mono)
        if not self._loaded or self._watch_interval <= 0:
            self._watch()
        self._scheduler.run_pending()  # the "watch" job; "plan" is only a timer
        self._take_requests(now)

        slack = timing.group_slack(self.refresh_before)
        due = [w for w in self._work.values() if self._due(w, now, slack)]
        if due:
            self._refresh(due)
            now = self._clock.now()
        self._auto_login(now)
        self._publish(now)
        self._plan(now)

    def _notice_jump(self, now: datetime, mono: float) -> None:
        wall = now.timestamp()
        if self._last_wall is not None and self._last_mono is not None:
            jump = timing.clock_jump(self._last_wall, self._last_mono, wall, mono)
            if timing.jumped(jump):
                if jump > 0:
                    log.info(
                        "wall clock moved %.0f s ahead of the monotonic clock "
                        "(resume from sleep?): re-planning",
                        jump,
                    )
                    self._resumed_at = now
                else:
                    log.info("wall clock was set back %.0f s: re-planning", -jump)
                    for work in self._work.values():  # a backoff must not last the jump
                        if work.retry_at and work.retry_at > now + timing.BACKOFF_CAP:
                            work.retry_at = now
                # Someone may have logged in, or edited files, while we slept.
                self._watch()
        self._last_wall, self._last_mono = wall, mono

    def _take_requests(self, now: datetime) -> None:
        with self._lock:
            forced, self._forced = self._forced, set()
            results, self._login_results = self._login_results, {}
        for key, error in results.items():
            info = self._sessions.get(key)
            if error is None:
                self._reload_sessions(now, force_rearm={key})
            elif info is not None:
                info.last_error = error
        for work in self._work.values():
            if "*" in forced or work.profile.name in forced:
                work.forced = True
                work.blocked = False
                work.stopped = False

    def _due(self, work: _Work, now: datetime, slack: timedelta) -> bool:
        if work.forced:
            return True
        if work.blocked or work.stopped:
            return False
        if work.retry_at is not None:
            return now >= work.retry_at
        return timing.refresh_due(
            work.expires_at, now, self.refresh_before, fetched_at=work.fetched_at, slack=slack
        )

    # --- refreshing --------------------------------------------------------------------------

    def _refresh(self, due: list[_Work]) -> None:
        from aws_sso_tray.aws import rolecreds, tokens
        from aws_sso_tray.files import credfile

        self._set_busy(True)
        for work in due:
            work.status = ProfileStatus.REFRESHING
        # Shown, not judged: notices wait for the tick's outcome (a first run that opens the
        # sign-in by itself must not first say "Sign in" and then "Signing in").
        self._publish(self._clock.now(), notify=False)
        lead = self.refresh_before

        def fetch(work: _Work) -> tuple[RoleCredentials, datetime]:
            now = self._clock.now()
            pending = work.pending
            if pending is not None and pending.expiration and pending.expiration - now > lead:
                return pending, work.pending_at or now  # fetched earlier; only the write failed
            return rolecreds.get_credentials(work.profile, force_refresh=True, now=now), now

        try:
            now = self._clock.now()
            # One token check per session, not one per profile: a refused session is asked
            # once, and its profiles never reach the portal.
            session_errors: dict[str, BaseException] = {}
            for key in dict.fromkeys(w.profile.session.cache_key for w in due):
                work = next(w for w in due if w.profile.session.cache_key == key)
                try:
                    tokens.valid_token(work.profile.session, now=now, login_hint=work.profile.name)
                except Exception as exc:
                    session_errors[key] = exc
            ready = [w for w in due if w.profile.session.cache_key not in session_errors]
            results = dict(
                zip(map(id, ready), _run_bounded(fetch, ready, self._max_workers), strict=True)
            )
            now = self._clock.now()
            fetched: dict[str, tuple[_Work, RoleCredentials]] = {}
            for work in due:
                work.forced = False
                result, error = results.get(id(work), (None, None))
                error = session_errors.get(work.profile.session.cache_key, error)
                if error is None and result is not None:
                    creds, work.pending_at = result
                    fetched[work.section] = (work, creds)
                else:
                    self._failed(work, error, now)
            if fetched:
                self._write(credfile, fetched, now)
            # A refresh may have renewed a session's token: show it.
            self._reload_sessions(now)
        finally:
            self._set_busy(False)

    def _write(
        self, credfile: Any, fetched: dict[str, tuple[_Work, RoleCredentials]], now: datetime
    ) -> None:
        path = paths.aws_credentials_file()
        try:
            credfile.write_many(path, {s: c for s, (_w, c) in fetched.items()})
            written = list(fetched.values())
            self._note_own_write(path)
        except AppError as exc:
            # One bad section (long-term keys, say) must not hold up the others: try singly.
            log.info(
                "writing %d sections at once failed (%s); trying one by one", len(fetched), exc
            )
            written = []
            for section, (work, creds) in fetched.items():
                try:
                    credfile.write_credentials(path, section, creds)
                    written.append((work, creds))
                    self._note_own_write(path)
                except AppError as single:
                    work.pending = creds
                    self._failed(work, single, now)
        for work, creds in written:
            work.expires_at = creds.expiration
            work.fetched_at = work.pending_at or now
            work.failures = 0
            work.retry_at = None
            work.pending = None
            work.pending_at = None
            work.status = ProfileStatus.FRESH
            work.last_refresh_at = now
            work.last_error = None
        if written:
            names = ", ".join(f"{w.profile.name} -> [{w.section}]" for w, _c in written)
            log.info("refreshed %s", names)

    def _failed(self, work: _Work, error: BaseException | None, now: datetime) -> None:
        """Sort one refresh failure by its recovery: login, retry, fix-it, or a bug."""
        recovery = error.recovery if isinstance(error, AppError) else None
        if isinstance(error, AppError) and recovery is Recovery.LOGIN:
            work.blocked = True
            work.retry_at = None
            work.status = ProfileStatus.LOGIN_NEEDED
            work.last_error = error.message
            info = self._sessions.get(work.profile.session.cache_key)
            if info is not None:
                info.refused = True
                info.last_error = error.message
            log.info("profile %s: %s", work.profile.name, error.message)
            return
        if isinstance(error, AppError) and recovery is Recovery.FIX:
            # Asking again cannot help: wait until the user changes a file (see _watch).
            work.stopped = True
            work.retry_at = None
            work.failures = 0
            work.status = ProfileStatus.ERROR
            work.last_error = error.message
            log.warning(
                "profile %s: %s (not retried until the settings, the AWS config or the "
                "credentials file change)",
                work.profile.name,
                error.message,
            )
            return
        if isinstance(error, AppError):
            message = error.message
            log.warning("profile %s: refresh failed: %s", work.profile.name, message)
        else:
            message = f"internal error ({type(error).__name__}); see the log file"
            log.error("profile %s: refresh failed unexpectedly", work.profile.name, exc_info=error)
        work.failures += 1
        work.retry_at = now + timing.backoff_delay(work.failures)
        work.last_error = message
        still_valid = work.expires_at is not None and work.expires_at > now
        failing = work.failures >= timing.REPORT_AFTER or not still_valid
        work.status = ProfileStatus.ERROR if failing else ProfileStatus.FRESH

    def _note_own_write(self, path: Path) -> None:
        """Remember the credentials file as we left it: our own write is no user's fix."""
        from aws_sso_tray.engine import watch

        self._own_write = watch.signature(path)

    # --- watching files ----------------------------------------------------------------------

    def _watched_paths(self) -> dict[str, list[Path]]:
        from aws_sso_tray.aws import tokens
        from aws_sso_tray.files import settings
        from aws_sso_tray.login import history

        token_paths = [paths.sso_cache_dir(), history.state_file()]
        token_paths += [tokens.token_cache_file(i.session) for i in self._sessions.values()]
        return {
            "settings": [settings.settings_file()],
            "config": [paths.aws_config_file()],
            "credentials": [paths.aws_credentials_file()],
            "tokens": token_paths,
        }

    def _watch(self) -> None:
        changed = self._watcher.changed()
        if not self._loaded:
            changed |= {"settings", "config", "credentials", "tokens"}
            self._loaded = True
        if not changed:
            return
        log.debug("changed: %s", ", ".join(sorted(changed)))
        now = self._clock.now()
        if "settings" in changed:
            self._load_settings()
        if changed & {"settings", "config"}:
            self._load_profiles()
        if "credentials" in changed and not changed & {"settings", "config"}:
            from aws_sso_tray.engine import watch

            if watch.signature(paths.aws_credentials_file()) == self._own_write:
                changed.discard("credentials")  # only our own write: nothing to re-check
        if changed & {"settings", "config", "credentials"}:
            for work in self._work.values():
                self._load_section(work)
                if work.stopped:  # the user changed something: check the fix once
                    log.info("profile %s: files changed; trying again", work.profile.name)
                    work.stopped = False
        if changed & {"settings", "config", "tokens"}:
            self._reload_sessions(now)
        self.wake()

    def _load_settings(self) -> None:
        from aws_sso_tray.files import settings

        self._settings, self._settings_problems = settings.load_settings()
        for problem in self._settings_problems:
            log.warning("%s", problem)

    def _load_profiles(self) -> None:
        from aws_sso_tray.aws import profiles

        try:
            config = profiles.read_config()
        except ConfigError as exc:
            # Keep refreshing what we know: a half-saved config must not stop the engine.
            self._config_problem = exc.message
            log.warning("%s", exc.message)
            return
        self._config_problem = None
        self._profiles = list(config.profiles)
        by_name = {p.name: p for p in config.profiles}
        work: dict[str, _Work] = {}
        self._missing = []
        for target in self._settings.auto_sync:
            profile = by_name.get(target.profile)
            if profile is None:
                self._missing.append(_why_unusable(config, target.profile))
                continue
            old = self._work.get(target.profile)
            if old is not None and old.profile == profile and old.section == target.section:
                work[target.profile] = old
            else:
                work[target.profile] = _Work(profile, target.section)
        self._work = work
        sessions: dict[str, _SessionInfo] = {}
        for session in config.sessions:
            old_info = self._sessions.get(session.cache_key)
            sessions[session.cache_key] = (
                old_info
                if old_info is not None and old_info.session == session
                else _SessionInfo(session)
            )
        self._sessions = sessions

    def _load_section(self, work: _Work) -> None:
        """What the credentials file holds for `work` (no portal call at start-up)."""
        from aws_sso_tray.files import credfile

        try:
            values = credfile.read_section(paths.aws_credentials_file(), work.section)
        except AppError as exc:
            work.last_error = exc.message
            return
        expires = None
        if values and values.get(credfile.ACCESS_KEY_ID) and values.get(credfile.SESSION_TOKEN):
            with contextlib.suppress(ValueError):
                expires = clock.parse_time(values.get(credfile.EXPIRATION, ""))
        if expires != work.expires_at:
            work.expires_at = expires
            work.fetched_at = None

    def _reload_sessions(self, now: datetime, force_rearm: Iterable[str] = ()) -> None:
        from aws_sso_tray.aws import tokens
        from aws_sso_tray.login import flows

        rearm = set(force_rearm)
        for key, info in self._sessions.items():
            token = tokens.read_token(info.session)
            before = (info.has_token, info.token_expires_at)
            duration = self._settings.session_duration_for(info.session.name)
            was_live = self._live(info, now)
            info.signed_in_at = flows.login_time(info.session)
            # A token (a sign-in by any tool) outranks an older sign-out.
            was_signed_out = info.signed_out_at
            if token is not None:
                info.signed_out_at = None
            elif was_signed_out is not None:
                info.signed_out_at = was_signed_out
            else:
                info.signed_out_at = flows.signed_out_at(
                    info.session, now=now, session_duration=duration
                )
                if info.signed_out_at is None and was_live and flows.token_file_gone(info.session):
                    # Seen signed in here (by any tool), and the file went before the session
                    # ended: another tool signed out (`aws sso logout`), not an expiry.
                    info.signed_out_at = now
            if info.signed_out_at is not None and was_signed_out is None:
                log.info("SSO session %s was signed out", info.session.display_name)
                self._sign_out(info)
                self._record_sign_out(info, now)
            info.has_token = token is not None
            info.token_expires_at = token.expires_at if token else None
            info.can_refresh = bool(token and token.can_refresh(now))
            info.session_ends_at = None
            if token is not None:
                if token.refresh_token and flows.login_time(info.session) is None:
                    # Logged in by another tool: the end is unknown (not the hourly expiry).
                    info.session_ends_at = None
                else:
                    info.session_ends_at = flows.session_end(
                        info.session, session_duration=duration
                    )
            usable = token is not None and (not token.expired(now) or info.can_refresh)
            changed = (info.has_token, info.token_expires_at) != before
            # A new token (our login, a terminal `aws sso login`, a refresh) re-arms the session.
            if usable and (changed or key in rearm):
                self._rearm(info)

    @staticmethod
    def _live(info: _SessionInfo, now: datetime) -> bool:
        """The session was signed in at the last look: a token usable now, not refused."""
        if not info.has_token or info.refused or info.token_expires_at is None:
            return False
        if info.token_expires_at > now:
            return True
        ended = info.session_ends_at is not None and info.session_ends_at <= now
        return info.can_refresh and not ended

    def _record_sign_out(self, info: _SessionInfo, now: datetime) -> None:
        """Make another tool's sign-out (a deleted token file) one of ours: the next start,
        `status` and `list` then see it too, after the session's estimated end as well."""
        from aws_sso_tray.login import history

        if self._offline:  # `status` without an engine only reads
            return
        key, start_url = info.session.cache_key, info.session.start_url
        try:
            if history.signed_out_at(key, start_url) is None:
                log.info(
                    "the token file of SSO session %s was deleted (`aws sso logout`?): "
                    "treating it as a sign-out",
                    info.session.display_name,
                )
                history.record_logout(key, start_url, now)
        except AppError as exc:
            log.warning("cannot record the sign-out of %s: %s", info.session.display_name, exc)

    def _sign_out(self, info: _SessionInfo) -> None:
        """The user signed out: its profiles wait for a sign-in, asking the portal nothing."""
        info.refused = False
        info.last_error = None
        for work in self._work.values():
            if work.profile.session.cache_key == info.session.cache_key:
                work.blocked = True
                work.forced = False
                work.retry_at = None
                work.status = ProfileStatus.LOGIN_NEEDED
                work.last_error = f"signed out of SSO session {info.session.display_name}"

    def _rearm(self, info: _SessionInfo) -> None:
        info.refused = False
        info.last_error = None
        info.auto_tried = None
        for work in self._work.values():
            if work.profile.session.cache_key == info.session.cache_key and work.blocked:
                work.blocked = False
                work.failures = 0
                work.retry_at = None
                work.status = ProfileStatus.FRESH
                work.last_error = None

    # --- logins ------------------------------------------------------------------------------

    def _find_session(self, key: str) -> SsoSession | None:
        info = self._sessions.get(key)
        if info is not None:
            return info.session
        from aws_sso_tray.aws import profiles

        try:
            config = profiles.read_config()
        except ConfigError:
            return None
        return next((s for s in config.sessions if s.cache_key == key), None)

    def _login_waiting(self, key: str) -> bool:
        with self._lock:
            thread = self._logins.get(key)
            return thread is not None and thread.is_alive()

    def _run_login(self, session: SsoSession, reason: str | None) -> None:
        from aws_sso_tray.login import flows

        error: str | None = None
        try:
            if reason:
                log.info("signing in to SSO session %s: %s", session.display_name, reason)
            flows.login(
                session,
                flow=self._settings.login_flow,
                open_browser=False,
                on_prompt=lambda prompt: self._on_prompt(session.cache_key, prompt),
                cancel=self._stop,
                env=self._env,
            )
        except AlreadyRunningError as exc:
            error = exc.message
            log.info("%s", exc.message)
        except AppError as exc:
            error = exc.message
            log.warning("sign-in to %s failed: %s", session.display_name, exc.message)
        except Exception:
            error = "internal error during sign-in; see the log file"
            log.exception("sign-in to %s failed unexpectedly", session.display_name)
        finally:
            with self._lock:
                self._logins.pop(session.cache_key, None)
                self._login_prompts.pop(session.cache_key, None)
                self._browser_errors.pop(session.cache_key, None)
                self._auto_notices.pop(session.cache_key, None)
                self._login_results[session.cache_key] = error
            self.wake()

    def _on_prompt(self, key: str, prompt: LoginPrompt) -> None:
        """Open the sign-in page (through the pluggable opener) without blocking the login."""
        if prompt.joined:
            return
        with self._lock:
            self._login_prompts[key] = prompt
            auto = self._auto_notices.pop(key, None)
        code = f" and confirm the code {prompt.user_code}" if prompt.user_code else ""
        if auto is not None:
            # One notice for an automatic sign-in: why, and what to do on the page.
            title, why = auto
            self._send(
                Notice(
                    key=f"{alerts.AUTO_LOGIN}:{key}",
                    title=title,
                    message=f"{why}: sign in on the page that opened{code}.",
                )
            )
        elif prompt.user_code:
            self._send(
                Notice(
                    key=f"{alerts.LOGIN_CODE}:{key}",
                    title=f"Sign in to {prompt.session}",
                    message=f"Confirm the code {prompt.user_code} on the page that opened.",
                )
            )
        self._open_page(key, prompt)

    def _open_page(self, key: str, prompt: LoginPrompt) -> None:
        """Open `prompt.url` on a thread of its own; where no browser shows it, say where to
        sign in: in the log (and so the terminal), in a notice, and in the snapshot."""
        opener = self._opener
        if opener is None:
            from aws_sso_tray.login.flows import launch_browser

            opener = launch_browser

        def run() -> None:
            try:
                result = opener(prompt.url)
            except Exception as exc:
                result = f"the browser could not be started ({exc})"
            if result is False:
                result = "the browser could not be opened"
            if not isinstance(result, str):  # None or True: a browser has the page
                with self._lock:
                    self._browser_errors.pop(key, None)
                return
            self._browser_failed(key, prompt, result)

        threading.Thread(target=run, name="login-browser", daemon=True).start()

    def _browser_failed(self, key: str, prompt: LoginPrompt, problem: str) -> None:
        from aws_sso_tray.login.flows import log_browser_failure

        with self._lock:
            if self._login_prompts.get(key) is not prompt:
                return  # that login has ended meanwhile
            self._browser_errors[key] = problem
        log_browser_failure(prompt, problem)
        code = f" and confirm the code {prompt.user_code}" if prompt.user_code else ""
        self._send(
            Notice(
                key=f"{alerts.LOGIN_PAGE}:{key}",
                title=f"Open this page to sign in to {prompt.session}",
                message=f"No browser could show the sign-in page ({problem}). "
                f"Open {prompt.url}{code}",
            )
        )
        self.wake()

    def _auto_login(self, now: datetime) -> None:
        """Open the login once for a session whose end stops a kept-fresh profile."""
        env = os.environ if self._env is None else self._env
        # $BROWSER is the user's word: a VS Code / Codespaces helper reaches a person's screen.
        graphical = timing.graphical_session(env, self._platform) or bool(
            env.get("BROWSER", "").strip()
        )
        needy: dict[str, list[str]] = {}
        for work in self._work.values():
            if work.blocked:
                needy.setdefault(work.profile.session.cache_key, []).append(work.profile.name)
        for key, names in needy.items():
            info = self._sessions.get(key)
            if info is None or info.signed_out_at is not None:
                continue  # a sign-out is the user's word: only they start the next sign-in
            expiry = clock.format_time(info.token_expires_at) if info.token_expires_at else "-"
            allowed, why = timing.auto_login_allowed(
                enabled=self._settings.auto_login,
                graphical=graphical,
                already_tried=info.auto_tried == expiry,
                login_waiting=self._login_waiting(key),
                now=now,
                resumed_at=self._resumed_at,
            )
            if not allowed:
                if info.auto_tried != expiry and why:
                    log.debug("no automatic sign-in to %s: %s", info.session.display_name, why)
                continue
            info.auto_tried = expiry
            name = info.session.display_name
            kept = _listed(names)
            verb = "is" if len(names) == 1 else "are"
            # No cached token at all is a first sign-in, not an ended session: say which.
            state = "has ended" if info.token_expires_at else "is not signed in yet"
            with self._lock:
                self._auto_notices[key] = (
                    f"Signing in to {name}",
                    f"Your SSO session '{name}' {state} and {kept} {verb} kept fresh",
                )
            if not self.login(key, reason=f"session {name} {state}; {kept} kept fresh"):
                with self._lock:
                    self._auto_notices.pop(key, None)

    # --- publishing ----------------------------------------------------------------------------

    def _set_busy(self, busy: bool) -> None:
        with self._lock:
            self._busy = busy

    def _build(self, now: datetime) -> Snapshot:
        with self._lock:
            logging_in = {k for k, t in self._logins.items() if t.is_alive()}
            busy = self._busy or bool(logging_in)
            pages = {
                k: (p.url, self._browser_errors.get(k))
                for k, p in self._login_prompts.items()
                if k in logging_in
            }
        lead = self.refresh_before
        sessions = tuple(
            self._session_state(i, now, logging_in, pages) for i in self._sessions.values()
        )
        states = []
        for profile in self._profiles:
            work = self._work.get(profile.name)
            idle = ProfileState(
                name=profile.name,
                session_key=profile.session.cache_key,
                account_id=profile.account_id,
                role_name=profile.role_name,
                status=ProfileStatus.IDLE,
            )
            if work is None:
                states.append(idle)
                continue
            if work.blocked or work.stopped:
                next_at = None
            elif work.retry_at is not None:
                next_at = work.retry_at
            else:
                next_at = timing.refresh_at(work.expires_at, lead, work.fetched_at) or now
            states.append(
                dataclasses.replace(
                    idle,
                    status=work.status,
                    synced_section=work.section,
                    credentials_expire_at=work.expires_at,
                    next_refresh_at=next_at,
                    last_refresh_at=work.last_refresh_at,
                    last_error=work.last_error,
                )
            )
        problems = [p for p in (self._config_problem,) if p]
        problems += self._missing
        problems += self._settings_problems
        return Snapshot(
            taken_at=now,
            sessions=sessions,
            profiles=tuple(states),
            busy=busy,
            config_error="; ".join(dict.fromkeys(problems)) or None,  # a session's problem once
            pid=os.getpid(),
        )

    def _session_state(
        self,
        info: _SessionInfo,
        now: datetime,
        logging_in: set[str],
        pages: Mapping[str, tuple[str, str | None]] | None = None,
    ) -> SessionState:
        key = info.session.cache_key
        expired = info.token_expires_at is not None and info.token_expires_at <= now
        ended = info.session_ends_at is not None and info.session_ends_at <= now
        login_url, browser_error = (pages or {}).get(key, (None, None))
        if key in logging_in:
            status = SessionStatus.LOGGING_IN
        elif not info.has_token:
            # Nothing has ended: the user signed out, or never signed in here.
            signed_out = info.signed_out_at is not None
            status = SessionStatus.SIGNED_OUT if signed_out else SessionStatus.NOT_SIGNED_IN
        elif info.refused or (expired and (not info.can_refresh or ended)):
            status = SessionStatus.LOGIN_NEEDED
        elif timing.session_warning_due(info.session_ends_at, now, self.warn_before):
            status = SessionStatus.EXPIRING
        elif info.last_error:
            status = SessionStatus.ERROR
        else:
            status = SessionStatus.LOGGED_IN
        return SessionState(
            key=key,
            name=info.session.display_name,
            start_url=info.session.start_url,
            status=status,
            token_expires_at=info.token_expires_at,
            session_ends_at=info.session_ends_at,
            last_error=info.last_error,
            signed_in_at=info.signed_in_at,
            login_url=login_url,
            browser_error=browser_error,
        )

    def _publish(self, now: datetime, *, notify: bool = True) -> None:
        snap = self._build(now)
        with self._lock:
            previous = self._snapshot
            # The first build is always published: `status` must find a running engine's
            # snapshot even when it equals the empty initial one (no SSO profiles yet).
            changed = (
                not self._published
                or dataclasses.replace(snap, taken_at=previous.taken_at) != previous
            )
            self._published = True
            if changed:
                self._snapshot = snap
            subscribers = list(self._subscribers)
        if changed:
            if self._publish_file:
                from aws_sso_tray.engine import statusfile

                statusfile.write_snapshot(snap)
            for callback in subscribers:
                try:
                    callback(snap)
                except Exception:
                    log.exception("a snapshot subscriber failed")
        if not notify:
            return
        decision = alerts.decide(
            self._alert_prev, snap, self._sent, now=now, warn_before=self.warn_before
        )
        self._alert_prev, self._sent = snap, decision.sent
        if self._notifier is not None and self._settings.notifications:
            for key in decision.clear:
                self._notifier.clear(key)
        for notice in decision.notices:
            self._send(notice)

    def _send(self, notice: Notice) -> None:
        if self._notifier is None:
            log.info("notice: %s: %s", notice.title, notice.message)
            return
        if not self._settings.notifications:
            log.info("notice (notifications off): %s: %s", notice.title, notice.message)
            return
        try:
            self._notifier.send(notice)
        except Exception:
            log.exception("sending a notice failed")

    def _plan(self, now: datetime) -> None:
        """Arm the one-shot timer for the next thing that is due."""
        lead = self.refresh_before
        slack = timing.group_slack(lead)
        moments: list[datetime | None] = []
        for work in self._work.values():
            if work.blocked or work.stopped:
                continue
            if work.retry_at is not None:
                moments.append(work.retry_at)
            else:
                at = timing.batch_at(work.expires_at, lead, work.fetched_at, slack)
                moments.append(now if at is None else at)
        for info in self._sessions.values():
            moments.append(timing.session_warning_at(info.session_ends_at, self.warn_before))
            moments.append(info.session_ends_at)
            moments.append(info.token_expires_at)
        if self._resumed_at is not None and any(w.blocked for w in self._work.values()):
            moments.append(self._resumed_at + timing.RESUME_GRACE)
        wait = timing.next_wait(now, (m for m in moments if m is None or m > now))
        self._scheduler.clear("plan")
        # schedule counts whole seconds; waking up to a second late is harmless.
        self._scheduler.every(max(1, math.ceil(wait))).seconds.do(_noop).tag("plan")


def _listed(names: list[str]) -> str:
    """`a`, `a and b`, `a, b and c`: names in a sentence."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _why_unusable(config: Any, name: str) -> str:
    """One line on why auto-sync profile `name` is not among the config's usable profiles."""
    try:
        config.find_profile(name)  # a broken SSO profile (or its session) says what to fix
    except ConfigError as exc:
        return exc.message
    return f"auto-sync profile '{name}' is not an SSO profile in {paths.aws_config_file()}"


def _noop() -> None:
    """The "plan" job only sets how long the worker sleeps; the tick does the work."""


def _run_bounded(
    fn: Callable[[T], R], items: Sequence[T], workers: int
) -> list[tuple[R | None, BaseException | None]]:
    """`fn` over `items` on at most `workers` daemon threads; (result, error) per item.

    Daemon threads, not a ThreadPoolExecutor: the interpreter waits for executor threads at
    exit, so a request hanging in a dead network would hold up SIGTERM.
    """
    results: list[tuple[R | None, BaseException | None]] = [(None, None)] * len(items)
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for index in range(len(items)):
        todo.put(index)

    def work() -> None:
        while True:
            try:
                index = todo.get_nowait()
            except queue.Empty:
                return
            try:
                results[index] = (fn(items[index]), None)
            except Exception as exc:
                results[index] = (None, exc)

    threads = [
        threading.Thread(target=work, name=f"refresh-{n}", daemon=True)
        for n in range(min(workers, len(items)))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


__all__ = ["MAX_WORKERS", "Clock", "Engine", "NoticeSink", "SystemClock"]
