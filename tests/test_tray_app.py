"""The tray's "Set up AWS SSO profiles…" entry without a display: the real configure page on
127.0.0.1, the real browser sign-in on the emulator, the real AWS config written; the action
table; and the tray's imports (only the facade below it).

Only the engine is a stand-in (the tray's edge: it records `wake`), and pystray is never
imported: TrayApp without `run()` has no icon, so its view updates only rebuild the menu model.
"""

from __future__ import annotations

import ast
import re
import shlex
import sys
import threading
import types
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from aws_sso_tray.api import EngineControl, NoticeSink, now
from aws_sso_tray.snapshot import Snapshot
from aws_sso_tray.tray.app import TrayApp
from aws_sso_tray.tray.backend import TrayBackend
from aws_sso_tray.tray.menu import Action, ActionKind, find_entry
from pagefetch import Browser, fetch, form_token
from test_cli import CONFIG, CREDENTIALS
from waiting import wait_for

if TYPE_CHECKING:
    from aws_sso_tray.api import Notice
    from aws_sso_tray.emulator import Emulator
    from fixture_types import WriteConfig

START_URL = "https://d-1234567890.awsapps.com/start"

# A $BROWSER that records every URL it is asked to open; the emulator's sign-in pages go on to
# the project's browser stand-in (which presses Allow), the configure page is only recorded
# (the test plays the person on it).
ROUTER = """
import subprocess, sys
url = sys.argv[1]
with open(sys.argv[2], "a", encoding="utf-8") as log:
    log.write(url + "\\n")
if "/?t=" not in url:
    subprocess.run([sys.executable, "-m", "aws_sso_tray.emulator.browser", url], check=True)
"""


class FakeEngine:
    """What the tray needs of the engine (`api.EngineControl`; mypy checks it where `make_app`
    hands it to TrayApp); `wake` is what the configure entry must call."""

    snapshot: Snapshot
    woken: threading.Event
    refreshed: list[str | None]
    logins: list[tuple[str, str | None]]
    login_result: bool

    def __init__(self) -> None:
        self.snapshot = Snapshot(taken_at=now())
        self.woken = threading.Event()
        self.refreshed = []
        self.logins = []
        self.login_result = True

    def start(self) -> None:
        pass

    def stop(self, timeout: float = 1.5) -> bool:
        return True

    def subscribe(self, callback: Callable[[Snapshot], None]) -> Callable[[], None]:
        return lambda: None

    def refresh_now(self, profile: str | None = None) -> None:
        self.refreshed.append(profile)

    def login(self, session_key: str, *, reason: str | None = None) -> bool:
        self.logins.append((session_key, reason))
        return self.login_result

    def wake(self) -> None:
        self.woken.set()


class RecordingNotifier:
    """The tray's notice sink (`api.NoticeSink`), keeping what was sent."""

    def __init__(self) -> None:
        self.sent: list[Notice] = []

    def send(self, notice: Notice) -> None:
        self.sent.append(notice)


@pytest.fixture
def opened(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], list[str]]:
    """Install the router as $BROWSER; returns a reader of the URLs it was asked to open."""
    script, log = tmp_path / "router.py", tmp_path / "opened.txt"
    script.write_text(ROUTER)
    log.touch()
    command = f"{shlex.quote(sys.executable)} {shlex.quote(str(script))} %s {shlex.quote(str(log))}"
    monkeypatch.setenv("BROWSER", command)
    return lambda: log.read_text().split()


def make_app(engine: EngineControl, notifier: RecordingNotifier | None = None) -> TrayApp:
    backend = TrayBackend("gtk", "none (test)")
    return TrayApp(engine, types.ModuleType("pystray"), backend, notifier=notifier)


_FAKE_IS_AN_ENGINE: type[EngineControl] = FakeEngine  # mypy: the fake keeps to the protocol
_RECORDER_IS_A_SINK: type[NoticeSink] = RecordingNotifier  # and the notifier to the tray's


# --- the action table --------------------------------------------------------------------------


def test_every_action_kind_has_a_handler_on_the_app(home: Path) -> None:
    app = make_app(FakeEngine())
    assert set(app.handlers) == set(ActionKind)  # a new kind cannot be forgotten
    for kind, handler in app.handlers.items():
        assert getattr(handler, "__self__", None) is app, kind  # a bound method of this app


def test_perform_runs_the_handler_of_the_action_kind(home: Path) -> None:
    engine, notifier = FakeEngine(), RecordingNotifier()
    app = make_app(engine, notifier)
    app.perform(Action(ActionKind.REFRESH_ALL))
    assert engine.refreshed == [None]

    engine.login_result = False  # a sign-in for the session is already open
    app.perform(Action(ActionKind.LOGIN, "corp"))
    assert engine.logins == [("corp", "you picked Log in in the tray")]
    assert [n.key for n in notifier.sent] == ["tray:login-busy:corp"]

    app.perform(Action(ActionKind.QUIT))
    assert app.stop_event.is_set()


