"""The one API the faces call: the CLI, the tray, the daemon and the demo do everything through it.

A face parses input and shows state; every decision lives in the layers below (aws/, files/,
login/, engine/, desktop/, setup/), which only this module reaches (tests/test_architecture.py
keeps it so). Model: maestral's `main.py`. Each function is a thin door to the layer that owns
the work, and every import below the standard library happens inside the function that needs it:
`credential-process` imports this module on its full path, so its top must stay cheap (the
import budget test in tests/test_devloop.py measures it). `clock` is the exception: it is
stdlib-only and loaded on every path anyway.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from aws_sso_tray import clock

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import FrameType

    # Re-exported (`X as X`) so the faces name these types without importing the layer below.
    from aws_sso_tray.desktop.notify import Notice as Notice
    from aws_sso_tray.desktop.notify import Notifier as Notifier
    from aws_sso_tray.engine.worker import Engine as Engine
    from aws_sso_tray.files.settings import Settings as Settings
    from aws_sso_tray.login.prompt import LoginPrompt as LoginPrompt
    from aws_sso_tray.login.prompt import PromptHandler as PromptHandler
    from aws_sso_tray.setup.configure_page import ConfigurePage as ConfigurePage
    from aws_sso_tray.setup.demo_world import DemoEnv as DemoEnv
    from aws_sso_tray.setup.demo_world import DemoRun as DemoRun
    from aws_sso_tray.setup.demo_world import DemoWorld as DemoWorld
    from aws_sso_tray.snapshot import Snapshot

log = logging.getLogger(__name__)

# --- what the tray needs --------------------------------------------------------------------


class EngineControl(Protocol):
    """What a face needs of the engine (`engine.worker.Engine` is one; tests drive fakes)."""

    @property
    def snapshot(self) -> Snapshot: ...

    def start(self) -> None: ...

    def stop(self, timeout: float = ...) -> bool: ...

    def subscribe(self, callback: Callable[[Snapshot], None]) -> Callable[[], None]: ...

    def refresh_now(self, profile: str | None = None) -> None: ...

    def login(self, session_key: str, *, reason: str | None = None) -> bool: ...

    def wake(self) -> None: ...


class NoticeSink(Protocol):
    """Where a face's notices go (`desktop.notify.Notifier` is one)."""

    def send(self, notice: Notice) -> None: ...


@dataclass(frozen=True)
class ExportLines:
    """Copy-ready `export AWS_...=` lines for a profile, and until when they work."""

    text: str
    expires_at: datetime | None


@dataclass(frozen=True)
class SignedOut:
    """What `logout_session` did: the session's name, and why the portal was not told, if not."""

    display_name: str
    revoke_error: str | None


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return clock.now()


def format_remaining(delta: timedelta) -> str:
    """A short human form of a time span: `6 h 12 m`, `14 m`, `40 s`, `expired`."""
    return clock.format_remaining(delta)


def notice(key: str, title: str, message: str) -> Notice:
    """A desktop notice; the same `key` replaces the one on screen."""
    from aws_sso_tray.desktop.notify import Notice

    return Notice(key=key, title=title, message=message)


def load_settings() -> tuple[Settings, list[str]]:
    """The app's settings and the warnings about lines it could not use."""
    from aws_sso_tray.files import settings

    return settings.load_settings()


def settings_mtime() -> int | None:
    """The settings file's modification time (None without a file): has it changed?"""
    from aws_sso_tray.files import settings

    return settings.settings_mtime()


def change_settings(change: Callable[[Settings], Settings]) -> Settings:
    """Apply `change` to the settings file under its lock; returns the new settings."""
    from aws_sso_tray.files import settings

    return settings.update_settings(change)


def keep_fresh(profile: str, section: str | None = None) -> Settings:
    """Keep `profile`'s credentials fresh in the credentials file (in `section`)."""
    return change_settings(lambda s: s.with_auto_sync(profile, section))


def stop_keeping_fresh(profile: str) -> Settings:
    return change_settings(lambda s: s.without_auto_sync(profile))


def toggle_favorite(profile: str) -> Settings:
    """Pin `profile` to the top of the menu, or unpin it."""

    def toggle(current: Settings) -> Settings:
        if profile in current.favorites:
            return current.without_favorite(profile)
        return current.with_favorite(profile)

    return change_settings(toggle)


