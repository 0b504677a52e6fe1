"""The tray's "Set up AWS SSO profiles…" entry without a display: the real configure page on
127.0.0.1, the real browser sign-in on the emulator, the real AWS config written.

Only the engine is a stand-in (the tray's edge: it records `wake`), and pystray is never
imported: TrayApp without `run()` has no icon, so its view updates only rebuild the menu model.
"""

from __future__ import annotations

import re
import shlex
import sys
import threading
import time
import types
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.pagefetch import Browser, fetch, form_token

from aws_sso_tray.clock import now
from aws_sso_tray.snapshot import Snapshot
from aws_sso_tray.tray.app import TrayApp
from aws_sso_tray.tray.backend import TrayBackend
from aws_sso_tray.tray.menu import Action, ActionKind, find_entry

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
    """What the tray needs of the engine; `wake` is what the configure entry must call."""

    def __init__(self) -> None:
        self.snapshot = Snapshot(taken_at=now())
        self.woken = threading.Event()

    def start(self) -> None:
        pass

    def stop(self, timeout: float = 1.5) -> bool:
        return True

    def subscribe(self, callback: Callable[[Snapshot], None]) -> Callable[[], None]:
        return lambda: None

    def refresh_now(self, profile: str | None = None) -> None:
        pass

    def login(self, session_key: str, *, reason: str | None = None) -> bool:
        return True

    def wake(self) -> None:
        self.woken.set()


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def opened(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], list[str]]:
    """Install the router as $BROWSER; returns a reader of the URLs it was asked to open."""
    script, log = tmp_path / "router.py", tmp_path / "opened.txt"
    script.write_text(ROUTER)
    log.touch()
    command = f"{shlex.quote(sys.executable)} {shlex.quote(str(script))} %s {shlex.quote(str(log))}"
    monkeypatch.setenv("BROWSER", command)
    return lambda: log.read_text().split()


def make_app(engine: FakeEngine) -> TrayApp:
    return TrayApp(engine, types.ModuleType("pystray"), TrayBackend("gtk", "none (test)"))


def test_setup_entry_serves_the_page_off_the_ui_thread_and_wakes_the_engine(
    emulator: Any, home: Path, opened: Callable[[], list[str]]
) -> None:
    engine = FakeEngine()
    app = make_app(engine)
    entries = app._build(engine.snapshot)
    assert entries[0].label == "Set up AWS SSO profiles…"
    action = entries[0].action
    assert action == Action(ActionKind.CONFIGURE)

    started = time.monotonic()
    app.dispatch(action)  # what a click does, on the UI thread
    assert time.monotonic() - started < 0.5  # it returned without waiting for the page
    url = wait_for(lambda: opened() and opened()[0], 10, "the configure page to open")
    assert url.startswith("http://127.0.0.1:") and "/?t=" in url
    page = app._configure_page
    assert page is not None and page.url == url
    menu_now = app._build(engine.snapshot)
    assert menu_now[0].label == "Show the setup page again"

    # A second click opens the same page again with a fresh one-time link: no second server.
    app.dispatch(menu_now[0].action)  # type: ignore[arg-type]
    wait_for(lambda: len(opened()) == 2, 10, "the page to be opened again")
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

    def role_list() -> str | None:
        body = browser.get(base + "/")[1]
        return body if "Choose profiles" in body else None

    body = wait_for(role_list, 30, "the role list")
    roles = re.findall(r'name="role" value="([^"]+)"', body)
    assert roles
    assert not engine.woken.is_set()
    assert browser.post(base + "/write", {"role": roles[:1], "token": csrf})[0] == 303

    assert engine.woken.wait(10), "the engine was not woken after the profiles were written"
    assert "[profile " in (home / ".aws" / "config").read_text()
    wait_for(lambda: app._configure_page is None, 5, "the page to be forgotten")
    after = app._build(engine.snapshot)
    assert find_entry(after, "Set up AWS SSO profiles…") is not None
    assert any(u != url for u in opened())  # the sign-in page went to the browser too


def test_quitting_closes_an_open_setup_page(home: Path, opened: Callable[[], list[str]]) -> None:
    engine = FakeEngine()
    app = make_app(engine)
    app.dispatch(Action(ActionKind.CONFIGURE))
    url = wait_for(lambda: opened() and opened()[0], 10, "the configure page to open")
    assert Browser().get(url)[0] == 200
    app._shutdown()  # what run() does once the icon's loop returned
    wait_for(lambda: app._configure_page is None, 5, "the configure worker to finish")
    assert not engine.woken.is_set()  # nothing written: nothing to show
    with pytest.raises(urllib.error.URLError):
        fetch(url)
