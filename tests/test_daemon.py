"""`aws-sso-tray daemon` as a real subprocess (the installed console script) against the
emulator, and `status`.

Slow tests use 25 s credentials so the daemon rewrites the section several times while a reader
checks that every read of the credentials file parses and holds a complete section.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from aws_sso_tray import clock, daemon
from aws_sso_tray.aws.profiles import SsoSession
from aws_sso_tray.engine import lock as engine_lock
from aws_sso_tray.errors import AlreadyRunningError, ExitCode
from aws_sso_tray.files import paths, settings
from aws_sso_tray.login import history
from desktop_fixtures import desktop_session
from sso_helpers import STANDIN_BROWSER, device_login, session_config
from waiting import wait_for

if TYPE_CHECKING:
    from aws_sso_tray.emulator import Emulator
    from fixture_types import RunCli, WriteConfig

SESSION = SsoSession(
    "corp", "https://d-1234567890.awsapps.com/start", "us-east-1", ("sso:account:access",)
)
KEYS = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token")


@pytest.fixture
def logged_in(emulator: Emulator, aws_config: WriteConfig) -> Emulator:
    aws_config(session_config(SESSION, "dev", "111111111111", "ReadOnly"))
    device_login(emulator, SESSION)
    settings.add_auto_sync("dev")
    return emulator


# The console script the venv installed: the daemon as users run it.
PROGRAM = str(Path(sys.executable).parent / "aws-sso-tray")


def start_daemon(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """`aws-sso-tray daemon ARGS` in a subprocess (no D-Bus: notices go to the log)."""
    full = {k: v for k, v in os.environ.items() if k != "DBUS_SESSION_BUS_ADDRESS"}
    full.update(env or {})
    return subprocess.Popen(
        [PROGRAM, "daemon", *args],
        env=full,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop_daemon(proc: subprocess.Popen[str], timeout: float = 30) -> str:
    """SIGTERM, then its stderr; killed if it does not end within `timeout`."""
    proc.send_signal(signal.SIGTERM)
    try:
        # SIGTERM sets the stop event the worker waits on: far inside its 60 s longest wait.
        _out, err = proc.communicate(timeout=timeout)
    finally:
        proc.kill()
    return err


def section_key(name: str = "dev") -> str | None:
    from botocore.configloader import raw_config_parse

    path = paths.aws_credentials_file()
    if not path.exists():
        return None
    key: str | None = raw_config_parse(str(path)).get(name, {}).get("aws_access_key_id")
    return key


def test_status_without_an_engine_reads_files_only(logged_in: Emulator) -> None:
    logged_in.clear_requests()
    text = daemon.status()
    assert "engine: not running" in text
    assert "dev" in text and "logged in" in text
    data = json.loads(daemon.status(json=True))
    assert data["engine_running"] is False
    assert data["profiles"][0]["name"] == "dev"
    assert data["profiles"][0]["synced_section"] == "dev"
    assert logged_in.requests == []


def test_second_instance_is_refused_in_process(logged_in: Emulator) -> None:
    with engine_lock.InstanceLock():
        with pytest.raises(AlreadyRunningError) as info:
            daemon.run_daemon()
        assert str(os.getpid()) in info.value.message
        assert engine_lock.engine_running()
    assert not engine_lock.engine_running()


class CredentialsReader:
    """Reads the credentials file on its own thread as `aws` commands would, as fast as it can:
    every key it read in `reads`, every unparsable or incomplete read in `problems`."""

    def __init__(self) -> None:
        self.reads: list[str] = []
        self.problems: list[str] = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from botocore.configloader import raw_config_parse

        path = paths.aws_credentials_file()
        while not self.done.is_set():
            if path.exists():
                try:
                    section = raw_config_parse(str(path)).get("dev")
                except Exception as exc:
                    self.problems.append(f"parse: {exc}")
                    continue
                if section is None or not all(section.get(k) for k in KEYS):
                    self.problems.append(f"incomplete: {sorted(section or {})}")
                else:
                    self.reads.append(section["aws_access_key_id"])
            time.sleep(0.01)


def _check_status_and_second_instance() -> None:
    """While the daemon runs: `status` says so, and a second daemon is refused (exit 13)."""
    status = subprocess.run(
        [PROGRAM, "status", "--json"], capture_output=True, text=True, check=True, timeout=30
    )
    assert json.loads(status.stdout)["engine_running"] is True

    second = start_daemon()
    _out, err = second.communicate(timeout=30)
    assert second.returncode == ExitCode.ALREADY_RUNNING, err
    assert "already running" in err


def _check_refreshes_through_faults(emu: Emulator, reader: CredentialsReader) -> None:
    first = section_key()
    wait_for(lambda: section_key() != first, "a refresh", timeout=30)
    emu.inject_fault("GetRoleCredentials", "5xx", count=6)  # two failed rounds
    emu.inject_fault("CreateToken", "drop", count=1)
    second_key = section_key()
    wait_for(lambda: section_key() != second_key, "a refresh after the faults", timeout=90)
    assert emu.count("GetRoleCredentials") >= 3
    # The reader polls on its own thread: on a busy machine it may not have read the last
    # rewrite yet when the test sees it.
    last = section_key()
    wait_for(lambda: last in reader.reads, "the reader to read the last rewrite", timeout=30)


def _check_no_secret_leaked(emu: Emulator, err: str) -> None:
    assert "Traceback" not in err
    for secret in emu.issued_secrets():
        assert secret not in err
    log_text = daemon.log_file().read_text()
    assert "refreshed dev" in log_text
    for secret in emu.issued_secrets():
        assert secret not in log_text


@pytest.mark.slow
def test_daemon_keeps_the_section_fresh_survives_faults_and_stops_on_sigterm(
    logged_in: Emulator,
) -> None:
    emu = logged_in
    emu.config.credential_ttl = 25
    proc = start_daemon("--refresh-before", "10s", "--debug")
    reader = CredentialsReader()
    reader.thread.start()
    try:
        wait_for(lambda: section_key() is not None, "the first write")
        wait_for(engine_lock.engine_running, "the engine lock")
        _check_status_and_second_instance()
        _check_refreshes_through_faults(emu, reader)
    finally:
        reader.done.set()
        err = stop_daemon(proc)
    assert proc.returncode == 0, err
    assert not reader.problems, reader.problems[:5]
    assert len(set(reader.reads)) >= 3  # several rewrites observed, each complete
    _check_no_secret_leaked(emu, err)
    assert not engine_lock.engine_running()


@pytest.mark.desktop
def test_session_ending_warning_reaches_a_real_notification_server(
    emulator: Emulator, aws_config: WriteConfig, tmp_path: Path
) -> None:
    emulator.config.session_ttl = 600  # the session ends in 10 minutes...
    aws_config(session_config(SESSION, "dev", "111111111111", "ReadOnly"))
    device_login(emulator, SESSION)
    settings.add_auto_sync("dev")
    # ...and we logged in 7 h 50 min ago, of an 8 h session.
    history.record_login(
        SESSION.cache_key,
        history.SessionRecord(
            clock.now() - timedelta(hours=7, minutes=50), SESSION.start_url, "device"
        ),
    )
    with desktop_session(tmp_path) as (env, monitor):
        proc = start_daemon(env=env)
        try:
            wait_for(lambda: "ends soon" in monitor(), "the Notify call", timeout=30)
        finally:
            proc.send_signal(signal.SIGTERM)
            _out, err = proc.communicate(timeout=10)
        seen = monitor()
    assert "SSO session corp ends soon" in seen
    assert "Log in" in seen  # the action button
    assert seen.count("SSO session corp ends soon") == 1, err


def test_tray_started_at_login_without_a_tray_keeps_profiles_fresh_headless(
    logged_in: Emulator, home: Path
) -> None:
    """`tray --autostart` must never prompt: with no tray it runs the engine and says why."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS")
    }
    env["AWS_SSO_TRAY_PANEL_WAIT"] = "0"
    process = subprocess.Popen(
        [sys.executable, "-m", "aws_sso_tray", "tray", "--autostart"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(
            lambda: engine_lock.engine_running() and (home / ".aws" / "credentials").exists(),
            "the engine to run and write the credentials file",
            30,
            interval=0.2,
        )
        assert engine_lock.engine_running()
        assert "[dev]" in (home / ".aws" / "credentials").read_text()
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0
        log_text = paths.log_file().read_text()
        assert "runs without a tray icon" in log_text
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _status(cli: RunCli) -> dict[str, Any]:
    done = cli("status", "--json", timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


@pytest.mark.slow
def test_logout_from_another_process_is_respected_by_the_running_daemon(
    logged_in: Emulator, cli: RunCli, tmp_path: Path
) -> None:
    """Issue 9.10: `aws-sso-tray logout` in another process: the daemon shows the session as
    signed out, sends no "expired" notice and opens no browser by itself (auto_login is on, and
    the credentials come due meanwhile), until `aws-sso-tray login` signs in again."""
    emu = logged_in
    emu.config.credential_ttl = 25  # the section comes due for a refresh every ~15 s
    calls = tmp_path / "browser-calls"
    recorder = tmp_path / "recording-browser"
    recorder.write_text(f'#!/bin/sh\necho "$1" >> "{calls}"\n', encoding="utf-8")
    recorder.chmod(0o755)
    proc = start_daemon("--refresh-before", "10s", env={"BROWSER": str(recorder), "DISPLAY": ":99"})
    try:
        wait_for(engine_lock.engine_running, "the engine lock")
        wait_for(
            lambda: (
                (s := _status(cli))["sessions"][0]["status"] == "logged_in"
                and s["profiles"][0]["status"] == "fresh"
            ),
            "the daemon to keep dev fresh",
            timeout=60,
        )
        done = cli("logout", "dev")
        assert done.returncode == 0, done.stderr
        logged_out_at = clock.now()
        wait_for(
            lambda: _status(cli)["sessions"][0]["status"] == "signed_out",
            "status to show the session signed out",
            timeout=30,
        )
        # Past the moment the old credentials needed refreshing (a refresh is due every ~15 s):
        # a daemon that took the logout for an expiry would have opened the browser by now.
        wait_for(
            lambda: clock.now() > logged_out_at + timedelta(seconds=25),
            "the next refresh time to pass",
            timeout=60,
        )
        state = _status(cli)
        assert state["sessions"][0]["status"] == "signed_out"
        assert state["profiles"][0]["status"] == "login_needed"
        assert not calls.exists(), calls.read_text()
        log_text = daemon.log_file().read_text()
        assert "expired" not in log_text and "has ended" not in log_text
        assert "Signing in to" not in log_text

        # The user signs in again: the daemon keeps dev fresh again, still without a browser
        # of its own (the CLI's login uses the stand-in).
        done = cli("login", "dev", "--timeout", "60s", env={"BROWSER": STANDIN_BROWSER})
        assert done.returncode == 0, done.stderr
        wait_for(
            lambda: (
                (s := _status(cli))["sessions"][0]["status"] == "logged_in"
                and s["profiles"][0]["status"] == "fresh"
            ),
            "the daemon to keep dev fresh after the login",
            timeout=60,
        )
        assert history.signed_out_at(SESSION.cache_key) is None
        assert not calls.exists()
    finally:
        err = stop_daemon(proc, timeout=10)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
