"""The tray end to end on a real (virtual) desktop: Xvfb, trayer as the tray host, a D-Bus session
bus with dunst as notification server, clicks and keys from xdotool, the browser stand-in pressing
Allow on the emulator. Screenshots go to test-artifacts/tray/ (look at them).

The tray runs as a subprocess (`python -m aws_sso_tray.tray`), exactly as a user starts it; the
emulator runs in this process and the tray reaches it through AWS_ENDPOINT_URL_SSO/_OIDC.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest

from sso_helpers import STANDIN_BROWSER
from waiting import wait_for

if TYPE_CHECKING:
    from aws_sso_tray.emulator import Emulator
    from fixture_types import WriteConfig

pytestmark = pytest.mark.desktop

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "tray"
START_URL = "https://d-1234567890.awsapps.com/start"
CONFIG = f"""
[profile dev]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = ReadOnly
region = eu-west-1

[profile prod]
sso_session = corp
sso_account_id = 222222222222
sso_role_name = ReadOnly

[sso-session corp]
sso_start_url = {START_URL}
sso_region = us-east-1
sso_registration_scopes = sso:account:access
"""
TOOLS = ("Xvfb", "trayer", "xdotool", "import", "dbus-daemon", "dbus-run-session", "dunst")


def _missing() -> str | None:
    absent = [tool for tool in TOOLS if shutil.which(tool) is None]
    if absent:
        return (
            f"desktop stack missing ({', '.join(absent)}): apt-get install xvfb trayer xdotool "
            "x11-utils imagemagick dunst dbus"
        )
    try:
        import gi

        gi.require_version("Gtk", "3.0")
    except (ImportError, ValueError) as exc:
        return f"PyGObject/GTK 3 missing ({exc}): pip install 'aws-sso-tray[gtk]'"
    return None


@dataclass
class Desktop:
    env: dict[str, str]

    def run(self, *args: str, check: bool = True) -> str:
        done = subprocess.run(
            args, env=self.env, capture_output=True, text=True, timeout=20, check=False
        )
        if check and done.returncode != 0:
            raise AssertionError(f"{args}: {done.returncode} {done.stderr}")
        return done.stdout

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.run("import", "-window", "root", str(path))
        return path

    def panel(self) -> dict[str, int]:
        window = self.run("xdotool", "search", "--name", "^panel$").split()[0]
        shell = self.run("xdotool", "getwindowgeometry", "--shell", window)
        return {k: int(v) for k, v in (line.split("=") for line in shell.split()) if k != "SCREEN"}

    def click_icon(self, button: int = 3) -> None:
        g = self.panel()
        x, y = g["X"] + g["WIDTH"] // 2, g["Y"] + g["HEIGHT"] // 2
        self.run("xdotool", "mousemove", str(x), str(y), "click", str(button))

    def keys(self, *keys: str) -> None:
        for key in keys:
            self.run("xdotool", "key", key)
            time.sleep(0.15)


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            args, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def _display_answers(display: str) -> bool:
    probe = subprocess.run(
        ["xdotool", "getdisplaygeometry"],
        env={**os.environ, "DISPLAY": display},
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


def _came_up(xvfb: subprocess.Popen[bytes], display: str) -> bool:
    """True once `display` answers; False if Xvfb exits or is not up in 10 s (number taken)."""
    with contextlib.suppress(AssertionError):
        wait_for(
            lambda: xvfb.poll() is not None or _display_answers(display),
            f"Xvfb on {display}",
            10,
            interval=0.1,
        )
    return xvfb.poll() is None and _display_answers(display)


def _start_xvfb(screen: str) -> tuple[subprocess.Popen[bytes], str]:
    """Xvfb on a free display number well above the ones `-displayfd` users race for."""
    for _attempt in range(10):
        number = random.randint(100, 899)
        if Path(f"/tmp/.X{number}-lock").exists():
            continue
        display = f":{number}"
        xvfb = subprocess.Popen(
            ["Xvfb", display, "-screen", "0", screen, "-nolisten", "tcp"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if _came_up(xvfb, display):
            return xvfb, display
        _stop(xvfb)
    raise AssertionError("could not start Xvfb")


@pytest.fixture
def desktop(tmp_path: Path) -> Iterator[Desktop]:
    reason = _missing()
    if reason:
        pytest.skip(reason)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    for var in ("DBUS_SESSION_BUS_ADDRESS", "WAYLAND_DISPLAY", "PYSTRAY_BACKEND"):
        env.pop(var, None)
    logs = tmp_path / "desktop-logs"
    logs.mkdir()
    # trayer occasionally fails to map its panel on a loaded machine, and once its Xvfb was
    # gone right after answering (trayer and dunst: "cannot open display"): a second attempt
    # brings the whole desktop up again before calling it broken, and shows what trayer said.
    for attempt in (1, 2):
        processes: list[subprocess.Popen[bytes]] = []
        try:
            shell = _bring_up_desktop(env, logs, attempt, processes)
            if shell is not None:
                yield shell
                return
        finally:
            for process in reversed(processes):
                _stop(process)
    said = (logs / "trayer-2.log").read_text(errors="replace")[-2000:]
    raise AssertionError(f"trayer's panel never appeared; trayer said: {said}")


def _bring_up_desktop(
    base: dict[str, str], logs: Path, attempt: int, processes: list[subprocess.Popen[bytes]]
) -> Desktop | None:
    """Xvfb, a session bus, dunst and trayer (each appended to `processes` as it starts); the
    desktop once trayer's panel is mapped, None if it is not within 15 s."""
    env = dict(base)
    xvfb, env["DISPLAY"] = _start_xvfb("800x400x24")
    processes.append(xvfb)
    bus = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", "--nopidfile", "--print-address=1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    processes.append(bus)
    assert bus.stdout is not None
    env["DBUS_SESSION_BUS_ADDRESS"] = bus.stdout.readline().decode().strip()
    bus.stdout.close()
    processes.append(_start(["dunst"], env, logs / f"dunst-{attempt}.log"))
    trayer = [
        *("trayer", "--edge", "top", "--align", "right", "--widthtype", "request"),
        *("--height", "32", "--SetDockType", "true", "--transparent", "false"),
        *("--tint", "0x303030"),
    ]
    processes.append(_start(trayer, env, logs / f"trayer-{attempt}.log"))
    shell = Desktop(env)
    try:
        wait_for(lambda: _has_panel(shell), "trayer's panel to appear", 15, interval=0.2)
    except AssertionError:
        return None
    return shell


