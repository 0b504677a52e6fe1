"""Putting text on the clipboard, the light way: the platform's own command line tools.

`wl-copy` (Wayland), `xclip` or `xsel` (X11), `pbcopy` (macOS), `clip` (Windows), run with
subprocess; no library to install or keep up to date (pyperclip does the same underneath).
When none is there but GTK is running the tray (its backends load it anyway), GTK's clipboard is
used: it serves the text for as long as the tray runs, which for a tray is always.

`copy` returns None on success, or a one-line reason naming what to install. The text (export
lines holding secret keys) is never logged.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence

log = logging.getLogger(__name__)

TIMEOUT = 5.0
LINUX_HINT = "install wl-clipboard (Wayland), xclip or xsel to copy from the tray"


def commands(env: Mapping[str, str] | None = None, platform: str | None = None) -> list[list[str]]:
    """The copy commands to try, in order, for this platform and session."""
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    if platform == "darwin":
        return [["pbcopy"]]
    if platform == "win32":
        return [["clip"]]
    found: list[list[str]] = []
    if env.get("WAYLAND_DISPLAY"):
        found.append(["wl-copy", "--type", "text/plain"])
    if env.get("DISPLAY"):
        found += [["xclip", "-selection", "clipboard", "-in"], ["xsel", "--clipboard", "--input"]]
    return found


def copy(text: str, *, candidates: Sequence[Sequence[str]] | None = None) -> str | None:
    """Copy `text`; None when it worked, else why not (one line)."""
    tried: list[str] = []
    for command in commands() if candidates is None else candidates:
        program = shutil.which(command[0])
        if program is None:
            continue
        tried.append(command[0])
        try:
            # xclip and wl-copy fork a child that keeps serving the selection: give it no pipe
            # but stdin, or waiting for our end of stdout would hang.
            result = subprocess.run(
                [program, *command[1:]],
                input=text.encode("utf-8"),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.warning("clipboard: %s failed: %s", command[0], exc)
            continue
        if result.returncode == 0:
            return None
        log.warning("clipboard: %s exited with %d", command[0], result.returncode)
    if sys.platform not in ("darwin", "win32") and _copy_with_gtk(text):
        return None
    if tried:
        return f"copying failed with {', '.join(tried)}: see the log"
    if sys.platform == "darwin":
        return "pbcopy is missing from PATH"
    if sys.platform == "win32":
        return "clip.exe is missing from PATH"
    return f"no clipboard tool found: {LINUX_HINT}"


def _copy_with_gtk(text: str) -> bool:
    """Hand `text` to GTK's clipboard on the GTK loop, if GTK is already running the tray."""
    if "gi.repository.Gtk" not in sys.modules:
        return False  # never start GTK just for this
    try:
        from gi.repository import Gdk, GLib, Gtk
    except ImportError:
        return False
    done = threading.Event()
    ok: list[bool] = []

    def set_text() -> bool:
        try:
            clipboard = Gtk.Clipboard.get(Gdk.SELECTION_CLIPBOARD)
            clipboard.set_text(text, -1)
            clipboard.store()
            ok.append(True)
        except Exception as exc:
            log.warning("clipboard: GTK refused the text: %s", exc)
        finally:
            done.set()
        return False  # run once

    GLib.idle_add(set_text)
    return done.wait(TIMEOUT) and bool(ok)


__all__ = ["LINUX_HINT", "commands", "copy"]
