"""The one API the faces call."""

from __future__ import annotations

# --- what the tray needs -------
# Each call is a thin door to the layer that owns the work; every import below the stdlib is
# inside the function (the tray's pure menu module imports this one, and credential-process
# must stay cheap), except `clock`, which is stdlib-only and loaded on every path anyway.
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from aws_sso_tray import clock

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime, timedelta
    from pathlib import Path

    # Re-exported (`X as X`) so the faces name these types without importing the layer below.
    from aws_sso_tray.desktop.notify import Notice as Notice
    from aws_sso_tray.desktop.notify import Notifier as Notifier
    from aws_sso_tray.engine.instance import InstanceLock as InstanceLock
    from aws_sso_tray.files.settings import Settings as Settings
    from aws_sso_tray.setup.configure_page import ConfigurePage as ConfigurePage
    from aws_sso_tray.snapshot import Snapshot


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


def start_notifier(*, enabled: bool) -> Notifier:
    """Desktop notifications on their own thread (only logged when `enabled` is False)."""
    from aws_sso_tray.desktop.notify import Notifier

    notifier = Notifier(enabled=enabled)
    notifier.start()
    return notifier


def new_engine(notifier: Notifier | None) -> EngineControl:
    """The engine that keeps profiles fresh, not started yet."""
    from aws_sso_tray.engine.worker import Engine

    return Engine(notifier=notifier)


def instance_lock(what: str) -> InstanceLock:
    """The per-user engine lock (a context manager; AlreadyRunningError when it is held)."""
    from aws_sso_tray.engine.instance import InstanceLock

    return InstanceLock(what)


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
    from aws_sso_tray.login.flows import open_url

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