def _has_panel(shell: Desktop) -> bool:
    return bool(shell.run("xdotool", "search", "--name", "^panel$", check=False).strip())


class Tray:
    """The tray as a user starts it, in a subprocess on the test desktop."""

    def __init__(self, desktop: Desktop, env: dict[str, str], log: Path) -> None:
        self.log = log
        self.process = _start(
            [sys.executable, "-m", "aws_sso_tray.tray", "--debug"], {**desktop.env, **env}, log
        )

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_for_log(self, text: str, timeout: float = 15) -> None:
        wait_for(
            lambda: text in self.output() or self.process.poll() is not None,
            lambda: f"{text!r} in the tray's log:\n{self.output()}",
            timeout,
            interval=0.2,
        )
        assert text in self.output(), f"tray exited or never logged {text!r}:\n{self.output()}"

    def stop(self) -> None:
        _stop(self.process)


def _snapshot() -> Any:
    from aws_sso_tray.engine.statusfile import read_snapshot

    return read_snapshot()


def _panel_pixels(shell: Desktop, name: str) -> bytes:
    """The panel's pixels (where our icon sits), from a fresh screenshot."""
    from PIL import Image

    shot = shell.screenshot(name)
    g = shell.panel()
    with Image.open(shot) as image:
        pixels: bytes = image.crop(
            (g["X"], g["Y"], g["X"] + g["WIDTH"], g["Y"] + g["HEIGHT"])
        ).tobytes()
        return pixels


def test_tray_login_sync_and_quit_on_a_real_desktop(
    desktop: Desktop,
    aws_config: WriteConfig,
    emulator: Emulator,
    home: Path,
) -> None:
    aws_config(CONFIG)
    env = {
        "AWS_ENDPOINT_URL_SSO": emulator.url,
        "AWS_ENDPOINT_URL_SSO_OIDC": emulator.url,
        "BROWSER": STANDIN_BROWSER,
        "PYTHONUNBUFFERED": "1",
    }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = ARTIFACTS / "tray.log"
    log.write_text("")
    tray = Tray(desktop, env, log)
    try:
        before = _docks_before_login(desktop, tray)
        _logs_in_from_the_menu(desktop, before)
        _keeps_dev_fresh_from_its_submenu(desktop, home)
        _quits_from_the_menu(desktop, tray)
    finally:
        tray.stop()
    output = tray.output()
    for secret in emulator.issued_secrets():
        assert secret not in output


