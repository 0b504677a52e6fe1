"""Choosing pystray's backend on purpose, and making sure a tray host will show the icon.

pystray picks a backend by itself when imported, and on Linux it may land on `xorg`, which has
no menu and a broken click: a dead icon. Worse, with no tray host at all (GNOME without the
AppIndicator extension) every backend "works" and nothing appears. So before importing pystray:

- Windows and macOS: `win32` / `darwin`, always there.
- Linux/BSD: PyGObject with GTK 3 must import; then look for a host:
  - a StatusNotifierItem host (`org.kde.StatusNotifierWatcher` owned on the session bus: KDE,
    GNOME with the AppIndicator extension, waybar, XFCE/MATE with their plugins) ->
    `appindicator` (needs the AyatanaAppIndicator3 or AppIndicator3 typelib);
  - an XEmbed tray (an owner of the `_NET_SYSTEM_TRAY_S<screen>` X selection: trayer, stalonetray,
    older panels) -> `gtk` (GtkStatusIcon speaks XEmbed itself, with a left-click action);
  - neither: NoTrayError naming what to install, and the daemon as the way to run without a tray.
- `PYSTRAY_BACKEND` set by the user wins (with a warning for `xorg`).

Started at login (`--autostart`) the panel may come up after us, so the host check is retried for
a while (`AUTOSTART_WAIT`, or `$AWS_SSO_TRAY_PANEL_WAIT` seconds) before giving up.

`decide` is the pure decision (tested on any machine); `probe` gathers the facts it needs.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from aws_sso_tray.errors import NoTrayError

log = logging.getLogger(__name__)

AUTOSTART_WAIT = 90.0  # seconds to wait for a panel when started at login
POLL_INTERVAL = 1.0
SNI_WATCHER = "org.kde.StatusNotifierWatcher"
PANEL_WAIT_ENV = "AWS_SSO_TRAY_PANEL_WAIT"
DAEMON_HINT = "or run without a tray: `aws-sso-tray daemon`"
PYGOBJECT_HINT = (
    "install PyGObject: `pip install 'aws-sso-tray[gtk]'` (builds with the system packages "
    "libgirepository1.0-dev libcairo2-dev pkg-config gir1.2-gtk-3.0), or install python3-gi "
    "gir1.2-gtk-3.0 from your distribution and use a venv or pipx with --system-site-packages"
)
APPINDICATOR_HINT = (
    "install the AppIndicator typelib: gir1.2-ayatanaappindicator3-0.1 (Debian, Ubuntu), "
    "libayatana-appindicator-gtk3 (Fedora, Arch)"
)
NO_HOST_HINT = (
    "no system tray is running: on GNOME install and enable the AppIndicator extension "
    "(gnome-shell-extension-appindicator); on other desktops add a system tray / "
    "status notifier applet to the panel"
)


@dataclass(frozen=True)
class TrayBackend:
    name: str  # the PYSTRAY_BACKEND value: appindicator, gtk, win32, darwin (or a forced one)
    host: str  # what will show the icon, for the log


@dataclass(frozen=True)
class Facts:
    """What `probe` found; every field is what `decide` needs and nothing more."""

    platform: str
    forced: str | None  # PYSTRAY_BACKEND
    display: bool  # DISPLAY set (X11 or XWayland)
    wayland: bool  # WAYLAND_DISPLAY set
    gi_problem: str | None  # None when PyGObject + GTK 3 import
    appindicator: bool  # an AppIndicator typelib is installed
    sni_watcher: bool  # org.kde.StatusNotifierWatcher owned on the session bus
    xembed_host: bool  # _NET_SYSTEM_TRAY_S<n> owned on the X display


def decide(facts: Facts) -> TrayBackend:
    """The backend to use for `facts`, or NoTrayError saying what to install or start."""
    if facts.forced:
        if facts.forced == "xorg":
            log.warning(
                "PYSTRAY_BACKEND=xorg: that backend has no menu and its clicks do not work; "
                "unset it to let aws-sso-tray choose"
            )
        return TrayBackend(facts.forced, "PYSTRAY_BACKEND")
    if facts.platform == "win32":
        return TrayBackend("win32", "the Windows notification area")
    if facts.platform == "darwin":
        return TrayBackend("darwin", "the macOS menu bar")
    if not facts.display and not facts.wayland:
        raise NoTrayError(
            "no graphical session (DISPLAY and WAYLAND_DISPLAY are unset), so there is no "
            f"tray to show an icon in; {DAEMON_HINT}"
        )
    if facts.gi_problem:
        raise NoTrayError(
            f"the tray icon needs GTK ({facts.gi_problem}): {PYGOBJECT_HINT}; {DAEMON_HINT}"
        )
    if facts.sni_watcher and facts.appindicator:
        return TrayBackend("appindicator", f"a StatusNotifierItem host ({SNI_WATCHER})")
    if facts.xembed_host and facts.display:
        return TrayBackend("gtk", "an XEmbed system tray (_NET_SYSTEM_TRAY)")
    if facts.sni_watcher:
        raise NoTrayError(
            f"the panel shows StatusNotifierItem icons, but {APPINDICATOR_HINT}; {DAEMON_HINT}"
        )
    raise NoTrayError(f"{NO_HOST_HINT}; {DAEMON_HINT}")


# --- probing ---------------------------------------------------------------------------------


def probe(env: Mapping[str, str] | None = None, platform: str | None = None) -> Facts:
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    forced = env.get("PYSTRAY_BACKEND") or None
    display = bool(env.get("DISPLAY"))
    wayland = bool(env.get("WAYLAND_DISPLAY"))
    native = platform in ("win32", "darwin")
    gi_problem = None if native or forced else _gi_problem()
    graphical = not native and not forced and gi_problem is None and (display or wayland)
    return Facts(
        platform=platform,
        forced=forced,
        display=display,
        wayland=wayland,
        gi_problem=gi_problem,
        appindicator=graphical and _appindicator_available(),
        sni_watcher=graphical and _sni_watcher_running(),
        xembed_host=graphical and display and _xembed_host_running(env.get("DISPLAY")),
    )


def _gi_problem() -> str | None:
    try:
        import gi

        gi.require_version("Gtk", "3.0")
        from gi.repository import Gtk  # noqa: F401
    except ImportError as exc:
        return f"PyGObject is not installed: {exc}"
    except ValueError as exc:  # require_version: the GTK 3 typelib is missing
        return f"GTK 3 for PyGObject is missing ({exc}); install gir1.2-gtk-3.0"
    except Exception as exc:  # e.g. RuntimeError: Gtk couldn't be initialized
        return f"GTK could not start: {exc}"
    return None


def _appindicator_available() -> bool:
    import gi

    for namespace in ("AyatanaAppIndicator3", "AppIndicator3"):
        try:
            gi.require_version(namespace, "0.1")
        except ValueError:
            continue
        return True
    return False


def _sni_watcher_running() -> bool:
    from gi.repository import Gio, GLib

    try:
        bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
        reply = bus.call_sync(
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "NameHasOwner",
            GLib.Variant("(s)", (SNI_WATCHER,)),
            GLib.VariantType.new("(b)"),
            Gio.DBusCallFlags.NONE,
            2000,
            None,
        )
    except GLib.Error as exc:
        log.debug("tray: no session bus to ask for %s: %s", SNI_WATCHER, exc.message)
        return False
    return bool(reply.unpack()[0])


def _xembed_host_running(display_name: str | None) -> bool:
    """Whether `_NET_SYSTEM_TRAY_S<screen>` has an owner on the X display.

    Asked through libX11 with ctypes: GTK has that library loaded already, whereas python-xlib
    (pystray's xorg backend, which we never use) would add some 40 modules and 3 MB to a
    process that runs for weeks.
    """
    libx11 = _libx11()
    if libx11 is None or not display_name:
        return False
    connection = libx11.XOpenDisplay(display_name.encode())
    if not connection:
        log.debug("tray: cannot open X display %s", display_name)
        return False
    try:
        screen = libx11.XDefaultScreen(connection)
        atom = libx11.XInternAtom(connection, f"_NET_SYSTEM_TRAY_S{screen}".encode(), 0)
        return bool(libx11.XGetSelectionOwner(connection, atom))  # None (0) when unowned
    finally:
        libx11.XCloseDisplay(connection)


def _libx11() -> Any:
    """libX11 through ctypes, with the signatures we call; None where it is not installed."""
    import ctypes

    lib = _load_library("libX11.so.6", "X11")
    if lib is None:
        return None
    lib.XOpenDisplay.argtypes = [ctypes.c_char_p]
    lib.XOpenDisplay.restype = ctypes.c_void_p
    lib.XDefaultScreen.argtypes = [ctypes.c_void_p]
    lib.XDefaultScreen.restype = ctypes.c_int
    lib.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    lib.XInternAtom.restype = ctypes.c_ulong
    lib.XGetSelectionOwner.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
    lib.XGetSelectionOwner.restype = ctypes.c_ulong
    lib.XCloseDisplay.argtypes = [ctypes.c_void_p]
    lib.XCloseDisplay.restype = ctypes.c_int
    return lib


def _load_library(soname: str, name: str) -> Any:
    import ctypes

    try:
        return ctypes.CDLL(soname)  # the soname first: find_library runs ldconfig
    except OSError:
        import ctypes.util

        found = ctypes.util.find_library(name)
        try:
            return ctypes.CDLL(found) if found else None
        except OSError:
            return None


# --- choosing --------------------------------------------------------------------------------


def panel_wait(autostart: bool, env: Mapping[str, str] | None = None) -> float:
    env = os.environ if env is None else env
    if not autostart:
        return 0.0
    try:
        return max(0.0, float(env.get(PANEL_WAIT_ENV, AUTOSTART_WAIT)))
    except ValueError:
        return AUTOSTART_WAIT


def choose_backend(
    *,
    autostart: bool = False,
    wait: float | None = None,
    probe_facts: Callable[[], Facts] = probe,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> TrayBackend:
    """The backend to use, waiting up to `wait` s (autostart) for a tray host to appear."""
    wait = panel_wait(autostart) if wait is None else wait
    deadline = clock() + wait
    while True:
        facts = probe_facts()
        try:
            backend = decide(facts)
        except NoTrayError:
            # Only a missing host (or display) can fix itself; a missing library cannot.
            if facts.gi_problem or clock() >= deadline:
                raise
            sleep(POLL_INTERVAL)
            continue
        log.info("tray: using pystray backend %s (%s)", backend.name, backend.host)
        return backend


def import_pystray(backend: TrayBackend) -> ModuleType:
    """Import pystray with `backend` selected (pystray reads PYSTRAY_BACKEND at import)."""
    os.environ["PYSTRAY_BACKEND"] = backend.name
    try:
        import pystray
    except Exception as exc:  # ImportError, or Xlib's DisplayNameError for xorg
        raise NoTrayError(
            f"the {backend.name} tray backend cannot start ({type(exc).__name__}: {exc}); "
            f"{DAEMON_HINT}"
        ) from exc
    module: ModuleType = pystray
    return module


__all__ = [
    "AUTOSTART_WAIT",
    "Facts",
    "TrayBackend",
    "choose_backend",
    "decide",
    "import_pystray",
    "panel_wait",
    "probe",
]