def note_recent(profile: str) -> Settings:
    """Record `profile` as just used (the menu shows recent ones first)."""
    return change_settings(lambda s: s.with_recent(profile))


def settings_file_to_edit() -> Path:
    """The settings file, written with its defaults and their comments first if it is missing."""
    from aws_sso_tray.files import settings

    path = settings.settings_file()
    if not path.exists():
        settings.update_settings(lambda s: s)
    return path


def aws_config_file() -> Path:
    from aws_sso_tray.files.paths import aws_config_file

    return aws_config_file()


def autostart_enabled() -> bool:
    """Does the app start at login?"""
    from aws_sso_tray.desktop import autostart

    return autostart.is_enabled()


def set_autostart(enabled: bool) -> bool:
    """Switch start-at-login on or off; returns the new state."""
    from aws_sso_tray.desktop import autostart

    return autostart.set_enabled(enabled)


def open_url(url: str) -> bool:
    """Open `url` in the browser; False when none took it."""
    from aws_sso_tray.desktop.browser import open_url

    return open_url(url)


def start_configure_page(*, open_browser: bool = True) -> ConfigurePage:
    """Serve the one-time configure page on 127.0.0.1 (and open it in the browser)."""
    from aws_sso_tray.setup.configure_page import start_configure_page

    return start_configure_page(open_browser=open_browser)


def refresh_role_credentials(profile: str) -> datetime | None:
    """Renew `profile`'s cached role credentials (what the AWS CLI and SDKs reuse); their expiry."""
    from aws_sso_tray.aws import profiles, rolecreds

    creds = rolecreds.get_credentials(profiles.get_profile(profile), force_refresh=True)
    return creds.expiration


def export_lines(profile: str) -> ExportLines:
    """`profile`'s role credentials as `export AWS_...=` lines, ready to paste into a shell."""
    from aws_sso_tray.aws import formats, profiles, rolecreds

    creds = rolecreds.get_credentials(profiles.get_profile(profile))
    return ExportLines(formats.env_lines(creds, export=True), creds.expiration)


def logout_session(session_key: str) -> SignedOut:
    """Sign out of the SSO session whose token cache key is `session_key`.

    Raises AppError when the AWS config has no such session any more.
    """
    from aws_sso_tray.aws import profiles
    from aws_sso_tray.errors import AppError
    from aws_sso_tray.login import flows

    loaded = profiles.load_profiles()
    session = next((p.session for p in loaded if p.session.cache_key == session_key), None)
    if session is None:
        raise AppError(f"no SSO session {session_key!r} in the AWS config any more")
    result = flows.logout(session)
    return SignedOut(session.display_name, result.revoke_error)


# --- the long-running engine -------------------------------------------------------------------
# The tray, the daemon and the demo run the engine through `Service` (the one place that builds
# the Engine and the Notifier and takes the instance lock) and read its published snapshot
# through `running_snapshot`; the demo builds its world through `start_demo`
# (setup/demo_world.py).

SHUTDOWN_TIMEOUT = 1.5  # seconds the engine may take to stop (a request may still be running)


def log_file() -> Path:
    """The rotating log file of the long-running faces (tray, daemon)."""
    from aws_sso_tray.files import paths

    return paths.log_file()


def log_settings_problems() -> None:
    """Log each problem of the settings file (its bad values fall back to the defaults)."""
    from aws_sso_tray.files.settings import load_settings

    for warning in load_settings()[1]:
        log.warning("%s", warning)


