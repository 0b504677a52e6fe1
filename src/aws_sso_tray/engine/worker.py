"""The refresh engine: one named worker thread that keeps auto-sync profiles fresh.

Owns "what happens over time": every profile the user keeps fresh (settings `auto_sync`) is
written into its credentials-file section and refreshed when less than the lead time
(`refresh_before`, default 10 min) is left, re-planned from the new expiry. The faces (tray,
daemon) create one `Engine` (tuned by one `options.EngineOptions`), `start()` it, read
`snapshot` or `subscribe()`, and call `refresh_now()`, `login()`, `wake()` and `stop()`;
nothing else.

The engine is split by what each part owns: this module runs the ticks and sorts outcomes
into the records; `work` holds the per-profile and per-session records (changed only through
their own methods); `refresh` runs one fetch-and-write batch; `sessions` reads a session's
token and sign-in state; `logins` runs the browser sign-ins; `view` turns the records into a
`Snapshot`; `outbox` publishes it and sends the notices `alerts` decides; `timing` decides
when; `options` holds the tunables; `watch`, `statusfile` and `lock` are the files.

How time is handled: every decision is a pure function of absolute UTC times (`timing`), taken
from an injectable clock and checked at every tick. The worker sleeps with `Event.wait` until
the next thing is due (a one-shot job in its own `schedule.Scheduler`), never longer than a
minute: monotonic waits do not count time spent suspended. A tick compares wall-clock and
monotonic deltas to notice a resume or a clock change and re-plans at once.

How failures are handled (one error boundary per tick, Maestral's model): each refresh failure
is sorted by its error's `recovery` (`errors.Recovery`, from `aws.clients.ERROR_CODES`) into
login (stop asking the portal; wait for a new token; open the browser login once, see
`logins.Logins.auto_login`), retry (network, throttling, 5xx, an unwritable file: exponential
backoff with jitter, reported after `timing.REPORT_AFTER` failures, the old file kept), fix-it
(long-term keys in the section, no access to the role, a malformed profile: the profile stops
in an error state saying what to do, and is tried again only when the user changes the
settings, the AWS config or the credentials file, never on a timer) or a bug (traceback to the
log, reported once, the worker keeps running).

Other processes: the engine watches (stat only) the settings, the AWS config, the credentials
file and the SSO token cache, so `auto add`, an edited config or a terminal `aws sso login` take
effect at the next tick. Its snapshot goes to subscribers and to the snapshot file `status`
reads (`statusfile.write_snapshot`).
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import schedule

from aws_sso_tray import clock
from aws_sso_tray.aws import accountnames
from aws_sso_tray.desktop.notify import Notice
from aws_sso_tray.engine import alerts, refresh, timing, view
from aws_sso_tray.engine.logins import Logins
from aws_sso_tray.engine.options import EngineOptions
from aws_sso_tray.engine.outbox import NoticeSink, Outbox, Subscriber
from aws_sso_tray.engine.work import (
    ProfileWork,
    SessionInfo,
    carry_over_sessions,
    carry_over_work,
)
from aws_sso_tray.errors import AppError, ConfigError, Recovery
from aws_sso_tray.files import paths
from aws_sso_tray.files.settings import Settings
from aws_sso_tray.snapshot import Snapshot

if TYPE_CHECKING:
    from aws_sso_tray.aws.profiles import ChainedProfile, SsoProfile, SsoSession

log = logging.getLogger(__name__)

THREAD_NAME = "refresh-engine"
STOP_TIMEOUT = 1.5
WAKE_TIMER = "wake"  # the scheduler job that only sets how long the worker sleeps


class Engine:
    """Keeps auto-sync profiles fresh on one worker thread; see the module docstring."""

    def __init__(
        self, *, notifier: NoticeSink | None = None, options: EngineOptions | None = None
    ) -> None:
        self._options = options = options or EngineOptions()
        self._clock = options.clock
        self._max_workers = max(1, options.max_workers)

        self._lock = threading.Lock()  # guards the fields shared with other threads
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._outbox = Outbox(
            Snapshot(taken_at=self._clock.now(), pid=os.getpid()),
            notifier=notifier,
            notifications=lambda: self._settings.notifications,
            publish_file=options.publish_file,
        )
        self._forced: set[str] = set()  # profile names, "*" for all
        self._busy = False
        self._logins = Logins(
            send=self._outbox.send,
            wake=self.wake,
            cancel=self._stop,
            flow=lambda: self._settings.login_flow,
            opener=options.opener,
            env=options.env,
            platform=options.platform,
        )

        # Worker-thread state.
        self._settings = Settings()
        # Set when settings.toml was read again: the next snapshot goes to the subscribers even
        # if it is the same, as they read the settings beside it (the tray: left_click,
        # favorites), and nothing else tells them the file changed.
        self._settings_reloaded = False
        self._settings_problems: list[str] = []
        self._config_problem: str | None = None
        self._profiles: list[SsoProfile | ChainedProfile] = []
        self._work: dict[str, ProfileWork] = {}
        self._sessions: dict[str, SessionInfo] = {}
        self._missing: list[str] = []  # why auto-sync profiles are not usable, one line each
        # The credentials file's signature after our last write (none yet: matches nothing).
        self._own_write: object = object()
        self._loaded = False
        self._last_wall: float | None = None
        self._last_mono: float | None = None
        self._resumed_at: datetime | None = None
        self._offline = False  # offline_snapshot(): read the files, write nothing
        self._bugs = 0
        self._bug_reported = False
        self._scheduler = schedule.Scheduler()
        if options.watch_interval > 0:  # 0: at every tick (tests); schedule cannot repeat at 0
            every = math.ceil(options.watch_interval)
            self._scheduler.every(every).seconds.do(self._watch).tag("watch")

        from aws_sso_tray.engine.watch import FileWatcher

        self._watcher = FileWatcher(self._watched_paths)
        if notifier is not None and getattr(notifier, "on_action", False) is None:
            notifier.on_action = self.handle_action  # type: ignore[attr-defined]

    # --- the API for the faces -------------------------------------------------------------

    @property
    def snapshot(self) -> Snapshot:
        return self._outbox.snapshot

    @property
    def refresh_before(self) -> timedelta:
        return self._options.refresh_before or self._settings.refresh_before

    @property
    def warn_before(self) -> timedelta:
        return self._options.warn_before or self._settings.warn_before

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call `callback(snapshot)` on the worker thread after every change; returns an
        unsubscribe function. Keep callbacks short (the tray marshals to its own loop)."""
        return self._outbox.subscribe(callback)

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
        return self._logins.start(session, reason)

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
                self._outbox.send(
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
        """One pass: notice jumps and file changes, refresh what is due, publish, set the
        wake-up timer.

        The worker calls this; tests call it directly with an injected clock.
        """
        now = self._clock.now()
        mono = self._clock.monotonic()
        self._notice_jump(now, mono)
        if not self._loaded or self._options.watch_interval <= 0:
            self._watch()
        self._scheduler.run_pending()  # the "watch" job; WAKE_TIMER is only a timer
        self._take_requests(now)

        lead = self.refresh_before
        slack = timing.group_slack(lead)
        due = [w for w in self._work.values() if w.due(now, lead, slack)]
        if due:
            self._refresh(due)
            now = self._clock.now()
        self._auto_login(now)
        self._publish(now)
        self._arm_wake_timer(now)

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
                    for work in self._work.values():
                        work.clock_set_back(now)
                # Someone may have logged in, or edited files, while we slept.
                self._watch()
        self._last_wall, self._last_mono = wall, mono

    def _take_requests(self, now: datetime) -> None:
        with self._lock:
            forced, self._forced = self._forced, set()
        for key, error in self._logins.take_results().items():
            info = self._sessions.get(key)
            if error is None:
                self._reload_sessions(now, force_rearm={key})
            elif info is not None:
                info.login_failed(error)
        for work in self._work.values():
            if "*" in forced or work.profile.name in forced:
                work.force()

    # --- refreshing --------------------------------------------------------------------------

    def _refresh(self, due: list[ProfileWork]) -> None:
        self._set_busy(True)
        for work in due:
            work.refreshing()
        # Shown, not judged: notices wait for the tick's outcome (a first run that opens the
        # sign-in by itself must not first say "Sign in" and then "Signing in").
        self._publish(self._clock.now(), notify=False)
        try:
            got = refresh.fetch(due, self._clock, self.refresh_before, self._max_workers)
            now = got.at
            for work in due:
                work.attempted()
            for work, error in got.failed:
                self._failed(work, error, now)
            if got.fetched:
                self._written(refresh.write(got.fetched), now)
            # A refresh may have renewed a session's token: show it.
            self._reload_sessions(now)
        finally:
            self._set_busy(False)

    def _written(self, outcome: refresh.Write, now: datetime) -> None:
        if outcome.own_write is not None:
            self._own_write = outcome.own_write
        for work, creds, fetched_at, error in outcome.failed:
            work.unwritten(creds, fetched_at)
            self._failed(work, error, now)
        for work, creds, fetched_at in outcome.written:
            work.succeeded(creds.expiration, fetched_at, now)
        if outcome.written:
            names = ", ".join(
                f"{w.profile.name} -> [{w.section}]" for w, _c, _at in outcome.written
            )
            log.info("refreshed %s", names)

    def _failed(self, work: ProfileWork, error: BaseException | None, now: datetime) -> None:
        """Sort one refresh failure by its recovery: login, retry, fix-it, or a bug."""
        recovery = error.recovery if isinstance(error, AppError) else None
        if isinstance(error, AppError) and recovery is Recovery.LOGIN:
            work.needs_login(error.message)
            info = self._sessions.get(work.session_key)
            if info is not None:
                info.refused_by(error.message)
            log.info("profile %s: %s", work.profile.name, error.message)
            return
        if isinstance(error, AppError) and recovery is Recovery.FIX:
            # Asking again cannot help: wait until the user changes a file (see _watch).
            work.needs_fix(error.message)
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
        work.retry_later(message, now)

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
            self._load_sections(self._work.values())
            for work in self._work.values():
                if work.files_changed():  # the user changed something: check the fix once
                    log.info("profile %s: files changed; trying again", work.profile.name)
        if changed & {"settings", "config", "tokens"}:
            self._reload_sessions(now)
        self.wake()

    def _load_settings(self) -> None:
        from aws_sso_tray.files import settings

        self._settings, self._settings_problems = settings.load_settings()
        self._settings_reloaded = True
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
        # Roles chained on SSO profiles are kept fresh like them, under their root's session.
        self._profiles = [*config.profiles, *config.chained]
        self._work, missing = carry_over_work(self._settings.auto_sync, self._profiles, self._work)
        self._missing = [_why_unusable(config, name) for name in missing]
        self._sessions = carry_over_sessions(config.sessions, self._sessions)

    def _load_sections(self, works: Iterable[ProfileWork]) -> None:
        """What the credentials file holds for each of `works` (no portal call at start-up),
        from one parse of the file however many profiles are kept fresh."""
        from aws_sso_tray.files import credfile

        works = list(works)
        try:
            found = credfile.read_sections(
                paths.aws_credentials_file(), [work.section for work in works]
            )
        except AppError as exc:
            for work in works:
                work.section_unreadable(exc.message)
            return
        for work in works:
            work.section_loaded(_expiry_of(found[work.section]))

    # --- sessions ----------------------------------------------------------------------------

    def _reload_sessions(self, now: datetime, force_rearm: Iterable[str] = ()) -> None:
        from aws_sso_tray.engine import sessions

        rearm = set(force_rearm)
        for key, info in self._sessions.items():
            duration = self._settings.session_duration_for(info.session.name)
            # `status` without an engine only reads: it records no sign-out.
            seen = sessions.observe(info, now, duration, record_sign_out=not self._offline)
            if seen.signed_out:
                self._sign_out(info)
            # A new token (our login, a terminal `aws sso login`, a refresh) re-arms the session.
            if seen.usable and (seen.changed or key in rearm):
                self._rearm(info)

    def _sign_out(self, info: SessionInfo) -> None:
        """The user signed out: its profiles wait for a sign-in, asking the portal nothing."""
        for work in self._work.values():
            if work.session_key == info.session.cache_key:
                work.signed_out(info.session.display_name)

    def _rearm(self, info: SessionInfo) -> None:
        info.rearm()
        for work in self._work.values():
            if work.session_key == info.session.cache_key:
                work.signed_in()

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

    def _auto_login(self, now: datetime) -> None:
        """Open the login once for a session whose end stops a kept-fresh profile."""
        needy: dict[str, list[str]] = {}
        for work in self._work.values():
            if work.blocked:
                needy.setdefault(work.session_key, []).append(work.profile.name)
        self._logins.auto_login(
            needy,
            self._sessions,
            enabled=self._settings.auto_login,
            now=now,
            resumed_at=self._resumed_at,
        )

    # --- publishing ----------------------------------------------------------------------------

    def _set_busy(self, busy: bool) -> None:
        with self._lock:
            self._busy = busy

    def _build(self, now: datetime) -> Snapshot:
        with self._lock:
            busy = self._busy
        return view.build_snapshot(
            now,
            profiles=self._profiles,
            work=self._work,
            sessions=self._sessions.values(),
            logins=self._logins.view(),
            busy=busy,
            problems=[self._config_problem or "", *self._missing, *self._settings_problems],
            refresh_before=self.refresh_before,
            warn_before=self.warn_before,
            pid=os.getpid(),
            account_names=accountnames.known(),
            label_of=self._label_of,
        )

    def _label_of(self, profile: str) -> str | None:
        found = self._settings.label_for(profile)
        return found.label if found else None

    def _publish(self, now: datetime, *, notify: bool = True) -> None:
        snap = self._build(now)
        force, self._settings_reloaded = self._settings_reloaded, False
        self._outbox.publish(snap, force=force)
        if notify:
            self._outbox.notify(snap, now, self.warn_before)

    def _arm_wake_timer(self, now: datetime) -> None:
        """Arm the one-shot timer for the next thing that is due."""
        lead = self.refresh_before
        slack = timing.group_slack(lead)
        moments: list[datetime | None] = [w.wake_at(now, lead, slack) for w in self._work.values()]
        for info in self._sessions.values():
            moments.append(timing.session_warning_at(info.session_ends_at, self.warn_before))
            moments.append(info.session_ends_at)
            moments.append(info.token_expires_at)
        if self._resumed_at is not None and any(w.blocked for w in self._work.values()):
            moments.append(self._resumed_at + timing.RESUME_GRACE)
        wait = timing.next_wait(now, (m for m in moments if m is None or m > now))
        self._scheduler.clear(WAKE_TIMER)
        # schedule counts whole seconds; waking up to a second late is harmless.
        self._scheduler.every(max(1, math.ceil(wait))).seconds.do(_noop).tag(WAKE_TIMER)


def _why_unusable(config: Any, name: str) -> str:
    """One line on why auto-sync profile `name` is not among the config's usable profiles."""
    try:
        config.find_profile(name)  # a broken SSO profile (or its session) says what to fix
        config.find_chained(name)  # so does a refused chained one (mfa_serial)
    except ConfigError as exc:
        return exc.message
    return f"auto-sync profile '{name}' is not an SSO profile in {paths.aws_config_file()}"


def _expiry_of(values: dict[str, str] | None) -> datetime | None:
    """When the temporary credentials in a section's `values` expire (None: none there)."""
    from aws_sso_tray.files import credfile

    if not values or not values.get(credfile.ACCESS_KEY_ID):
        return None
    if not values.get(credfile.SESSION_TOKEN):
        return None
    try:
        return clock.parse_time(values.get(credfile.EXPIRATION, ""))
    except ValueError:
        return None


def _noop() -> None:
    """The wake timer's job only sets how long the worker sleeps; the tick does the work."""


__all__ = ["THREAD_NAME", "Engine", "NoticeSink"]
