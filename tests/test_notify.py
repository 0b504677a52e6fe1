"""Notifications against a real notification server: dunst on Xvfb, on a private D-Bus bus.

The "Log in" button is pressed the way a person does it: dunst's context menu (`dunstctl
context`) runs its `dmenu` command, here a script that picks our action's line, and dunst itself
emits ActionInvoked from the connection owning org.freedesktop.Notifications. A signal sent from
any other connection would be dropped by the bus's match rule and by dbus-fast, so faking it
would prove nothing.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from aws_sso_tray.desktop.notify import Notice, Notifier
from waiting import wait_for

if TYPE_CHECKING:
    from aws_sso_tray.emulator import Emulator
    from fixture_types import WriteConfig

_TOOLS = ("Xvfb", "dunst", "dunstctl", "dbus-daemon", "dbus-monitor")

_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""  # no service directories: nothing is D-Bus-activated behind the test's back

_DUNSTRC = """[global]
    dmenu = {dmenu}
    browser = /bin/true
    show_indicators = no
[urgency_low]
    timeout = 0
[urgency_normal]
    timeout = 0
[urgency_critical]
    timeout = 0
"""

# Plays the person picking an entry in dunst's context menu: the line holding the text in `pick`.
_DMENU = """#!/bin/sh
cat > "{folder}/menu.txt"
grep -F -m1 -e "$(cat "{folder}/pick")" "{folder}/menu.txt"
"""


def _missing_tools() -> list[str]:
    return [tool for tool in _TOOLS if shutil.which(tool) is None]


needs_desktop = pytest.mark.skipif(
    bool(_missing_tools()) or sys.platform != "linux",
    reason=f"needs Linux with {', '.join(_TOOLS)} (Debian: xvfb dunst dbus dbus-x11); "
    f"missing: {', '.join(_missing_tools()) or 'none'}",
)


def _start_bus(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    folder.mkdir(parents=True, exist_ok=True)
    socket = folder / "bus"
    config = folder / "bus.conf"
    config.write_text(_BUS_CONFIG.format(socket=socket), encoding="utf-8")
    proc = subprocess.Popen(
        ["dbus-daemon", f"--config-file={config}", "--nofork", "--nopidfile", "--print-address=1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    # The address is printed once the bus accepts connections (the socket file appears earlier).
    assert proc.stdout is not None
    if not proc.stdout.readline().strip():
        raise AssertionError("dbus-daemon did not start")
    return proc, f"unix:path={socket}"


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=3)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


@dataclass
class Desktop:
    folder: Path
    env: dict[str, str]  # DISPLAY and DBUS_SESSION_BUS_ADDRESS of the private session

    def ctl(self, *args: str) -> str:
        return subprocess.run(
            ["dunstctl", *args], env=self.env, capture_output=True, text=True, check=True
        ).stdout

    def displayed(self) -> int:
        return int(self.ctl("count", "displayed").strip())

    def press(self, label: str, title: str) -> None:
        """Open dunst's context menu and pick `label` on the notice titled `title`."""
        (self.folder / "pick").write_text(f"#{label} ({title})", encoding="utf-8")
        self.ctl("context")


@pytest.fixture(scope="module")
def desktop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desktop]:
    folder = tmp_path_factory.mktemp("desktop")
    procs: list[subprocess.Popen[bytes]] = []
    try:
        # -displayfd: Xvfb picks a free display itself, so parallel test runs never collide.
        read_fd, write_fd = os.pipe()
        xvfb = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "640x480x24", "-nolisten", "tcp"],
            pass_fds=(write_fd,),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        procs.append(xvfb)
        os.close(write_fd)
        with os.fdopen(read_fd) as pipe:
            display = pipe.readline().strip()
        if not display:
            pytest.skip("Xvfb did not start")
        bus, address = _start_bus(folder / "bus")
        procs.append(bus)
        env = {
            **os.environ,
            "DISPLAY": f":{display}",
            "DBUS_SESSION_BUS_ADDRESS": address,
            "HOME": str(folder),
            "XDG_CONFIG_HOME": str(folder / "config"),
        }
        dmenu = folder / "dmenu.sh"
        dmenu.write_text(_DMENU.format(folder=folder), encoding="utf-8")
        dmenu.chmod(0o755)
        dunstrc = folder / "dunstrc"
        dunstrc.write_text(_DUNSTRC.format(dmenu=dmenu), encoding="utf-8")
        dunst_log = (folder / "dunst.log").open("wb")
        procs.append(
            subprocess.Popen(
                ["dunst", "-config", str(dunstrc)], env=env, stdout=dunst_log, stderr=dunst_log
            )
        )
        result = Desktop(folder, env)

        def dunst_answers() -> bool:
            return (
                subprocess.run(["dunstctl", "is-paused"], env=env, capture_output=True).returncode
                == 0
            )

        wait_for(dunst_answers, what="dunst on the private bus")
        yield result
    finally:
        for proc in reversed(procs):
            _stop(proc)