class Service:
    """The engine of this user, in this process: `with Service("the tray") as service:` takes the
    instance lock (AlreadyRunningError when a tray or daemon already runs), starts the desktop
    notifier and builds the engine (`service.start()` starts its thread); leaving it stops the
    engine and the notifier, removes the status file and frees the lock."""

    def __init__(
        self,
        what: str = "daemon",
        *,
        refresh_before: timedelta | None = None,
        warn_before: timedelta | None = None,
        notice: Notice | None = None,
    ) -> None:
        from aws_sso_tray.engine.instance import InstanceLock

        self._lock = InstanceLock(what)
        self._refresh_before = refresh_before
        self._warn_before = warn_before
        self._notice = notice
        self._notifier: Notifier | None = None
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        assert self._engine is not None, "use Service in a with statement"
        return self._engine

    @property
    def notifier(self) -> Notifier:
        assert self._notifier is not None, "use Service in a with statement"
        return self._notifier

    def __enter__(self) -> Service:
        self._lock.acquire()
        try:
            self._build()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _build(self) -> None:
        from aws_sso_tray.desktop.notify import Notifier
        from aws_sso_tray.engine.worker import Engine
        from aws_sso_tray.files.settings import load_settings

        settings, _warnings = load_settings()
        # No icon on notices: one image for all would put a green check on "session expired".
        self._notifier = Notifier(enabled=settings.notifications)
        self._notifier.start()
        if self._notice is not None:  # e.g. the tray saying why it runs without an icon
            self._notifier.send(self._notice)
        # The one call of the Engine constructor outside the tests.
        self._engine = Engine(
            notifier=self._notifier,
            refresh_before=self._refresh_before,
            warn_before=self._warn_before,
        )
        self._notifier.on_action = self._engine.handle_action

    def start(self) -> None:
        """Start the engine's thread (the tray's icon does it once it shows)."""
        self.engine.start()

    def __exit__(self, *exc: object) -> None:
        from aws_sso_tray.engine import instance

        try:
            if self._engine is not None and not self._engine.stop(SHUTDOWN_TIMEOUT):
                log.warning("the engine did not stop in time (a request is still running)")
            if self._notifier is not None:
                self._notifier.stop()
            instance.clear_snapshot()
        finally:
            self._lock.release()


def run_headless(
    refresh_before: timedelta | None = None,
    warn_before: timedelta | None = None,
    *,
    notice: Notice | None = None,
) -> int:
    """Run the engine without a tray until SIGTERM / SIGINT; returns the exit code (0).

    Raises AlreadyRunningError when a tray or daemon already runs for this user. The main
    thread only waits for the signal; the engine works on its own thread.
    """
    import signal
    import threading

    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s: stopping", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        with Service(
            "daemon", refresh_before=refresh_before, warn_before=warn_before, notice=notice
        ) as service:
            service.start()
            _log_running(service.notifier)
            # Wake up now and then: on some platforms a signal is only handled between waits.
            while not stop.wait(1.0):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log.info("daemon stopped")
    return 0


def _log_running(notifier: Notifier) -> None:
    import os

    log.info(
        "daemon running (pid %d); logs in %s; notifications: %s",
        os.getpid(),
        log_file(),
        "desktop" if notifier.available else f"log only ({notifier.unavailable_reason})",
    )


def running_snapshot() -> tuple[Snapshot, bool]:
    """The running engine's snapshot (True), or one built from the files alone (False): no
    network call either way."""
    from aws_sso_tray.engine import instance

    if instance.engine_running():
        published = instance.read_snapshot()
        if published is not None:
            return published, True
    return offline_snapshot(), False


def offline_snapshot() -> Snapshot:
    """What the files say, without an engine and without any network call."""
    from aws_sso_tray.engine.worker import Engine

    return Engine(publish_file=False, watch_interval=0).offline_snapshot()


def start_demo(*, port: int = 0, device_code: bool = False, debug: bool = False) -> DemoRun:
    """The demo's world, afresh (`with start_demo() as demo:`, then `demo.world`): see
    setup/demo_world.py."""
    from aws_sso_tray.setup.demo_world import DemoRun

    return DemoRun(port=port, device_code=device_code, debug=debug)


def running_demo_env() -> DemoEnv:
    """What puts this terminal into the running demo's world; ConfigError when none runs."""
    from aws_sso_tray.setup import demo_world

    return demo_world.running_demo_env()


def demo_program() -> str:
    """How to run this program again from another terminal (for the demo's hints)."""
    from aws_sso_tray.setup import demo_world

    return demo_world.program()


def demo_sign_in(on_prompt: PromptHandler, *, open_browser: bool, device_code: bool) -> datetime:
    """Sign in to the demo's SSO session; returns when the token expires."""
    from aws_sso_tray.setup import demo_world

    return demo_world.sign_in(on_prompt, open_browser=open_browser, device_code=device_code)