def test_keep_fresh_from_the_tray_is_refused_as_from_the_cli(
    home: Path, aws_config: WriteConfig
) -> None:
    aws_config(CONFIG)
    credentials = home / ".aws" / "credentials"
    credentials.write_text(CREDENTIALS)  # [default] holds the user's own long-term keys
    credentials.chmod(0o600)
    engine, notifier = FakeEngine(), RecordingNotifier()
    app = make_app(engine, notifier)
    app.dispatch(Action(ActionKind.TOGGLE_SYNC, "dev", section="default"))
    wait_for(lambda: notifier.sent, "the refusal as a notice")
    assert [n.key for n in notifier.sent] == ["tray:toggle_sync"]
    assert "long-term" in notifier.sent[0].message
    assert credentials.read_text() == CREDENTIALS
    assert app._settings.sync_section("dev") is None

    app.perform(Action(ActionKind.TOGGLE_SYNC, "dev", section="dev"))
    assert app._settings.sync_section("dev") == "dev"
    app.perform(Action(ActionKind.TOGGLE_SYNC, "dev", section="dev"))  # on, then off again
    assert app._settings.sync_section("dev") is None
    assert engine.refreshed == ["dev", "dev"]


# --- the tray keeps to the facade --------------------------------------------------------------

ALLOWED_BELOW_THE_TRAY = ("aws_sso_tray.api", "aws_sso_tray.snapshot", "aws_sso_tray.errors")


def _package_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] if node.module != "aws_sso_tray" else []
            names += [f"aws_sso_tray.{a.name}" for a in node.names if node.module == "aws_sso_tray"]
            found.update(n for n in names if n.startswith("aws_sso_tray"))
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("aws_sso_tray"))
    return found


def test_setup_entry_serves_the_page_off_the_ui_thread_and_wakes_the_engine(
    emulator: Emulator, home: Path, opened: Callable[[], list[str]]
) -> None:
    engine = FakeEngine()
    app = make_app(engine)
    entries = app._build(engine.snapshot)
    assert entries[0].label == "Set up AWS SSO profiles…"
    action = entries[0].action
    assert action == Action(ActionKind.CONFIGURE)

    ran_on: list[str] = []
    perform = app.perform

    def spy(action: Action) -> None:
        ran_on.append(threading.current_thread().name)
        perform(action)

    app.perform = spy  # type: ignore[method-assign]
    app.dispatch(action)  # what a click does, on the UI thread
    url = wait_for(lambda: next(iter(opened()), ""), "the configure page to open", timeout=10)
    assert url.startswith("http://127.0.0.1:") and "/?t=" in url
    assert ran_on == ["tray-configure"] != [threading.current_thread().name]  # not the UI thread
    page = app._configure_page
    assert page is not None and page.url == url
    menu_now = app._build(engine.snapshot)
    assert menu_now[0].label == "Show the setup page again"

    # A second click opens the same page again with a fresh one-time link: no second server.
    app.dispatch(menu_now[0].action)  # type: ignore[arg-type]
    wait_for(lambda: len(opened()) == 2, "the page to be opened again", timeout=10)
    again = opened()[1]
    assert again != url and again.startswith(page.base_url + "/?t=")
    assert app._configure_page is page

    # The person fills in the page; the sign-in runs in the browser (stand-in: Allow).
    browser = Browser()
    assert browser.get(url)[0] == 403  # the first link was replaced by the second one
    status, body = browser.get(again)
    assert status == 200, body
    base, csrf = page.base_url, form_token(body)
    form = {"start_url": START_URL, "region": "us-east-1", "token": csrf}
    assert browser.post(base + "/start", form)[0] == 303

    def role_list() -> str:  # "" until the role list shows
        body = browser.get(base + "/")[1]
        return body if "Choose profiles" in body else ""

    body = wait_for(role_list, "the role list", timeout=30)
    roles = re.findall(r'name="role" value="([^"]+)"', body)
    assert roles
    assert not engine.woken.is_set()
    assert browser.post(base + "/write", {"role": roles[:1], "token": csrf})[0] == 303

    assert engine.woken.wait(10), "the engine was not woken after the profiles were written"
    assert "[profile " in (home / ".aws" / "config").read_text()
    wait_for(lambda: app._configure_page is None, "the page to be forgotten", timeout=5)
    after = app._build(engine.snapshot)
    assert find_entry(after, "Set up AWS SSO profiles…") is not None
    assert any(u != url for u in opened())  # the sign-in page went to the browser too