@pytest.fixture
def session(desktop: Desktop, monkeypatch: pytest.MonkeyPatch) -> Desktop:
    """The test's process talks to the private bus; the screen starts empty."""
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", desktop.env["DBUS_SESSION_BUS_ADDRESS"])
    monkeypatch.setenv("DISPLAY", desktop.env["DISPLAY"])
    desktop.ctl("close-all")
    wait_for(lambda: desktop.displayed() == 0, what="an empty screen")
    return desktop


@dataclass
class Call:
    member: str
    sender: str
    args: list[str]


class Monitor:
    """dbus-monitor on the Notifications interface, parsed into method calls and signals."""

    _HEADER = re.compile(r"^(method call|signal|method return|error) .*?sender=(\S+).*")
    _MEMBER = re.compile(r"member=(\w+)")
    _VALUE = re.compile(r'^\s+(?:string "(.*)"|uint32 (\d+)|int32 (-?\d+)|variant\s+byte (\d+))')

    def __init__(self, env: dict[str, str], path: Path) -> None:
        self.path = path
        self._out = path.open("wb")
        self.proc = subprocess.Popen(
            ["dbus-monitor", "--session", "interface=org.freedesktop.Notifications"],
            env=env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )
        # dbus-monitor prints NameLost once it has become a monitor: from then on nothing is missed.
        wait_for(lambda: "NameLost" in self.text(), what="dbus-monitor")

    def text(self) -> str:
        return self.path.read_text(encoding="utf-8", errors="replace")

    def calls(self, member: str | None = None) -> list[Call]:
        found: list[Call] = []
        current: Call | None = None
        for line in self.text().splitlines():
            header = self._HEADER.match(line)
            if header:
                name = self._MEMBER.search(line)
                current = Call(name.group(1) if name else header.group(1), header.group(2), [])
                found.append(current)
                continue
            value = self._VALUE.match(line)
            if value and current is not None:
                current.args.append(next(g for g in value.groups() if g is not None))
        return [c for c in found if member is None or c.member == member]

    def close(self) -> None:
        _stop(self.proc)
        self._out.close()


@pytest.fixture
def monitor(session: Desktop, tmp_path: Path) -> Iterator[Monitor]:
    mon = Monitor(session.env, tmp_path / "monitor.txt")
    try:
        yield mon
    finally:
        mon.close()


@pytest.fixture
def actions() -> Iterator[tuple[list[tuple[str, str]], threading.Event, Callable[[str], None]]]:
    got: list[tuple[str, str]] = []
    event = threading.Event()

    def on_action(key: str) -> None:
        got.append((key, threading.current_thread().name))
        event.set()

    yield got, event, on_action


@pytest.fixture
def notifier(
    session: Desktop, actions: tuple[list[tuple[str, str]], threading.Event, Callable[[str], None]]
) -> Iterator[Notifier]:
    n = Notifier(on_action=actions[2])
    n.start()
    try:
        yield n
    finally:
        n.stop()


def notify_calls_titled(monitor: Monitor, title: str) -> list[Call]:
    return [c for c in monitor.calls("Notify") if len(c.args) > 3 and c.args[3] == title]


# --- against the real server ---------------------------------------------------------------------


@pytest.mark.desktop
@needs_desktop
def test_notice_arrives_with_app_name_summary_body_action_and_urgency(
    notifier: Notifier, monitor: Monitor, session: Desktop
) -> None:
    assert notifier.available, notifier.unavailable_reason
    notifier.send(
        Notice("ending:corp", "Session ends soon", "corp ends in 15 m", "Log in", "critical")
    )
    wait_for(lambda: notify_calls_titled(monitor, "Session ends soon"), what="Notify")
    (call,) = notify_calls_titled(monitor, "Session ends soon")
    app_name, _replaces, _icon, summary, body, *rest = call.args
    assert (app_name, summary, body) == ("aws-sso-tray", "Session ends soon", "corp ends in 15 m")
    assert "Log in" in rest
    assert rest[rest.index("Log in") - 1] == "action"  # the action key paired with its label
    assert rest[-2:] == ["2", "-1"]  # urgency critical, server's default timeout
    wait_for(lambda: session.displayed() == 1, what="dunst to show it")


