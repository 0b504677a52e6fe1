"""Run the demo for a long while, in real time, and report what a person would have seen.

    python scripts/soak_demo.py --minutes 25 [--tray]

The demo runs in this process (so the emulator's request counters can be read) inside a fresh
temporary HOME, with a private D-Bus session and a real notification server (dunst) whose every
`Notify` call is captured with dbus-monitor; `--tray` also starts Xvfb and a tray host (trayer).
The sign-in is a device-code login that `--auto-approve` presses Allow on. At the end it prints:
the notices by summary, the logins and token renewals the emulator saw, and GetRoleCredentials
counts next to what the credential lifetime allows. It exits 1 when a check fails:
- exactly one "ends soon" notice before the session end, none "expired"/"ended" before it;
- one sign-in before the session end (no second, forced one);
- GetRoleCredentials at most once per half a credential lifetime for the kept-fresh profile.

Needs Debian's dbus, dunst (and xvfb, trayer for --tray). Not part of the test suite: it runs
for as long as the demo's SSO session lasts, and longer.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=25.0)
    parser.add_argument("--tray", action="store_true", help="run the tray under Xvfb + trayer")
    args = parser.parse_args()
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS") or os.environ.get("SOAK_INNER") != "1":
        # Re-run inside a private session bus (and a virtual screen for the tray).
        env = dict(os.environ, SOAK_INNER="1")
        return subprocess.call(["dbus-run-session", "--", sys.executable, *sys.argv], env=env)
    return soak(args.minutes, args.tray)


def _start_screen(display: str) -> subprocess.Popen[bytes]:
    """A virtual screen (Xvfb) on `display`, given a moment to come up."""
    screen = subprocess.Popen(
        ["Xvfb", display, "-screen", "0", "800x400x24", "-nolisten", "tcp"],
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.5)
    return screen


def _start_tray_host() -> subprocess.Popen[bytes]:
    """trayer on the virtual screen: the panel the tray icon docks into."""
    command = ["trayer", "--edge", "top", "--align", "right", "--widthtype", "request"]
    command += ["--height", "32", "--SetDockType", "true", "--transparent", "false"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def soak(minutes: float, tray: bool) -> int:
    home = Path(tempfile.mkdtemp(prefix="soak-demo-"))
    os.environ.update(
        HOME=str(home),
        XDG_STATE_HOME=str(home / ".local/state"),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    helpers: list[subprocess.Popen[bytes]] = []
    # The notification server (dunst) needs a screen even when the demo runs without one.
    display = f":{90 + os.getpid() % 9}"
    helpers.append(_start_screen(display))
    if tray:
        os.environ["DISPLAY"] = display
        helpers.append(_start_tray_host())
        os.environ.setdefault("PYSTRAY_BACKEND", "appindicator")
    else:
        os.environ.pop("DISPLAY", None)
        os.environ.pop("WAYLAND_DISPLAY", None)
    monitor_log = home / "notify-monitor.txt"
    with monitor_log.open("wb") as out:
        helpers.append(
            subprocess.Popen(
                [
                    "dbus-monitor",
                    "--session",
                    "interface=org.freedesktop.Notifications,member=Notify",
                ],
                stdout=out,
                stderr=subprocess.DEVNULL,
            )
        )
    if shutil.which("dunst"):
        helpers.append(
            subprocess.Popen(
                ["dunst"],
                env=dict(os.environ, DISPLAY=display),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    time.sleep(1.0)

    from aws_sso_tray import demo
    from aws_sso_tray.setup import demo_world
    from aws_sso_tray.tray import run_tray

    holder: dict[str, Any] = {}
    real_start = demo_world.start_emulator

    def start_emulator(port: int = 0) -> Any:
        holder["emulator"] = real_start(port)
        holder["started"] = time.monotonic()
        holder["wall"] = time.time()
        return holder["emulator"]

    demo_world.start_emulator = start_emulator  # type: ignore[assignment]
    samples: list[tuple[float, int, int, int]] = []

    def watch() -> None:
        deadline = time.monotonic() + minutes * 60
        while time.monotonic() < deadline:
            emulator = holder.get("emulator")
            if emulator is not None:
                samples.append(
                    (
                        time.monotonic() - holder["started"],
                        emulator.count("GetRoleCredentials"),
                        emulator.count("CreateToken"),
                        emulator.count("StartDeviceAuthorization"),
                    )
                )
            # Every second until the first sign-in (its time is when the session's 20 min start),
            # then every 10 s.
            time.sleep(10 if samples and samples[-1][3] else 1)
        os.kill(os.getpid(), signal.SIGTERM)

    def sign_in_from_another_terminal() -> None:
        # On a first run the tray opens the sign-in by itself (a kept-fresh profile needs it);
        # when it has not within 20 s, sign in as a second terminal would, through the CLI.
        while "emulator" not in holder or "AWS_SSO_TRAY_HOME" not in os.environ:
            time.sleep(0.5)
        time.sleep(20)
        if holder["emulator"].count("StartDeviceAuthorization"):
            return
        subprocess.run(
            [
                sys.executable,
                "-m",
                "aws_sso_tray",
                "login",
                "dev-readonly",
                "--use-device-code",
                "--no-browser",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
            timeout=120,
        )

    threading.Thread(target=watch, daemon=True).start()
    if tray:
        threading.Thread(target=sign_in_from_another_terminal, daemon=True).start()
    lines: list[str] = []
    rc = demo.run_demo(run_tray=run_tray if tray else None, auto_approve=True, say=lines.append)
    time.sleep(0.5)
    for helper in helpers:
        helper.terminate()
    return report(holder["emulator"], holder["wall"], monitor_log, samples, lines, rc)


def report(
    emulator: Any,
    wall: float,
    monitor_log: Path,
    samples: list[tuple[float, int, int, int]],
    lines: list[str],
    rc: int,
) -> int:
    from aws_sso_tray.setup import demo_world

    session_end = demo_world.SESSION_TTL.total_seconds()
    lifetime = demo_world.CREDENTIAL_TTL.total_seconds()
    text = monitor_log.read_text(errors="replace")
    # In a Notify call the strings are: app name, icon, summary, body.
    notices: list[tuple[float, str]] = []
    for call in text.split("method call")[1:]:
        stamp = re.match(r"\s*time=([0-9.]+)", call)
        strings = re.findall(r'^\s*string "(.*)"$', call, flags=re.MULTILINE)
        if len(strings) >= 4:
            notices.append((float(stamp.group(1)) - wall if stamp else -1.0, strings[2]))
    summaries = [summary for _, summary in notices]
    print(f"demo exit code: {rc}")
    print("demo said:\n  " + "\n  ".join(" | ".join(line.splitlines()) for line in lines))
    print(f"notices ({len(summaries)}):")
    for at, summary in notices:
        print(f"  t={at:6.0f}s {summary}")
    print(
        f"GetRoleCredentials: {emulator.count('GetRoleCredentials')}; "
        f"CreateToken: {emulator.count('CreateToken')}; "
        f"StartDeviceAuthorization: {emulator.count('StartDeviceAuthorization')}"
    )
    for elapsed, grc, create, device in [s for s in samples if s[3]][::6]:
        print(f"  t={elapsed:6.0f}s GetRoleCredentials={grc} CreateToken={create} logins={device}")
    failures = []
    first_login = next((s[0] for s in samples if s[3] > 0), 0.0)
    end = first_login + session_end
    ends_soon = [(at, s) for at, s in notices if "soon" in s.lower() or "ends in" in s.lower()]
    if len(ends_soon) != 1:
        failures.append(f"expected one 'ends soon' notice, saw {len(ends_soon)}")
    early = [
        (at, s)
        for at, s in notices
        if at < end - 5 and any(word in s.lower() for word in ("expired", "ended", "signed out"))
    ]
    if early:
        failures.append(f"notices of an end before the session end: {early}")
    before_end = [s for s in samples if s[0] < end - 10]
    if before_end:
        span, grc, _, logins = before_end[-1]
        allowed = int(span / (lifetime / 2)) + 2
        print(
            f"before the session end ({span:.0f}s): {grc} GetRoleCredentials "
            f"(at most {allowed} allowed, one per half lifetime), {logins} sign-in(s)"
        )
        if grc > allowed:
            failures.append(f"{grc} GetRoleCredentials in {span:.0f}s, more than {allowed}")
        if logins != 1:
            failures.append(f"{logins} sign-ins before the session end, expected 1")
    for failure in failures:
        print(f"FAIL: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
