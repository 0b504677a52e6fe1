"""A private desktop for notification tests: Xvfb, a D-Bus session bus, dunst, dbus-monitor.

`desktop_session()` yields the environment variables (DISPLAY, DBUS_SESSION_BUS_ADDRESS) of a
fresh session and a function returning what `dbus-monitor` has seen of
org.freedesktop.Notifications so far. Skips with a reason where the programs are missing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from waiting import wait_for

PROGRAMS = ("Xvfb", "dbus-daemon", "dunst", "dbus-monitor")


@contextlib.contextmanager
def desktop_session(tmp: Path) -> Iterator[tuple[dict[str, str], Callable[[], str]]]:
    missing = [p for p in PROGRAMS if shutil.which(p) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (apt-get install xvfb dbus dunst)")
    procs: list[subprocess.Popen[bytes]] = []
    try:
        number = 100 + os.getpid() % 400
        display = f":{number}"
        xvfb = subprocess.Popen(
            ["Xvfb", display, "-screen", "0", "800x600x24", "-nolisten", "tcp"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        procs.append(xvfb)
        bus = subprocess.Popen(
            ["dbus-daemon", "--session", "--nofork", "--print-address=1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        procs.append(bus)
        assert bus.stdout is not None
        address = bus.stdout.readline().decode().strip()
        env = {"DISPLAY": display, "DBUS_SESSION_BUS_ADDRESS": address}
        full = {**os.environ, **env}
        wait_for(  # Xvfb accepting connections: its socket is there (or it gave up)
            lambda: Path(f"/tmp/.X11-unix/X{number}").exists() or xvfb.poll() is not None,
            f"Xvfb on {display}",
            10,
        )
        procs.append(
            subprocess.Popen(
                ["dunst"], env=full, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        )
        log = tmp / "dbus-monitor.log"
        out = log.open("wb")
        procs.append(
            subprocess.Popen(
                ["dbus-monitor", "--session", "interface=org.freedesktop.Notifications"],
                env=full,
                stdout=out,
                stderr=subprocess.DEVNULL,
            )
        )
        wait_for(
            lambda: _owns_notifications(full),
            "dunst to own the notification name",
            10,
            interval=0.1,
        )
        yield env, lambda: log.read_text(errors="replace")
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                proc.kill()


def _owns_notifications(env: dict[str, str]) -> bool:
    """Whether a notification server (dunst) owns org.freedesktop.Notifications on the bus."""
    probe = subprocess.run(
        [
            "dbus-send",
            "--session",
            "--print-reply",
            "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.NameHasOwner",
            "string:org.freedesktop.Notifications",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return "boolean true" in probe.stdout
