"""Choosing the tray backend: never xorg by accident, never a dead icon, clear advice otherwise."""

from __future__ import annotations

import dataclasses
import logging

import pytest

from aws_sso_tray.errors import ExitCode, NoTrayError
from aws_sso_tray.tray.backend import Facts, TrayBackend, choose_backend, decide, panel_wait

LINUX = Facts(
    platform="linux",
    forced=None,
    display=True,
    wayland=False,
    gi_problem=None,
    appindicator=True,
    sni_watcher=False,
    xembed_host=False,
)


def facts(**changes: object) -> Facts:
    return dataclasses.replace(LINUX, **changes)  # type: ignore[arg-type]


def test_status_notifier_host_uses_appindicator() -> None:
    assert decide(facts(sni_watcher=True)).name == "appindicator"
    assert decide(facts(sni_watcher=True, xembed_host=True)).name == "appindicator"
    assert decide(facts(sni_watcher=True, display=False, wayland=True)).name == "appindicator"


def test_xembed_tray_uses_gtk() -> None:
    assert decide(facts(xembed_host=True)).name == "gtk"
    # SNI host without the AppIndicator typelib, but an XEmbed tray too: GTK still shows.
    assert decide(facts(xembed_host=True, sni_watcher=True, appindicator=False)).name == "gtk"


def test_native_platforms() -> None:
    assert decide(facts(platform="win32", gi_problem="no gi")).name == "win32"
    assert decide(facts(platform="darwin", display=False)).name == "darwin"


def test_user_choice_wins_but_xorg_is_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    assert decide(facts(forced="gtk")) == TrayBackend("gtk", "PYSTRAY_BACKEND")
    with caplog.at_level(logging.WARNING):
        assert decide(facts(forced="xorg")).name == "xorg"
    assert "no menu" in caplog.text


@pytest.mark.parametrize(
    ("changes", "advice"),
    [
        ({}, "gnome-shell-extension-appindicator"),
        ({"display": False}, "DISPLAY and WAYLAND_DISPLAY are unset"),
        ({"gi_problem": "PyGObject is not installed"}, "pip install 'aws-sso-tray[gtk]'"),
        ({"gi_problem": "x"}, "python3-gi"),
        ({"sni_watcher": True, "appindicator": False}, "gir1.2-ayatanaappindicator3-0.1"),
        # Wayland only: GtkStatusIcon cannot show there, an XEmbed tray is no use.
        ({"display": False, "wayland": True, "xembed_host": True}, "AppIndicator extension"),
    ],
)
def test_no_usable_tray_says_what_to_install(changes: dict[str, object], advice: str) -> None:
    with pytest.raises(NoTrayError) as raised:
        decide(facts(**changes))
    assert advice in raised.value.message
    assert "aws-sso-tray daemon" in raised.value.message
    assert raised.value.exit_code == ExitCode.NO_TRAY
    assert "\n" not in raised.value.message


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def clock(self) -> float:
        return self.now


def test_autostart_waits_for_the_panel_to_appear() -> None:
    time = FakeTime()

    def probe() -> Facts:
        return facts(xembed_host=time.now >= 7)  # the panel starts 7 s after us

    backend = choose_backend(wait=30, probe_facts=probe, sleep=time.sleep, clock=time.clock)
    assert backend.name == "gtk"
    assert 7 <= time.now < 9


def test_autostart_gives_up_after_the_wait_and_a_missing_library_fails_at_once() -> None:
    time = FakeTime()
    with pytest.raises(NoTrayError):
        choose_backend(wait=20, probe_facts=lambda: facts(), sleep=time.sleep, clock=time.clock)
    assert 20 <= time.now < 22
    time = FakeTime()
    with pytest.raises(NoTrayError):
        choose_backend(
            wait=20,
            probe_facts=lambda: facts(gi_problem="PyGObject is not installed"),
            sleep=time.sleep,
            clock=time.clock,
        )
    assert time.now == 0


def test_panel_wait_only_when_autostarted() -> None:
    assert panel_wait(False, {}) == 0
    assert panel_wait(True, {}) == 90
    assert panel_wait(True, {"AWS_SSO_TRAY_PANEL_WAIT": "3"}) == 3


def test_xembed_probe_needs_no_python_xlib() -> None:
    # libX11 through ctypes: python-xlib would stay loaded (3 MB, ~40 modules) for the tray's life.
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from aws_sso_tray.tray.backend import _xembed_host_running\n"
        "print(_xembed_host_running(':987654'), _xembed_host_running(None), 'Xlib' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.split() == ["False", "False", "False"]
