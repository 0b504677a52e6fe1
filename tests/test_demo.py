"""`aws-sso-tray demo --no-tray` as a user runs it: a real subprocess, the bundled emulator,
files in the demo's own folder, and a clean stop on SIGTERM."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from botocore.configloader import raw_config_parse

from sso_helpers import STANDIN_BROWSER
from waiting import wait_for

if TYPE_CHECKING:
    from fixture_types import RunCli


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


def test_headless_demo_opens_the_browser_variable_with_no_display(
    home: Path, tmp_path: Path
) -> None:
    """Issue 9.7: in a dev container or over SSH there is no DISPLAY, but $BROWSER (VS Code's
    helper; here the stand-in, which presses Allow) is the user's word: the demo opens it."""
    steps = tmp_path / "standin.log"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(
        BROWSER=STANDIN_BROWSER,
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


# --- a demo as a person runs it, with its terminal output collected as it comes --------------


class DemoProcess:
    """`aws-sso-tray demo ARGS` in a subprocess; its terminal output is collected by a thread."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        import threading

        self.process = subprocess.Popen(
            [sys.executable, "-m", "aws_sso_tray", "demo", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, text: str, timeout: float = 90) -> str:
        """The output so far once it holds `text`; AssertionError if the demo ends without it."""

        def printed() -> bool:
            if text in self.output:
                return True
            if self.process.poll() is not None:
                self._reader.join(5)
                if text in self.output:
                    return True
                raise AssertionError(f"the demo never printed {text!r}:\n{self.output}")
            return False

        wait_for(
            printed,
            lambda: f"the demo to print {text!r}:\n{self.output}",
            timeout,
            interval=0.1,
        )
        return self.output

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(5)
        return self.process.returncode


def _demo_folder(home: Path) -> Path:
    return home / ".local" / "state" / "aws-sso-tray" / "demo"


def test_tray_mode_logs_only_into_the_demo_world_and_prints_the_true_log_path(
    home: Path,
) -> None:
    # No display: the tray mode falls back to headless, as on a server; the log it announced
    # must be the one it writes, and nothing may go to the real state folder's log.
    env = {k: "" for k in ("DISPLAY", "WAYLAND_DISPLAY")}
    demo = DemoProcess("--auto-approve", env=env)
    try:
        text = demo.wait_for("refreshed dev-readonly -> [demo-dev]")
    finally:
        demo.stop()
    logged = re.search(r"log:\s+(\S+)", text)
    assert logged, text
    log_file = Path(logged.group(1))
    assert log_file.is_file(), f"the demo printed {log_file}, which does not exist"
    assert log_file.is_relative_to(_demo_folder(home))
    assert "refreshed dev-readonly -> [demo-dev]" in log_file.read_text()
    real_state = home / ".local" / "state" / "aws-sso-tray"
    assert sorted(p.name for p in real_state.iterdir()) == ["demo"], "wrote outside its world"


def test_the_emulator_request_log_goes_to_the_log_file_not_the_terminal(home: Path) -> None:
    # A person who takes a while to press Allow: CreateToken is polled meanwhile.
    env = {k: "" for k in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER")}
    demo = DemoProcess("--no-tray", env=env)
    log_file = _demo_folder(home) / "log" / "aws-sso-tray.log"
    try:
        text = demo.wait_for("press Allow to sign in: ")
        url = re.search(r"press Allow to sign in: (\S+)", text)
        assert url, text
        wait_for(
            lambda: "AuthorizationPendingException" in _text(log_file),
            lambda: f"polling in the log:\n{_text(log_file)}",
            60,
            interval=0.2,
        )
        browser = [sys.executable, "-m", "aws_sso_tray.emulator.browser", "--foreground"]
        subprocess.run([*browser, url.group(1)], check=True, timeout=60)
        text = demo.wait_for("refreshed dev-readonly -> [demo-dev]")
    finally:
        demo.stop()
    assert "AuthorizationPending" not in text
    assert "answered" not in text  # no emulator request line at all
    assert "Signed in until" in text


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def test_a_second_demo_with_the_same_home_refuses_and_leaves_the_first_alone(
    home: Path, cli: RunCli
) -> None:
    first = DemoProcess("--no-tray", "--auto-approve")
    credentials = _demo_folder(home) / "aws" / "credentials"
    try:
        first.wait_for("refreshed dev-readonly -> [demo-dev]")
        before = credentials.read_text()
        try:
            second = cli("demo", "--no-tray", "--auto-approve", timeout=60)
        except subprocess.TimeoutExpired as exc:
            raise AssertionError("the second demo ran instead of refusing") from exc
        assert second.returncode == 13, second.stderr
        (line,) = second.stderr.strip().splitlines()
        assert "a demo is already running" in line
        assert f"pid {first.process.pid}" in line
        assert "Traceback" not in second.stderr
        # The first demo's world is untouched and it still answers.
        assert credentials.read_text() == before
        # The same from a terminal put into the demo's world (`eval "$(... demo --env)"` sets
        # AWS_SSO_TRAY_HOME): it refuses too, and makes no world inside the running one's.
        inside = cli(
            "demo",
            "--no-tray",
            "--auto-approve",
            env={"AWS_SSO_TRAY_HOME": str(_demo_folder(home))},
        )
        assert inside.returncode == 13, inside.stderr
        assert not (_demo_folder(home) / "state" / "demo").exists()
        status = cli("status", env={"AWS_SSO_TRAY_HOME": str(_demo_folder(home))})
        assert status.returncode == 0, status.stderr
        assert "dev-readonly" in status.stdout
        assert first.process.poll() is None
    finally:
        assert first.stop() == 0, first.output
    # Once it stopped, a new demo may start again.
    again = DemoProcess("--no-tray", "--auto-approve")
    try:
        again.wait_for("refreshed dev-readonly -> [demo-dev]")
    finally:
        assert again.stop() == 0, again.output


def test_demo_env_puts_another_terminal_into_the_demo_world(home: Path, cli: RunCli) -> None:
    demo = DemoProcess("--no-tray", "--auto-approve")
    try:
        text = demo.wait_for("refreshed dev-readonly -> [demo-dev]")
        assert 'eval "$(' in text and 'demo --env)"' in text
        program = f"{shlex.quote(sys.executable)} -m aws_sso_tray"
        # Another terminal, where a real profile and real keys are set.
        script = (
            f'eval "$({program} demo --env)" || exit 99\n'
            f"{program} export --profile dev-readonly --json > export.json || exit 1\n"
            f"{program} sync prod-readonly:other || exit 2\n"
            f"{program} credential-process --profile dev-admin > process.json || exit 3\n"
            f"{program} status --json > status.json || exit 4\n"
        )
        other = {
            **os.environ,
            "AWS_PROFILE": "real-work",
            "AWS_ACCESS_KEY_ID": "AKIAREALKEYREALKEY00",
            "AWS_SECRET_ACCESS_KEY": "real-secret",
        }
        done = subprocess.run(
            ["bash", "-c", script],
            cwd=home,
            env=other,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        exported = json.loads((home / "export.json").read_text())
        assert exported["AccessKeyId"].startswith("ASIA")
        processed = json.loads((home / "process.json").read_text())
        assert processed["Version"] == 1 and processed["AccessKeyId"].startswith("ASIA")
        synced = raw_config_parse(str(_demo_folder(home) / "aws" / "credentials"))
        assert synced["other"]["aws_access_key_id"].startswith("ASIA")
        status = json.loads((home / "status.json").read_text())
        assert {p["name"] for p in status["profiles"]} >= {"dev-readonly", "prod-readonly"}
        assert sorted(p.name for p in (home / ".aws").iterdir()) == []
    finally:
        demo.stop()
    # No demo running: one line, the documented exit code, nothing to eval.
    after = cli("demo", "--env")
    assert after.returncode == 3, after.stderr
    assert after.stdout == ""
    assert "no demo is running" in after.stderr.strip()
    assert len(after.stderr.strip().splitlines()) == 1


def test_demo_env_reads_nothing_from_a_demo_folder_others_can_write_to(
    home: Path, cli: RunCli
) -> None:
    # `demo --env` turns what the demo folder says into `export AWS_ENDPOINT_URL_SSO=...` lines
    # the user evals: whoever could write there could send that shell's AWS calls anywhere.
    from aws_sso_tray.setup import demo_world

    root = demo_world.demo_root()
    lock = demo_world.DemoLock(root)  # a running demo, as far as `demo --env` can tell
    lock.acquire()
    try:
        (root / demo_world.URL_NAME).write_text("http://attacker.example\n")
        root.chmod(0o777)
        result = cli("demo", "--env")
        assert result.returncode == 6, result.stdout + result.stderr
        assert result.stdout == ""
        line = result.stderr.strip()
        assert len(line.splitlines()) == 1 and "Traceback" not in line
        assert f"folder {root} is writable by other users" in line
        assert f"`chmod go-w {root}`" in line
    finally:
        root.chmod(0o700)
        lock.release()


def test_demo_env_does_not_follow_a_symlink_in_place_of_the_url_file(
    home: Path, cli: RunCli
) -> None:
    from aws_sso_tray.setup import demo_world

    root = demo_world.demo_root()
    lock = demo_world.DemoLock(root)
    lock.acquire()
    try:
        elsewhere = home / "elsewhere"
        elsewhere.write_text("http://attacker.example\n")
        (root / demo_world.URL_NAME).symlink_to(elsewhere)
        result = cli("demo", "--env")
        assert "attacker.example" not in result.stdout
        assert result.returncode == 3, result.stdout + result.stderr
        assert "no demo is running" in result.stderr
    finally:
        lock.release()