@pytest.mark.desktop
@needs_desktop
def test_pressing_the_button_calls_on_action_with_the_key_on_the_notifier_thread(
    notifier: Notifier,
    monitor: Monitor,
    session: Desktop,
    actions: tuple[list[tuple[str, str]], threading.Event, Callable[[str], None]],
) -> None:
    got, event, _ = actions
    notifier.send(Notice("ending:corp", "Press me", "corp ends in 15 m", "Log in"))
    wait_for(lambda: session.displayed() == 1, what="dunst to show it")
    session.press("Log in", "Press me")
    assert event.wait(5), f"on_action not called; dunst's menu was {session.folder / 'menu.txt'}"
    assert got == [("ending:corp", "notifier")]
    # It really came from the server: ActionInvoked sent by the name's owner, our action key.
    wait_for(lambda: monitor.calls("ActionInvoked"), what="dbus-monitor to log ActionInvoked")
    (signal,) = monitor.calls("ActionInvoked")
    assert signal.args[1] == "action"
    owner = monitor.calls("Notify")[0]
    assert signal.sender != owner.sender  # the server, not our own connection


@pytest.mark.desktop
@needs_desktop
def test_clicking_the_body_of_a_notice_with_a_button_is_its_action(
    notifier: Notifier,
    session: Desktop,
    monitor: Monitor,
    actions: tuple[list[tuple[str, str]], threading.Event, Callable[[str], None]],
) -> None:
    got, event, _ = actions
    notifier.send(Notice("plain", "Just so you know", "credentials refreshed"))
    wait_for(lambda: session.displayed() == 1)
    session.ctl("action", "0")  # dunst invokes the notice's "default" action (a body click)
    wait_for(lambda: monitor.calls("ActionInvoked"), what="dunst to invoke the default action")
    assert monitor.calls("ActionInvoked")[0].args[1] == "default"
    time.sleep(0.2)  # the notifier thread has handled the signal by now
    assert got == []  # nothing to do for a notice without a button
    session.ctl("close-all")
    wait_for(lambda: session.displayed() == 0)

    notifier.send(Notice("expired:corp", "Session ended", "log in again", "Log in"))
    wait_for(lambda: session.displayed() == 1)
    session.ctl("action", "0")
    assert event.wait(5)
    assert got == [("expired:corp", "notifier")]


@pytest.mark.desktop
@needs_desktop
def test_same_key_replaces_other_keys_stack(
    notifier: Notifier, monitor: Monitor, session: Desktop
) -> None:
    notifier.send(Notice("ending:corp", "Ends soon", "in 15 m", "Log in"))
    wait_for(lambda: session.displayed() == 1)
    notifier.send(Notice("ending:corp", "Ends soon", "in 5 m", "Log in"))
    wait_for(lambda: len(notify_calls_titled(monitor, "Ends soon")) == 2, what="second Notify")
    wait_for(lambda: monitor.calls("CloseNotification"), what="the first one closed")
    time.sleep(0.1)
    assert session.displayed() == 1
    notifier.send(Notice("ending:dev", "Dev ends soon", "in 5 m"))
    wait_for(lambda: session.displayed() == 2, what="a second notice beside the first")
    assert len(monitor.calls("CloseNotification")) == 1

    # Back to back, from another thread, without waiting: still replaced, not stacked.
    def send_three() -> None:
        for i in range(3):
            notifier.send(Notice("ending:dev", "Dev ends", f"{i}"))

    sender = threading.Thread(target=send_three)
    sender.start()
    sender.join()
    wait_for(lambda: len(notify_calls_titled(monitor, "Dev ends")) == 3, what="three Notify")
    wait_for(lambda: len(monitor.calls("CloseNotification")) == 4, what="three replacements")
    assert session.displayed() == 2


