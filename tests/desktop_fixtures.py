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
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

PROGRAMS = ("Xvfb", "dbus-daemon", "dunst", "dbus-monitor")


@contextlib.contextmanager
def desktop_session(tmp: Path) -> Iterator[tuple[dict[str, str], Callable[[], str]]]:
    missing = [p for p in PROGRAMS if shutil.which(p) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (apt-get install xvfb dbus dunst)")
    procs: list[subprocess.Popen[bytes]] = []
    try:
        display = f":{100 + os.getpid() % 400}"
        procs.append(
            subprocess.Popen(
                ["Xvfb", display, "-screen", "0", "800x600x24", "-nolisten", "tcp"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
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
        time.sleep(0.5)  # Xvfb accepting connections
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
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # dunst owns the name
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
                env=full,
                capture_output=True,
                text=True,
                check=False,
            )
            if "boolean true" in probe.stdout:
                break
            time.sleep(0.1)
        yield env, lambda: log.read_text(errors="replace")
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                proc.kill()