def _docks_before_login(desktop: Desktop, tray: Tray) -> bytes:
    """1. The icon docks in trayer (the panel grows to hold it) and the engine publishes.

    Returns the panel's pixels then, to compare with the icon after the login."""
    from aws_sso_tray.snapshot import SessionStatus

    first = _docked(tray, desktop)
    assert first.sessions[0].status is SessionStatus.NOT_SIGNED_IN  # a first run: no "expired"
    time.sleep(0.5)
    return _panel_pixels(desktop, "01-docked-login-needed")


def _logs_in_from_the_menu(desktop: Desktop, before: bytes) -> None:
    """2. The menu opens; under the session's line come its profiles, one click to log in.
    3. The browser stand-in presses Allow; the token lands where the AWS CLI reads it."""
    from aws_sso_tray.aws import tokens
    from aws_sso_tray.aws.profiles import SsoSession
    from aws_sso_tray.files import settings
    from aws_sso_tray.snapshot import SessionStatus

    desktop.click_icon()
    time.sleep(0.7)
    desktop.screenshot("02-menu-logged-out")
    desktop.keys("Down", "Down", "Return")  # "corp - not signed in" > "dev - log in"

    session = SsoSession("corp", START_URL, "us-east-1", ("sso:account:access",))
    wait_for(lambda: tokens.read_token(session), "the SSO token to be written", 30)
    wait_for(
        lambda: (s := _snapshot()) and s.sessions[0].status is SessionStatus.LOGGED_IN,
        "the engine to see the login",
        15,
    )
    assert settings.load_settings()[0].recent[:1] == ("dev",)
    time.sleep(1.0)
    after = _panel_pixels(desktop, "03-logged-in")
    assert after != before, "the icon did not change after the login"


def _keeps_dev_fresh_from_its_submenu(desktop: Desktop, home: Path) -> None:
    """4. dev is now a submenu; its first active entry is "Keep fresh in credentials [dev]"."""
    from aws_sso_tray.files import settings
    from aws_sso_tray.snapshot import ProfileStatus

    desktop.click_icon()
    time.sleep(0.7)
    desktop.keys("Down", "Down", "Right")
    time.sleep(0.3)
    desktop.screenshot("04-profile-submenu")
    desktop.keys("Return")
    wait_for(
        lambda: settings.load_settings()[0].sync_section("dev") == "dev",
        "the checkbox to add dev to auto_sync",
        10,
    )
    credentials = home / ".aws" / "credentials"
    wait_for(
        lambda: credentials.exists() and "[dev]" in credentials.read_text(),
        "the [dev] section in the credentials file",
        20,
    )
    assert "aws_access_key_id = ASIA" in credentials.read_text()
    wait_for(
        lambda: (s := _snapshot()) and s.profile("dev").status is ProfileStatus.FRESH,
        "dev to be fresh",
        15,
    )
    time.sleep(0.5)
    desktop.click_icon()
    time.sleep(0.7)
    desktop.screenshot("05-menu-synced")
    desktop.keys("Escape")
    time.sleep(0.3)


def _quits_from_the_menu(desktop: Desktop, tray: Tray) -> None:
    """5. Quit (the last entry) ends the process within a couple of seconds."""
    desktop.click_icon()
    time.sleep(0.7)
    desktop.keys("Up", "Return")
    code = tray.process.wait(timeout=30)
    assert code == 0, tray.output()
    assert "tray: stopped" in tray.output()
    desktop.screenshot("06-after-quit")


def test_sigterm_stops_the_tray_promptly(
    desktop: Desktop, aws_config: WriteConfig, tmp_path: Path
) -> None:
    aws_config(CONFIG)
    tray = Tray(desktop, {"PYTHONUNBUFFERED": "1"}, tmp_path / "tray.log")
    try:
        tray.wait_for_log("tray: icon shown")
        time.sleep(0.5)
        tray.process.send_signal(signal.SIGTERM)
        assert tray.process.wait(timeout=30) == 0, tray.output()
        assert "tray: stopped" in tray.output()
    finally:
        tray.stop()