def test_quitting_closes_an_open_setup_page(home: Path, opened: Callable[[], list[str]]) -> None:
    engine = FakeEngine()
    app = make_app(engine)
    app.dispatch(Action(ActionKind.CONFIGURE))
    url = wait_for(lambda: next(iter(opened()), ""), "the configure page to open", timeout=10)
    assert Browser().get(url)[0] == 200
    app._shutdown()  # what run() does once the icon's loop returned
    wait_for(lambda: app._configure_page is None, "the configure worker to finish", timeout=5)
    assert not engine.woken.is_set()  # nothing written: nothing to show
    with pytest.raises(urllib.error.URLError):
        fetch(url)


# --- a left click opens the menu (gtk and appindicator: tests/test_tray_desktop.py, for real) ----


class _Win32IconInternals:
    """pystray 0.19's win32 Icon as far as `left_click_opens_menu` touches it (this machine
    cannot run the win32 backend): a message-handler table whose WM_NOTIFY entry is
    `_on_notify`, which shows the menu for WM_RBUTTONUP and activates for WM_LBUTTONUP."""

    WM_NOTIFY, WM_LBUTTONUP, WM_RBUTTONUP = 0x0401 + 4, 0x0202, 0x0205

    def __init__(self) -> None:
        self.seen: list[int] = []
        self._message_handlers = {0x0401 + 3: lambda _w, _l: 0, self.WM_NOTIFY: self._on_notify}

    def _on_notify(self, wparam: int, lparam: int) -> int:
        self.seen.append(lparam)
        return 0

    def deliver(self, message: int, lparam: int) -> None:  # what pystray's window procedure does
        self._message_handlers.get(message, lambda _w, _l: 0)(0, lparam)


def test_win32_left_click_is_handled_as_the_right_click_that_shows_the_menu() -> None:
    from aws_sso_tray.tray.app import left_click_opens_menu

    icon = _Win32IconInternals()
    assert left_click_opens_menu(icon, "win32")
    icon.deliver(icon.WM_NOTIFY, icon.WM_LBUTTONUP)
    icon.deliver(icon.WM_NOTIFY, icon.WM_RBUTTONUP)
    icon.deliver(icon.WM_NOTIFY, 0x0200)  # mouse move: passed on as it is
    assert icon.seen == [icon.WM_RBUTTONUP, icon.WM_RBUTTONUP, 0x0200]


def test_win32_left_click_opens_the_menu_only_while_the_setting_says_so() -> None:
    """`when` is asked at each click: left_click switched in settings.toml applies at once."""
    from aws_sso_tray.tray.app import left_click_opens_menu

    icon = _Win32IconInternals()
    menu_wanted = [False]
    assert left_click_opens_menu(icon, "win32", when=lambda: menu_wanted[0])
    icon.deliver(icon.WM_NOTIFY, icon.WM_LBUTTONUP)  # pystray's: activates the default entry
    menu_wanted[0] = True
    icon.deliver(icon.WM_NOTIFY, icon.WM_LBUTTONUP)
    icon.deliver(icon.WM_NOTIFY, icon.WM_RBUTTONUP)
    assert icon.seen == [icon.WM_LBUTTONUP, icon.WM_RBUTTONUP, icon.WM_RBUTTONUP]


def test_a_pystray_without_the_internals_keeps_its_left_click_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from aws_sso_tray.tray.app import left_click_opens_menu

    caplog.set_level("WARNING")
    assert not left_click_opens_menu(types.SimpleNamespace(), "gtk")
    assert not left_click_opens_menu(types.SimpleNamespace(), "win32")
    assert "left click" in caplog.text
    assert left_click_opens_menu(types.SimpleNamespace(), "appindicator")  # opens it itself