@pytest.mark.desktop
@needs_desktop
def test_disabled_notifier_logs_and_shows_nothing(
    notifier: Notifier, monitor: Monitor, caplog: pytest.LogCaptureFixture
) -> None:
    quiet = Notifier(enabled=False)
    quiet.start()
    try:
        with caplog.at_level(logging.INFO, logger="aws_sso_tray.desktop.notify"):
            quiet.send(Notice("k", "Quiet title", "quiet body"))
    finally:
        quiet.stop()
    assert any("Quiet title: quiet body" in r.getMessage() for r in caplog.records)
    # A marker sent afterwards arrives; the disabled one never did.
    notifier.send(Notice("marker", "Marker", "after"))
    wait_for(lambda: notify_calls_titled(monitor, "Marker"), what="the marker")
    assert notify_calls_titled(monitor, "Quiet title") == []


@pytest.mark.desktop
@needs_desktop
def test_stop_is_quick_and_closes_notices_whose_button_would_be_dead(
    session: Desktop, monitor: Monitor
) -> None:
    n = Notifier()
    n.start()
    n.send(Notice("a", "With button", "x", "Log in"))
    n.send(Notice("b", "Without button", "y"))
    wait_for(lambda: session.displayed() == 2)
    n.stop()  # bounded by notify.STOP_TIMEOUT; how fast is for benchmarks, not a busy CI
    wait_for(lambda: session.displayed() == 1, what="the notice with a button to close")
    assert len(monitor.calls("CloseNotification")) == 1
    with contextlib.suppress(Exception):
        n.send(Notice("c", "After stop", "z"))  # must not raise either way
    assert not n.available