def test_without_a_tray_host_it_says_what_to_install(aws_config: WriteConfig) -> None:
    reason = _missing()
    if reason:
        pytest.skip(reason)
    aws_config(CONFIG)
    env = {k: v for k, v in os.environ.items() if k not in ("PYSTRAY_BACKEND", "WAYLAND_DISPLAY")}
    xvfb, env["DISPLAY"] = _start_xvfb("640x200x24")
    try:
        done = subprocess.run(
            ["dbus-run-session", "--", sys.executable, "-m", "aws_sso_tray.tray"],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    finally:
        _stop(xvfb)
    assert done.returncode == 14, done.stderr
    assert "no system tray is running" in done.stderr
    assert "aws-sso-tray daemon" in done.stderr


def test_log_in_button_on_a_notification_starts_the_login(
    desktop: Desktop, aws_config: WriteConfig, emulator: Emulator, home: Path
) -> None:
    from aws_sso_tray.aws import tokens
    from aws_sso_tray.aws.profiles import SsoSession

    aws_config(CONFIG)
    settings_file = home / ".config" / "aws-sso-tray" / "settings.toml"
    settings_file.parent.mkdir(parents=True)
    # Kept fresh but never logged in, and no automatic browser: only the notice's button logs in.
    settings_file.write_text(
        'auto_login = false\n[[auto_sync]]\nprofile = "dev"\nsection = "dev"\n'
    )
    env = {
        "AWS_ENDPOINT_URL_SSO": emulator.url,
        "AWS_ENDPOINT_URL_SSO_OIDC": emulator.url,
        "BROWSER": STANDIN_BROWSER,
        "PYTHONUNBUFFERED": "1",
    }
    tray = Tray(desktop, env, home / "tray.log")
    session = SsoSession("corp", START_URL, "us-east-1", ("sso:account:access",))
    try:
        tray.wait_for_log("tray: icon shown")

        wait_for(
            lambda: desktop.run("dunstctl", "count", "displayed").strip() != "0",
            "a notice",
            15,
            interval=0.2,
        )
        desktop.screenshot("07-login-needed-notice")
        assert tokens.read_token(session) is None
        # What a click on the notice does in dunst: invoke its action over D-Bus.
        desktop.run("dunstctl", "action", "0")
        wait_for(lambda: tokens.read_token(session), "the login started from the notice", 30)
        tray.wait_for_log("you pressed Log in")
    finally:
        tray.stop()


def test_first_run_menu_opens_the_setup_page(desktop: Desktop, home: Path, tmp_path: Path) -> None:
    import urllib.request

    # No AWS config at all: the first entry is "Set up AWS SSO profiles…".
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.py"
    browser.write_text(
        f"import sys\nopen({str(opened)!r}, 'a', encoding='utf-8').write(sys.argv[1] + '\\n')\n"
    )
    env = {"BROWSER": f"{sys.executable} {browser} %s", "PYTHONUNBUFFERED": "1"}
    tray = Tray(desktop, env, tmp_path / "tray.log")
    try:
        tray.wait_for_log("tray: icon shown")
        wait_for(
            lambda: desktop.panel()["WIDTH"] >= 16,
            "the icon to dock in the panel",
            10,
            interval=0.2,
        )
        time.sleep(1.0)
        desktop.click_icon()
        time.sleep(0.7)
        desktop.screenshot("08-first-run-menu")
        desktop.keys("Down", "Return")
        url = cast(
            str,  # the condition's first truthy value: the file's text
            wait_for(
                lambda: opened.exists() and opened.read_text().strip(), "the setup page to open", 15
            ),
        )
        assert url.startswith("http://127.0.0.1:") and "/?t=" in url
        tray.wait_for_log("tray: configure page served")
        # a browser keeps the cookie the one-time link is exchanged for (pagelink)
        cookies = urllib.request.HTTPCookieProcessor()
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), cookies)
        with opener.open(url, timeout=10) as response:
            assert response.status == 200
            assert 'name="start_url"' in response.read().decode()
    finally:
        tray.stop()