def test_the_left_click_runs_the_default_entry_only_where_pystray_hands_it_over(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from aws_sso_tray.tray.app import left_click_runs_default

    caplog.set_level("DEBUG", logger="aws_sso_tray.tray.app")
    for backend in ("gtk", "xorg", "win32"):
        assert left_click_runs_default(backend, "dashboard")
        assert not left_click_runs_default(backend, "menu")
    for backend in ("appindicator", "darwin"):  # any click opens the menu there
        assert not left_click_runs_default(backend, "dashboard")
    assert "darwin opens the menu on any click; left_click = 'dashboard' has no effect" in (
        caplog.text
    )


# --- the console entries (issue 14 §1) ---------------------------------------------------------

CONSOLE_LINK = "https://corp.awsapps.com/start/#/console?account_id=111111111111&role_name=ReadOnly"


def test_open_console_runs_the_profiles_browser_command_and_notes_it_as_recent(
    home: Path, aws_config: WriteConfig, tmp_path: Path
) -> None:
    aws_config(CONFIG)
    script, log = tmp_path / "recorder.py", tmp_path / "opened.txt"
    script.write_text("import sys\nopen(sys.argv[1], 'a').write(repr(sys.argv[2:]) + '\\n')\n")
    command = f"{shlex.quote(sys.executable)} {shlex.quote(str(script))} {shlex.quote(str(log))}"
    folder = home / ".config" / "aws-sso-tray"
    folder.mkdir(parents=True, mode=0o700)
    (folder / "settings.toml").write_text(
        f"[profiles.dev]\nconsole_browser = '{command} -P dev %s'\n"
    )
    engine, notifier = FakeEngine(), RecordingNotifier()
    app = make_app(engine, notifier)
    app.perform(Action(ActionKind.OPEN_CONSOLE, "dev"))
    assert log.read_text() == repr(["-P", "dev", CONSOLE_LINK]) + "\n"
    assert app._settings.recent == ("dev",)
    assert notifier.sent == []

    (folder / "settings.toml").write_text("[profiles.dev]\nconsole_browser = 'false'\n")
    app.dispatch(Action(ActionKind.OPEN_CONSOLE, "dev"))  # a worker thread; a notice says why
    wait_for(lambda: notifier.sent, "the failed console as a notice")
    assert [n.key for n in notifier.sent] == ["tray:open_console"]
    assert "did not open" in notifier.sent[0].message and CONSOLE_LINK in notifier.sent[0].message


def test_copy_console_url_puts_the_portal_link_on_the_clipboard(
    home: Path, aws_config: WriteConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    aws_config(CONFIG)
    bin_dir, sink = tmp_path / "bin", tmp_path / "clipboard.txt"
    bin_dir.mkdir()
    tool = bin_dir / "wl-copy"
    tool.write_text(
        f"#!{sys.executable}\nimport sys\nopen({str(sink)!r}, 'w').write(sys.stdin.read())\n"
    )
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-test")
    monkeypatch.delenv("DISPLAY", raising=False)
    engine, notifier = FakeEngine(), RecordingNotifier()
    app = make_app(engine, notifier)
    app.perform(Action(ActionKind.COPY_CONSOLE_URL, "dev"))
    assert sink.read_text() == CONSOLE_LINK
    assert [(n.title, n.message) for n in notifier.sent] == [
        ("Copied console URL", "dev: paste it into a browser")
    ]
    assert app._settings.recent == ("dev",)


# --- "Sync accounts from the portal" (issue 15 §3) ---------------------------------------------


def test_sync_accounts_runs_off_the_ui_thread_and_says_what_changed_in_one_notice(
    emulator: Emulator, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aws_sso_tray import api
    from aws_sso_tray.emulator import EmulatorConfig
    from sso_helpers import STANDIN_BROWSER
    from test_rescan import many_accounts

    emulator.config = EmulatorConfig(accounts=many_accounts(3))
    monkeypatch.setenv("BROWSER", STANDIN_BROWSER)  # the sign-in's browser stand-in presses Allow
    assert len(api.configure_every_role(START_URL, "us-east-1", "corp").added) == 9
    emulator.config = EmulatorConfig(accounts=many_accounts(3, grant="Billing", revoke="Admin"))
    engine, notifier = FakeEngine(), RecordingNotifier()
    app = make_app(engine, notifier)
    ran_on: list[str] = []
    perform = app.perform

    def spy(action: Action) -> None:
        ran_on.append(threading.current_thread().name)
        perform(action)

    app.perform = spy  # type: ignore[method-assign]
    app.dispatch(Action(ActionKind.RESCAN, "corp"))  # what a click does, on the UI thread
    assert engine.woken.wait(30), "the engine was not woken after the sync"
    wait_for(lambda: notifier.sent, "the sync's notice")
    assert ran_on == ["tray-rescan"]
    assert [(n.key, n.title, n.message) for n in notifier.sent] == [
        (
            "tray:rescan:corp",
            "Accounts synced",
            "sso-session corp: 1 added (Billing-000000000001), "
            "1 removed (Admin-000000000001), 8 already in step",
        )
    ]
    config = (home / ".aws" / "config").read_text()
    assert "[profile Billing-000000000001]" in config and "Admin-000000000001]" not in config

    notifier.sent.clear()
    app.dispatch(Action(ActionKind.RESCAN, "nope"))  # refused: one error notice, nothing written
    wait_for(lambda: notifier.sent, "the refusal as a notice")
    assert [n.key for n in notifier.sent] == ["tray:rescan"]
    assert "no [sso-session nope]" in notifier.sent[0].message
    assert (home / ".aws" / "config").read_text() == config
