"""The pystray face: shows the engine's snapshots as an icon, a tooltip and a menu, and turns
clicks into engine calls.

Threads: pystray's loop owns the main thread (macOS requires it; GTK runs its main loop there).
The engine calls `on_snapshot` from its worker thread; the GTK backends marshal icon, title and
menu changes onto their loop, so that is safe. A click runs `dispatch`, which hands the work to
a short-lived daemon thread: the UI thread never waits for the network, a file lock or the
browser. Quit and SIGTERM: `stop.set()` -> `icon.stop()` -> (after the loop returns)
`engine.stop()` -> `notifier.stop()`, all within a couple of seconds.

First run (no SSO profiles): "Set up AWS SSO profiles…" serves the one-time configure page
on 127.0.0.1 and opens it in the browser (pystray has no text input). A worker thread starts it
and waits for it; once profiles were written the engine is woken so they show at once. Only one
page at a time: activating the entry again while it is open opens the same URL again.

What is shown is decided by the pure `menu` module; this module only translates `MenuEntry`
trees into `pystray.Menu` and `Action`s into calls: each `ActionKind` has one small handler
(`TrayApp.handlers`), and every call below the tray goes through `aws_sso_tray.api`.

Clicks: appindicator and darwin open the menu on any click, and nothing changes that. gtk, xorg
and win32 give a left click to the menu's default item (pystray's `Menu.__call__`): with
`left_click = "dashboard"` (the default) that is "Open dashboard…", marked default only on those
backends (`left_click_runs_default`), so the left click runs the very handler the entry runs; with
`left_click = "menu"` the menu has no default item and `left_click_opens_menu` makes the left
click pop the menu, as a right click does. Both are in place from the start and the setting is
read again when settings.toml changes, so a change applies to the next click, no restart.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from aws_sso_tray import api
from aws_sso_tray.errors import AppError
from aws_sso_tray.snapshot import Snapshot
from aws_sso_tray.tray import allocator, gtkmenu, menu
from aws_sso_tray.tray.backend import TrayBackend
from aws_sso_tray.tray.icons import TRAY_SIZE, IconState, load_icon
from aws_sso_tray.tray.menu import Action, ActionKind, MenuEntry

if TYPE_CHECKING:
    from aws_sso_tray.api import ConfigurePage, EngineControl, NoticeSink, Settings

log = logging.getLogger(__name__)

APP_ID = "aws-sso-tray"
ENGINE_STOP_TIMEOUT = 1.5
ICON_NAME = "aws-sso-tray"
_WM_LBUTTONUP, _WM_RBUTTONUP = 0x0202, 0x0205  # win32 tray icon notifications
# pystray activates the menu's default item on a left click on these (xorg's click never
# arrives: its window asks for no button events; we only use xorg when forced).
DEFAULT_ON_LEFT_CLICK = ("gtk", "xorg", "win32")


class TrayApp:
    """One tray icon bound to one engine; `run()` blocks until Quit or SIGTERM."""

    def __init__(
        self,
        engine: EngineControl,
        pystray: ModuleType,
        backend: TrayBackend,
        *,
        notifier: NoticeSink | None = None,
    ) -> None:
        self.engine = engine
        self.pystray = pystray
        self.backend = backend
        self.notifier = notifier
        self.stop_event = threading.Event()
        self._lock = threading.Lock()
        self._snapshot = engine.snapshot
        self._settings, _ = api.load_settings()
        self._settings_mtime = api.settings_mtime()
        self._autostart = api.autostart_enabled()
        self._icon_state: IconState | None = None
        self._entries: tuple[MenuEntry, ...] = ()
        self._unsubscribe: Callable[[], None] | None = None
        # The configure page being served, if any (guarded by _configure_lock, which is held
        # only while one is started, never while it is waited for).
        self._configure_lock = threading.Lock()
        self._configure_page: ConfigurePage | None = None
        self._rescanning: set[str] = set()  # sso-sessions being synced (guarded by _lock)
        self.icon: Any = None
        self._default_item = False  # mark the menu's default entry for pystray (set by run())
        # What each menu action does (a test checks every ActionKind is here).
        self.handlers: Mapping[ActionKind, Callable[[Action], None]] = {
            ActionKind.LOGIN: self._login,
            ActionKind.LOGOUT: self._logout,
            ActionKind.PORTAL: self._open_portal,
            ActionKind.TOGGLE_SYNC: self._toggle_sync,
            ActionKind.REFRESH: self._refresh,
            ActionKind.COPY_EXPORT: self._copy_export,
            ActionKind.OPEN_CONSOLE: self._open_console,
            ActionKind.COPY_CONSOLE_URL: self._copy_console_url,
            ActionKind.TOGGLE_FAVORITE: self._toggle_favorite,
            ActionKind.REFRESH_ALL: self._refresh_all,
            ActionKind.OPEN_CONFIG: self._open_config,
            ActionKind.OPEN_SETTINGS: self._open_settings,
            ActionKind.TOGGLE_AUTOSTART: self._toggle_autostart,
            ActionKind.CONFIGURE: self._configure,
            ActionKind.OPEN_DASHBOARD: self._open_dashboard,
            ActionKind.RESCAN: self._rescan,
            ActionKind.QUIT: self._quit,
        }

    # --- life cycle ------------------------------------------------------------------------

    def run(self) -> int:
        snapshot = self._snapshot
        self._entries = self._build(snapshot)
        state = menu.icon_state(snapshot, self._settings)
        self._icon_state = state
        self._default_item = left_click_runs_default(self.backend.name, self._settings.left_click)
        self.icon = self.pystray.Icon(
            ICON_NAME,
            icon=load_icon(state, TRAY_SIZE),
            title=menu.tooltip(snapshot),
            menu=self.pystray.Menu(self._pystray_items),
        )
        # Always hooked, asked at each click: settings.toml may switch left_click later.
        left_click_opens_menu(self.icon, self.backend.name, when=lambda: not self._default_item)
        gtkmenu.build_submenus_when_opened(self.icon, self.backend.name)
        self._install_signal_handlers()
        try:
            self.icon.run(setup=self._setup)
        finally:
            self._shutdown()
        return 0

    def _setup(self, icon: Any) -> None:
        # pystray runs this on its own thread and stop() waits for it: return quickly.
        icon.visible = True
        self._unsubscribe = self.engine.subscribe(self.on_snapshot)
        self.engine.start()
        log.info("tray: icon shown (%s backend, %s)", self.backend.name, self.backend.host)

    def quit(self) -> None:
        """Stop the tray: safe from any thread, and more than once."""
        if self.stop_event.is_set():
            return
        self.stop_event.set()
        log.info("tray: quitting")
        icon = self.icon
        if icon is not None:
            icon.stop()

    def _shutdown(self) -> None:
        self.stop_event.set()
        if self._unsubscribe is not None:
            self._unsubscribe()
        with self._configure_lock:
            page = self._configure_page
        if page is not None:
            page.stop()  # its server would otherwise live on until its own timeout
        if not self.engine.stop(ENGINE_STOP_TIMEOUT):
            log.warning("tray: the engine did not stop within %.1f s", ENGINE_STOP_TIMEOUT)
        stop = getattr(self.notifier, "stop", None)
        if callable(stop):
            stop()
        log.info("tray: stopped")

    def _install_signal_handlers(self) -> None:
        def on_signal(*_args: object) -> bool:
            self.quit()
            return True  # GLib: keep the source (quit() is idempotent)

        if self.backend.name in ("appindicator", "gtk"):
            # Python signal handlers only run when the interpreter gets control back, which
            # Gtk.main() may not give for a long time: let GLib deliver them in its loop.
            from gi.repository import GLib

            for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                GLib.unix_signal_add(GLib.PRIORITY_HIGH, signum, on_signal)
        elif threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: self.quit())

    # --- state -> icon, tooltip, menu ------------------------------------------------------

    def on_snapshot(self, snapshot: Snapshot) -> None:
        """A new snapshot (engine worker thread): update the icon, tooltip and menu."""
        with self._lock:
            self._snapshot = snapshot
            self._reload_settings_if_changed()
        self.refresh_view()

    def refresh_view(self) -> None:
        with self._lock:
            snapshot, current = self._snapshot, self._settings
            self._entries = self._build(snapshot)
        icon = self.icon
        if icon is None or self.stop_event.is_set():
            return
        state = menu.icon_state(snapshot, current)
        try:
            if state != self._icon_state:
                self._icon_state = state
                icon.icon = load_icon(state, TRAY_SIZE)
            title = menu.tooltip(snapshot)
            if icon.title != title:
                icon.title = title
            icon.update_menu()
        except Exception:  # the view must never take the engine's worker down
            log.exception("tray: updating the icon failed")
        # A snapshot follows each refresh batch and the start-up burst: hand the heap they
        # freed back to the OS (at most every 30 s; a no-op off glibc).
        allocator.trim_now_and_then()

    def _reload_settings_if_changed(self) -> None:
        mtime = api.settings_mtime()
        if mtime != self._settings_mtime:
            self._settings_mtime = mtime
            self._settings, _ = api.load_settings()
            if self.icon is not None:  # run() has chosen the first one
                runs = left_click_runs_default(self.backend.name, self._settings.left_click)
                if runs != self._default_item:
                    self._default_item = runs
                    log.info(
                        "tray: left_click = %r: a left click now opens the %s",
                        self._settings.left_click,
                        "dashboard" if runs else "menu",
                    )

    def _build(self, snapshot: Snapshot) -> tuple[MenuEntry, ...]:
        return menu.build_menu(
            snapshot,
            self._settings,
            autostart_enabled=self._autostart,
            configuring=self._configure_page is not None,
        )

    def _pystray_items(self) -> tuple[Any, ...]:
        with self._lock:
            entries = self._entries
        return tuple(self._to_pystray(entry) for entry in entries)

    def _to_pystray(self, entry: MenuEntry) -> Any:
        pystray = self.pystray
        if entry.separator:
            return pystray.Menu.SEPARATOR
        if entry.children:
            # A callable: pystray makes the entries each time it reads the submenu, so they
            # are not kept for every submenu between reads (see gtkmenu: GTK reads it when it
            # is opened). `entry` is this build's, so every read gives the same entries.
            children = entry.children
            submenu = pystray.Menu(lambda: tuple(self._to_pystray(c) for c in children))
            return pystray.MenuItem(entry.label, submenu, enabled=entry.enabled)
        action = entry.action
        checked = None if entry.checked is None else _constant(entry.checked)
        if action is None:
            return pystray.MenuItem(entry.label, None, enabled=False)
        return pystray.MenuItem(
            entry.label,
            _Dispatch(self, action),
            checked=checked,
            enabled=entry.enabled,
            default=entry.default and self._default_item,
        )

    # --- actions ---------------------------------------------------------------------------

    def dispatch(self, action: Action) -> None:
        """Called on the UI thread: quit at once, everything else on a worker thread."""
        if action.kind is ActionKind.QUIT:
            self.quit()
            return
        thread = threading.Thread(
            target=self._perform, args=(action,), name=f"tray-{action.kind.value}", daemon=True
        )
        thread.start()

    def _perform(self, action: Action) -> None:
        try:
            self.perform(action)
        except AppError as exc:
            log.warning("tray: %s: %s", action.kind.value, exc.message)
            self.notify(f"{action.kind.value}", exc.title, exc.message)
        except Exception as exc:
            log.exception("tray: %s failed", action.kind.value)
            self.notify("tray-error", "aws-sso-tray error", f"{action.kind.value} failed: {exc}")

    def perform(self, action: Action) -> None:
        """Do `action` (blocking: call it from a worker thread)."""
        self.handlers[action.kind](action)

    def _login(self, action: Action) -> None:
        target = action.target or ""
        if action.profile:
            self._note_recent(action.profile)
        reason = f"you picked {action.profile} in the tray" if action.profile else None
        if not self.engine.login(target, reason=reason or "you picked Log in in the tray"):
            self.notify(
                f"login-busy:{target}",
                "Sign-in already waiting",
                "A browser sign-in for this session is already open: finish it there.",
            )

    def _open_portal(self, action: Action) -> None:
        session = self._snapshot.session(action.target or "")
        if session is not None:
            _open_url(session.start_url)

    def _toggle_favorite(self, action: Action) -> None:
        self._apply_settings(api.toggle_favorite(action.target or ""))

    def _refresh_all(self, action: Action) -> None:
        self.engine.refresh_now()

    def _open_config(self, action: Action) -> None:
        path = api.aws_config_file()
        open_path(path if path.exists() else path.parent)

    def _open_settings(self, action: Action) -> None:
        open_path(api.settings_file_to_edit())

    def _toggle_autostart(self, action: Action) -> None:
        with self._lock:
            self._autostart = api.set_autostart(not api.autostart_enabled())
        self.refresh_view()

    def _configure(self, action: Action) -> None:
        self.configure()

    def _quit(self, action: Action) -> None:
        self.quit()

    def _open_dashboard(self, action: Action) -> None:
        # This process serves the page; no browser taking it is an AppError: a notice.
        api.open_dashboard()

    def _rescan(self, action: Action) -> None:
        # Runs on the action's worker thread (it may sign in and wait for the browser); a
        # refusal (no such sso-session, the sign-in denied) is an AppError: `_perform`'s notice.
        name = action.target or ""
        with self._lock:
            if name in self._rescanning:
                log.info("tray: a sync of %s is already running", name)
                return
            self._rescanning.add(name)
        try:
            outcome = api.rescan_session(name)
        finally:
            with self._lock:
                self._rescanning.discard(name)
        self.engine.wake()  # show the added profiles now, not at the next config check
        self.notify(f"rescan:{name}", "Accounts synced", outcome.summary())

    def configure(self) -> bool:
        """Serve the configure page and wait for it (blocking: call it from a worker thread).

        With a page already open, open its URL in the browser again and return at once.
        True when this call ran a page that wrote profiles.
        """
        with self._configure_lock:
            page = self._configure_page
            if page is None:
                page = api.open_configure_page(open_browser=True)
                self._configure_page = page
                started = True
            else:
                started = False
        if not started:
            log.info("tray: the configure page is already open; showing it again")
            _open_url(page.new_url())  # the first link works only once
            return False
        log.info("tray: configure page served on 127.0.0.1")
        self.refresh_view()  # the entry now offers to show the open page again
        try:
            written = page.wait()
        finally:
            with self._configure_lock:
                self._configure_page = None
            self.refresh_view()
        if written:
            # The engine also notices the config file change on its own; do not make them wait.
            self.engine.wake()
            log.info("tray: profiles configured")
        elif page.problem is not None:
            self.notify("configure", "Setup page closed", page.problem)
        else:
            log.info("tray: the configure page closed without writing profiles")
        return written

    def notify(self, key: str, title: str, message: str) -> None:
        if self.notifier is not None:
            self.notifier.send(api.notice(f"tray:{key}", title, message))
        else:
            log.info("notice: %s: %s", title, message)

    def _apply_settings(self, new: Settings) -> None:
        """Show the settings just written, and let the engine act on them."""
        with self._lock:
            self._settings = new
            self._settings_mtime = api.settings_mtime()
        self.refresh_view()
        self.engine.wake()

    def _note_recent(self, profile: str) -> None:
        try:
            self._apply_settings(api.note_recent(profile))
        except AppError as exc:  # a broken settings file must not stop the login
            log.warning("tray: cannot record %s as recently used: %s", profile, exc)

    def _toggle_sync(self, action: Action) -> None:
        profile = action.target or ""
        if self._settings.sync_section(profile) is not None:
            stopped = api.stop_keeping_fresh(profile)
            self._apply_settings(stopped if stopped is not None else api.load_settings()[0])
        else:
            # A refused one (unknown profile, the user's long-term keys in the section) is an
            # AppError: `_perform` shows it as a notice.
            self._apply_settings(api.keep_fresh(profile, action.section))
            self._note_recent(profile)
        self.engine.refresh_now(profile)

    def _refresh(self, action: Action) -> None:
        profile = action.target or ""
        self._note_recent(profile)
        if self._settings.sync_section(profile) is not None:
            self.engine.refresh_now(profile)
            return
        # Not kept fresh: renew its cached role credentials (what the AWS CLI and SDKs reuse).
        expires = api.refresh_role_credentials(profile)
        until = f" until {menu.format_clock(expires, api.now())}" if expires else ""
        self.notify(f"refresh:{profile}", "Credentials refreshed", f"{profile}{until}")

    def _copy_export(self, action: Action) -> None:
        from aws_sso_tray.tray import clipboard

        profile = action.target or ""
        self._note_recent(profile)
        creds = api.sso_credentials(profile)
        problem = clipboard.copy(api.env_lines(creds, export=True))
        if problem:
            self.notify("clipboard", "Nothing copied", problem)
            return
        expires = creds.expiration
        until = f", valid until {menu.format_clock(expires, api.now())}" if expires else ""
        message = f"{profile}{until}: paste them into a shell"
        self.notify("clipboard", "Copied export lines", message)

    def _open_console(self, action: Action) -> None:
        # The portal's link, in the profile's browser command from the settings; a browser
        # that did not take it is an AppError, which `_perform` shows as a notice.
        profile = action.target or ""
        self._note_recent(profile)
        api.open_console(profile)

    def _copy_console_url(self, action: Action) -> None:
        from aws_sso_tray.tray import clipboard

        profile = action.target or ""
        self._note_recent(profile)
        problem = clipboard.copy(api.console_url(profile))
        if problem:
            self.notify("clipboard", "Nothing copied", problem)
            return
        self.notify("clipboard", "Copied console URL", f"{profile}: paste it into a browser")

    def _logout(self, action: Action) -> None:
        session_key = action.target or ""
        session = api.session_for(session_key)
        result = api.logout(session)
        self.engine.wake()
        message = f"Signed out of {session.display_name}"
        if result.revoke_error:
            message += f" on this computer ({result.revoke_error})"
        self.notify(f"logout:{session_key}", "Logged out", message)


def left_click_runs_default(backend: str, left_click: str) -> bool:
    """Whether a left click on `backend` should run the menu's default entry ("Open dashboard…"):
    True for `left_click = "dashboard"` on the backends that activate that entry on a left click.
    """
    if backend in ("appindicator", "darwin"):
        log.debug(
            "tray: %s opens the menu on any click; left_click = %r has no effect",
            backend,
            left_click,
        )
        return False
    runs = left_click == "dashboard" and backend in DEFAULT_ON_LEFT_CLICK
    log.debug(
        "tray: a left click opens the %s (%s backend)", "dashboard" if runs else "menu", backend
    )
    return runs


def left_click_opens_menu(icon: Any, backend: str, when: Callable[[], bool] = lambda: True) -> bool:
    """Make a left click on `icon` open its menu, as a right click does, whenever `when()` says
    so at that click (otherwise the click is pystray's: the default entry); False if it cannot.

    Call it before `icon.run()`. It uses pystray 0.19's backend internals (checked first: a
    pystray without them leaves the left click as it was and logs why).
    """
    if backend in ("appindicator", "darwin"):
        return True  # any click opens the menu already
    if backend == "gtk":
        status_icon = getattr(icon, "_status_icon", None)
        popup = getattr(icon, "_on_status_icon_popup_menu", None)
        if status_icon is None or not callable(popup):
            log.warning("tray: this pystray's gtk icon has no menu popup: left click unchanged")
            return False

        def on_activate(widget: Any) -> None:  # GtkStatusIcon "activate": a left click
            if not when():
                return  # pystray's own handler runs the default entry
            from gi.repository import Gtk

            popup(widget, 1, Gtk.get_current_event_time())

        status_icon.connect("activate", on_activate)
        return True
    if backend == "win32":
        handlers = getattr(icon, "_message_handlers", None)
        on_notify: Callable[[Any, Any], Any] | None = getattr(icon, "_on_notify", None)
        keys = [k for k, v in handlers.items() if v == on_notify] if handlers else []
        if on_notify is None or not isinstance(handlers, dict) or len(keys) != 1:
            log.warning("tray: this pystray's win32 icon has no notify handler: left click as is")
            return False
        notify = on_notify

        def on_notify_left_as_right(wparam: Any, lparam: Any) -> Any:
            left = lparam == _WM_LBUTTONUP and when()
            return notify(wparam, _WM_RBUTTONUP if left else lparam)

        handlers[keys[0]] = on_notify_left_as_right
        return True
    return False


class _Dispatch:
    """A menu item's callback (pystray passes icon and item; we need neither)."""

    def __init__(self, app: TrayApp, action: Action) -> None:
        self.app = app
        self.action = action

    def __call__(self, icon: Any, item: Any) -> None:
        self.app.dispatch(self.action)


def _constant(value: bool) -> Callable[[Any], bool]:
    return lambda _item: value


def _open_url(url: str) -> None:
    if not api.open_url(url):
        log.warning("tray: could not open a browser for %s", url)


def open_path(path: Path) -> None:
    """Open a file or folder with the desktop's default application, without waiting for it."""
    if sys.platform == "win32":
        os.startfile(path)  # type: ignore[attr-defined]  # noqa: S606 - Windows only
        return
    opener = "open" if sys.platform == "darwin" else "xdg-open"
    try:
        subprocess.Popen(
            [opener, str(path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError as exc:
        raise AppError(f"cannot open {path}: {opener} is not available ({exc.strerror})") from exc


__all__ = ["TrayApp", "left_click_opens_menu", "left_click_runs_default", "open_path"]