def _docked(tray: Tray, desktop: Desktop, backend: str = "") -> Any:
    """The tray says its icon is shown (by `backend`, if given), the icon has docked in the
    panel (it grows to hold it), and the engine has published a first snapshot with sessions."""
    tray.wait_for_log(f"tray: icon shown ({backend} backend" if backend else "tray: icon shown")
    wait_for(
        lambda: desktop.panel()["WIDTH"] >= 16,
        "the icon to dock in the panel",
        10,
        interval=0.2,
    )
    return wait_for(lambda: (s := _snapshot()) and s.sessions and s, "a first snapshot", 15)


def _menu_shown(desktop: Desktop) -> bool:
    """A popup menu of the tray's is on screen (GTK names its window after the program)."""
    return '("__main__.py" "__main__.py")' in desktop.run("xwininfo", "-root", "-children")


def _write_settings(home: Path, text: str) -> None:
    settings_file = home / ".config" / "aws-sso-tray" / "settings.toml"
    settings_file.parent.mkdir(parents=True, exist_ok=True)
    settings_file.write_text(text)


# gtk with left_click = "menu"; appindicator with the default ("dashboard"), which it cannot
# honour: any click opens its menu, and that stays so.
@pytest.mark.parametrize(("backend", "left_click"), [("gtk", "menu"), ("appindicator", None)])
def test_a_left_click_opens_the_menu(
    desktop: Desktop,
    aws_config: WriteConfig,
    emulator: Emulator,
    home: Path,
    backend: str,
    left_click: str | None,
) -> None:
    from aws_sso_tray.aws import tokens
    from aws_sso_tray.aws.profiles import SsoSession

    aws_config(CONFIG)
    if left_click is not None:
        _write_settings(home, f'left_click = "{left_click}"\n')
    env = {
        "AWS_ENDPOINT_URL_SSO": emulator.url,
        "AWS_ENDPOINT_URL_SSO_OIDC": emulator.url,
        "BROWSER": STANDIN_BROWSER,
        "PYTHONUNBUFFERED": "1",
        "PYSTRAY_BACKEND": backend,
    }
    tray = Tray(desktop, env, ARTIFACTS / f"tray-left-click-{backend}.log")
    session = SsoSession("corp", START_URL, "us-east-1", ("sso:account:access",))
    try:
        _docked(tray, desktop, backend)
        time.sleep(1.0)
        desktop.click_icon(button=1)
        time.sleep(0.7)
        desktop.screenshot(f"09-left-click-menu-{backend}")
        assert _menu_shown(desktop)
        # The same menu as a right click: "corp - not logged in" > "dev - log in".
        desktop.keys("Down", "Down", "Return")
        wait_for(
            lambda: tokens.read_token(session), "the login picked from the left-click menu", 30
        )
    finally:
        tray.stop()


def test_a_left_click_opens_the_dashboard_by_default_and_the_menu_once_the_setting_says_so(
    desktop: Desktop, aws_config: WriteConfig, emulator: Emulator, home: Path, tmp_path: Path
) -> None:
    import urllib.request

    # The harness's own backend: trayer is an XEmbed host and no StatusNotifierItem watcher
    # runs, so the tray picks gtk (GtkStatusIcon), which hands the left click to pystray.
    aws_config(CONFIG)
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.py"
    browser.write_text(
        f"import sys\nopen({str(opened)!r}, 'a', encoding='utf-8').write(sys.argv[1] + '\\n')\n"
    )
    env = {
        "AWS_ENDPOINT_URL_SSO": emulator.url,
        "AWS_ENDPOINT_URL_SSO_OIDC": emulator.url,
        "BROWSER": f"{sys.executable} {browser} %s",
        "PYTHONUNBUFFERED": "1",
    }
    tray = Tray(desktop, env, ARTIFACTS / "tray-left-click-dashboard.log")
    try:
        _docked(tray, desktop, "gtk")
        assert "a left click opens the dashboard (gtk backend)" in tray.output()
        time.sleep(1.0)
        desktop.click_icon(button=1)
        url = cast(
            str,  # the condition's first truthy value: the file's text
            wait_for(
                lambda: opened.exists() and opened.read_text().strip(), "the dashboard to open", 15
            ),
        )
        assert url.startswith("http://127.0.0.1:") and "/?t=" in url
        assert "\n" not in url  # one click, one page (not the menu, not twice)
        desktop.screenshot("10-left-click-dashboard")
        assert not _menu_shown(desktop)  # the dashboard instead of the menu, not both
        # The link is the dashboard's (a browser exchanges it for the page's cookie).
        cookies = urllib.request.HTTPCookieProcessor()
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), cookies)
        with opener.open(url, timeout=10) as response:
            assert response.status == 200
            assert 'type="search"' in response.read().decode()
        # settings.toml says "menu" now: the next left click opens the menu, without a restart.
        _write_settings(home, 'left_click = "menu"\n')
        tray.wait_for_log("tray: left_click = 'menu': a left click now opens the menu")
        time.sleep(1.0)  # the rebuilt menu (no default entry) reaches GTK
        desktop.click_icon(button=1)
        time.sleep(0.7)
        desktop.screenshot("11-left-click-menu-after-the-setting")
        assert _menu_shown(desktop)
        desktop.keys("Escape")
        assert opened.read_text().count("\n") == 1  # and no second dashboard
    finally:
        tray.stop()