@pytest.mark.desktop
@needs_desktop
def test_a_failing_action_handler_does_not_stop_the_notifier(
    session: Desktop, monitor: Monitor, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(key: str) -> None:
        raise RuntimeError("bug in the engine")

    n = Notifier(on_action=broken)
    n.start()
    try:
        n.send(Notice("k", "Boom", "x", "Log in"))
        wait_for(lambda: session.displayed() == 1)
        with caplog.at_level(logging.ERROR, logger="aws_sso_tray.desktop.notify"):
            session.press("Log in", "Boom")
            wait_for(lambda: any("action handler" in r.getMessage() for r in caplog.records))
        n.send(Notice("k2", "Still alive", "y"))
        wait_for(lambda: notify_calls_titled(monitor, "Still alive"), what="a later notice")
    finally:
        n.stop()


# --- where there is no notification server -------------------------------------------------------


def _assert_logged_not_raised(
    n: Notifier, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    with caplog.at_level(logging.DEBUG):
        n.send(Notice("k", "Session ended", "log in again", "Log in"))
        time.sleep(0.1)  # anything sent to a loop would have failed by now
    logged = [r for r in caplog.records if r.name == "aws_sso_tray.desktop.notify"]
    assert any(
        r.levelno == logging.INFO and "Session ended: log in again" in r.getMessage()
        for r in logged
    )
    assert not any(r.exc_info for r in caplog.records), "no traceback anywhere"
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out


def test_no_session_bus_logs_instead_and_never_raises(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path / 'no-such-bus'}")
    monkeypatch.delenv("DISPLAY", raising=False)
    n = Notifier()
    with caplog.at_level(logging.INFO):
        n.start()
    try:
        assert n.available is False
        assert "D-Bus" in (n.unavailable_reason or "")
        _assert_logged_not_raised(n, caplog, capsys)
    finally:
        n.stop()


def test_not_started_logs_instead(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    n = Notifier()
    assert n.available is False
    _assert_logged_not_raised(n, caplog, capsys)
    n.stop()  # harmless


@pytest.mark.desktop
@pytest.mark.skipif(shutil.which("dbus-daemon") is None, reason="needs dbus-daemon (Debian: dbus)")
def test_bus_without_notification_service_logs_instead(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bus, address = _start_bus(tmp_path / "bare-bus")
    try:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
        n = Notifier()
        n.start()
        try:
            assert n.available is False
            assert "no notification service" in (n.unavailable_reason or "")
            _assert_logged_not_raised(n, caplog, capsys)
        finally:
            n.stop()
    finally:
        _stop(bus)


def test_import_is_light() -> None:
    code = (
        "import sys, aws_sso_tray.desktop.notify; "
        "print(sorted(m for m in ('desktop_notifier', 'dbus_fast') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


@pytest.mark.desktop
@needs_desktop
def test_a_sign_in_withdraws_the_ends_soon_notice_from_the_screen(
    notifier: Notifier,
    monitor: Monitor,
    session: Desktop,
    emulator: Emulator,
    aws_config: WriteConfig,
) -> None:
    """The engine and the real notifier on dunst: "ends soon" is up, the user signs in again
    (in a terminal: the engine only sees the files change), and the notice goes away."""
    from datetime import timedelta

    from aws_sso_tray import clock
    from aws_sso_tray.aws.profiles import SsoSession
    from aws_sso_tray.engine.options import EngineOptions
    from aws_sso_tray.engine.worker import Engine
    from aws_sso_tray.files import settings
    from aws_sso_tray.login import history
    from sso_helpers import device_login, session_config

    corp = SsoSession(
        "corp", "https://d-1234567890.awsapps.com/start", "us-east-1", ("sso:account:access",)
    )
    aws_config(session_config(corp, "dev", "111111111111", "ReadOnly"))
    settings.add_auto_sync("dev")
    session_ttl = emulator.config.session_ttl
    emulator.config.session_ttl = 600  # the session ends in 10 minutes...
    device_login(emulator, corp)
    emulator.config.session_ttl = session_ttl
    started = clock.now() - timedelta(hours=7, minutes=50)  # of an 8 h session
    history.record_login(corp.cache_key, history.SessionRecord(started, corp.start_url, "device"))
    options = EngineOptions(watch_interval=0, env={}, publish_file=False)
    engine = Engine(notifier=notifier, options=options)
    engine.tick()
    wait_for(lambda: notify_calls_titled(monitor, "SSO session corp ends soon"), "ends soon", 10)
    wait_for(lambda: session.displayed() == 1, what="dunst to show it")

    device_login(emulator, corp)  # `aws-sso-tray login dev` in a terminal
    history.record_login(
        corp.cache_key, history.SessionRecord(clock.now(), corp.start_url, "device")
    )
    engine.tick()
    wait_for(lambda: monitor.calls("CloseNotification"), "the ends-soon notice closed", 10)
    wait_for(lambda: notify_calls_titled(monitor, "Signed in to corp"), "signed in", 10)
    wait_for(lambda: session.displayed() == 1, what="only the signed-in notice on screen")
    shown = session.ctl("history")
    assert "ends soon" in shown  # it was shown, then taken down (dunst keeps it in history)


# The start-up bus check in a process of its own: with GIO already loaded (the tray, where GTK
# loaded it) or not (the daemon). Prints the check's answer and whether dbus-fast was loaded.
_PROBE = """
import asyncio, sys
{preload}
from aws_sso_tray.desktop import notify
print(asyncio.run(notify._notification_service_problem()))
print("dbus_fast" in sys.modules)
"""


def _probe(address: str, *, gio: bool) -> tuple[str, bool]:
    code = _PROBE.format(preload="from gi.repository import Gio" if gio else "")
    env = {**os.environ, "DBUS_SESSION_BUS_ADDRESS": address}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    answer, loaded = done.stdout.splitlines()
    return answer, loaded == "True"


def _assert_same_answers_and_no_dbus_fast_with_gio(address: str) -> None:
    by_dbus_fast, loaded = _probe(address, gio=False)
    by_gio, loaded_with_gio = _probe(address, gio=True)
    assert loaded and not loaded_with_gio
    # The same words; only the library's own detail in parentheses differs.
    assert by_gio.split(" (")[0] == by_dbus_fast.split(" (")[0], (by_gio, by_dbus_fast)


@pytest.mark.desktop
@pytest.mark.skipif(shutil.which("dbus-daemon") is None, reason="needs dbus-daemon (Debian: dbus)")
def test_the_bus_check_through_gio_answers_as_dbus_fast_without_loading_it(
    tmp_path: Path,
) -> None:
    bus, address = _start_bus(tmp_path / "bare-bus")
    try:
        _assert_same_answers_and_no_dbus_fast_with_gio(address)  # no notification service
    finally:
        _stop(bus)
    _assert_same_answers_and_no_dbus_fast_with_gio(f"unix:path={tmp_path / 'no-such-bus'}")


@pytest.mark.desktop
@needs_desktop
def test_the_bus_check_through_gio_finds_the_notification_server(desktop: Desktop) -> None:
    _assert_same_answers_and_no_dbus_fast_with_gio(desktop.env["DBUS_SESSION_BUS_ADDRESS"])
    assert _probe(desktop.env["DBUS_SESSION_BUS_ADDRESS"], gio=True)[0] == "None"
