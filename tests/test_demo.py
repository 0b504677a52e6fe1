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
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0
        port = int(url.group(1).rsplit(":", 1)[1])
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0  # the emulator is gone too
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