# The gtk backend's submenus (tray/gtkmenu), in a Python of their own on a bare Xvfb: real GTK
# widgets made by pystray, inspected and activated. Prints what it saw as JSON.
GTK_SUBMENUS = """
import json, os, sys
os.environ["PYSTRAY_BACKEND"] = "gtk"
import pystray
from PIL import Image
from aws_sso_tray.tray import gtkmenu

ran = []
def action(name):
    return lambda icon, item: ran.append(name)
def labels(menu):
    return [child.get_label() for child in menu.get_children()]
profile = pystray.Menu(
    pystray.MenuItem("123456789012 / Admin", None, enabled=False),
    pystray.MenuItem("Keep fresh", action("keep fresh"), checked=lambda item: True),
    pystray.MenuItem("More", pystray.Menu(pystray.MenuItem("Log out", action("log out")))),
)
menu = pystray.Menu(
    pystray.MenuItem("dev - logged in", profile),
    pystray.MenuItem("Open dashboard", action("dashboard"), default=True),
)
icon = pystray.Icon("gtkmenu-test", Image.new("RGBA", (16, 16)), "t", menu=menu)
seen = {"installed": gtkmenu.build_submenus_when_opened(icon, sys.argv[1])}
root = icon._create_menu(icon.menu)
dev, dashboard = root.get_children()
inner = dev.get_submenu()
seen["top"] = labels(root)
seen["bold"] = dashboard.get_child().get_label()
seen["before_open"] = labels(inner)
dev.emit("select")  # what GTK does when the entry is highlighted, before the submenu pops up
seen["opened"] = labels(inner)
seen["checked"] = inner.get_children()[1].get_active()
more = inner.get_children()[2]
seen["nested_before_open"] = labels(more.get_submenu())
dev.emit("select")  # highlighted again: nothing added twice
seen["opened_again"] = labels(inner)
more.emit("select")
seen["nested_opened"] = labels(more.get_submenu())
inner.get_children()[1].activate()
more.get_submenu().get_children()[0].activate()
seen["ran"] = ran
print(json.dumps(seen))
"""


@pytest.mark.parametrize("backend", ["gtk", "appindicator"])
def test_gtk_submenus_are_built_when_opened_and_work_as_pystray_built_them(backend: str) -> None:
    """gtk: a submenu is an empty GTK menu until its entry is highlighted, then holds pystray's
    own entries (labels, checkbox state, actions), nested ones in turn, once. appindicator
    (dbusmenu reads the whole tree): left as pystray builds it."""
    if shutil.which("Xvfb") is None:
        pytest.skip("needs Xvfb")
    xvfb, display = _start_xvfb("640x480x24")
    try:
        env = {k: v for k, v in os.environ.items() if k != "WAYLAND_DISPLAY"}
        done = subprocess.run(
            [sys.executable, "-c", GTK_SUBMENUS, backend],
            env={**env, "DISPLAY": display},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        _stop(xvfb)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    opened = ["123456789012 / Admin", "Keep fresh", "More"]
    assert seen["installed"] is (backend == "gtk")
    assert seen["top"] == ["dev - logged in", "<b>Open dashboard</b>"]
    assert seen["bold"] == "<b>Open dashboard</b>"
    assert seen["before_open"] == ([] if backend == "gtk" else opened)
    assert seen["nested_before_open"] == ([] if backend == "gtk" else ["Log out"])
    assert seen["opened"] == seen["opened_again"] == opened
    assert seen["nested_opened"] == ["Log out"]
    assert seen["checked"] is True
    assert seen["ran"] == ["keep fresh", "log out"]
