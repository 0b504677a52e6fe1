"""`aws-sso-tray demo --no-tray` as a user runs it: a real subprocess, the bundled emulator,
files in the demo's own folder, and a clean stop on SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from botocore.configloader import raw_config_parse


def test_headless_demo_signs_in_keeps_fresh_and_stops_cleanly(home: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "aws_sso_tray", "demo", "--no-tray", "--auto-approve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=dict(os.environ),
    )
    demo = home / ".local" / "state" / "aws-sso-tray" / "demo"
    credentials = demo / "aws" / "credentials"
    output: list[str] = []
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            output.append(line)
            if "refreshed dev-readonly -> [demo-dev]" in line:
                break
        else:
            raise AssertionError("".join(output))
        text = "".join(output)
        url = re.search(r"runs at (http://127\.0\.0\.1:\d+)", text)
        assert url, text
        assert str(credentials) in text
        parsed = raw_config_parse(str(credentials))
        assert parsed["demo-dev"]["aws_access_key_id"].startswith("ASIA")
        assert parsed["static-example"] == {"region": "eu-central-1"}
        assert credentials.read_text().startswith("# The demo's credentials file.")
        # the user's own ~/.aws was never touched
        assert sorted(p.name for p in (home / ".aws").iterdir()) == []
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0
        assert time.monotonic() - started < 3
        port = int(url.group(1).rsplit(":", 1)[1])
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0  # the emulator is gone too
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_headless_demo_opens_the_browser_variable_with_no_display(
    home: Path, tmp_path: Path
) -> None:
    """Issue 9.7: in a dev container or over SSH there is no DISPLAY, but $BROWSER (VS Code's
    helper; here the stand-in, which presses Allow) is the user's word: the demo opens it."""
    steps = tmp_path / "standin.log"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(
        BROWSER=f"{sys.executable} -m aws_sso_tray.emulator.browser %s",
        STANDIN_ACTION="allow",
        STANDIN_LOG=str(steps),
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "aws_sso_tray", "demo", "--no-tray"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    output: list[str] = []
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            output.append(line)
            if "refreshed dev-readonly -> [demo-dev]" in line or not line:
                break
        text = "".join(output)
        assert "refreshed dev-readonly -> [demo-dev]" in text, text
        assert "Press Allow in the browser page that opened" in text, text
        assert "/authorize?" in steps.read_text()  # PKCE, through $BROWSER
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
