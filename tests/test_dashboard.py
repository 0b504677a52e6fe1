"""The dashboard (engine/dashboard.py and the page in aws_sso_tray/dashboard/), in a real browser:
Debian's chromium and chromium-driver through Selenium, against a real `aws-sso-tray daemon` and
the emulator with 100 accounts x 5 roles and a config with those 500 profiles. Search narrows as
you type, Keep fresh and Refresh reach the engine and show without a reload, a link works once,
no request from another origin is accepted, "Add profile" and "Sync accounts from the portal"
write profiles that botocore reads, and Enter acts on the picked row (the first match, or where
the arrow keys moved): it opens a signed-in profile's console through $BROWSER, or starts the
sign-in of a session that needs one."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import botocore.session
import pytest

import browsers
from aws_sso_tray.aws.profiles import SsoSession
from aws_sso_tray.emulator import Account, Emulator, EmulatorConfig
from aws_sso_tray.engine import dashboard
from aws_sso_tray.files import paths, settings
from sso_helpers import device_login
from test_chained import chain  # noqa: F401 (the fixture: dev, deploy via dev, admin via deploy)
from test_daemon import section_key, start_daemon, stop_daemon
from waiting import wait_for

if TYPE_CHECKING:
    from browsers import Browser
    from fixture_types import RunCli, WriteConfig

SESSION = SsoSession(
    "corp", "https://d-1234567890.awsapps.com/start", "us-east-1", ("sso:account:access",)
)
ACCOUNTS, ROLES = 100, ("Admin", "ReadOnly", "PowerUser", "Billing", "Audit")


def accounts(grant: str | None = None) -> tuple[Account, ...]:
    """100 accounts x 5 roles; `grant` adds a role to the first account."""
    return tuple(
        Account(
            f"{100000000000 + n}",
            f"team{n:03d}",
            f"team{n:03d}@example.com",
            ROLES + ((grant,) if grant and n == 0 else ()),
        )
        for n in range(ACCOUNTS)
    )


def big_config(session: SsoSession = SESSION, without: str | None = None) -> str:
    """An AWS config with a profile for every account x role of `accounts()` (but `without`)."""
    sections = [
        f"[sso-session {session.name}]\nsso_start_url = {session.start_url}\n"
        f"sso_region = {session.region}\nsso_registration_scopes = sso:account:access\n"
    ]
    for account in accounts():
        for role in account.roles:
            if f"{account.name}-{role.lower()}" == without:
                continue
            sections.append(
                f"[profile {account.name}-{role.lower()}]\nsso_session = {session.name}\n"
                f"sso_account_id = {account.account_id}\nsso_role_name = {role}\n"
                f"region = {session.region}\n"
            )
    return "\n".join(sections)


@pytest.fixture
def big_emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    emu = Emulator(EmulatorConfig(accounts=accounts()))
    emu.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSO", emu.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSO_OIDC", emu.url)
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def running(big_emulator: Emulator, aws_config: WriteConfig) -> Iterator[Emulator]:
    """A daemon serving 500 profiles of a signed-in session."""
    with serving(big_emulator, aws_config, big_config()):
        yield big_emulator


@contextlib.contextmanager
def serving(
    emulator: Emulator,
    aws_config: WriteConfig,
    config: str,
    *,
    signed_in: bool = True,
    env: dict[str, str] | None = None,
) -> Iterator[None]:
    """A daemon (with `env`) serving the profiles of `config` of a session, signed in or not."""
    aws_config(config)
    if signed_in:
        device_login(emulator, SESSION)
    proc = start_daemon("--debug", env=env)
    try:
        wait_for(
            lambda: dashboard.published() is not None or proc.poll() is not None,
            "the daemon's dashboard file",
        )
        assert proc.poll() is None, proc.communicate()[1]
        yield
    finally:
        stderr = stop_daemon(proc)
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr, stderr[stderr.find("Traceback") - 300 :]


@pytest.fixture
def browser(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Browser]:
    """Chromium, or the browser a test is parametrised over (`@both`)."""
    if getattr(request, "param", "chromium") == "chromium":
        with browsers.chromium(tmp_path) as driver:
            yield driver
        return
    with browsers.firefox(tmp_path) as (driver, outside):
        yield driver
    assert outside == [], f"Firefox reached outside 127.0.0.1: {outside}"


both = pytest.mark.parametrize("browser", browsers.NAMES, indirect=True)


def open_page(driver: Browser, cli: RunCli, profiles: int = ACCOUNTS * len(ROLES)) -> str:
    """Open a fresh link from `aws-sso-tray dashboard --print`; wait for the rows."""
    done = cli("dashboard", "--print")
    assert done.returncode == 0, done.stderr
    url = done.stdout.strip()
    assert url.startswith("http://127.0.0.1:") and "?t=" in url
    driver.get(url)
    wait_for(lambda: len(rows(driver)) == profiles, f"{profiles} rows on the page")
    return url


def rows(driver: Browser, *, shown: bool = False) -> list[str]:
    script = (
        "return [...document.querySelectorAll('.row[data-profile]')]"
        + (".filter(r => !r.hidden)" if shown else "")
        + ".map(r => r.dataset.profile)"
    )
    return list(driver.execute_script(script))


def row_text(driver: Browser, profile: str) -> str:
    return str(
        driver.execute_script(
            "return document.querySelector(`.row[data-profile='${arguments[0]}']`).innerText",
            profile,
        )
    )


def click(driver: Browser, profile: str, action: str) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(
        By.CSS_SELECTOR, f'.row[data-profile="{profile}"] button[data-action="{action}"]'
    ).click()


def test_the_command_says_how_to_start_an_engine_when_none_runs(cli: RunCli) -> None:
    done = cli("dashboard", "--print")
    assert done.returncode == 1
    assert done.stdout == ""
    assert "start `aws-sso-tray daemon` or the tray" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@both
def test_search_narrows_as_you_type_and_the_keyboard_acts_on_the_first_match(
    running: Emulator, browser: Browser, cli: RunCli
) -> None:
    from selenium.webdriver.common.keys import Keys

    open_page(browser, cli)
    assert browser.execute_script("return document.activeElement.id") == "search"
    # every row names its account, which the daemon learnt from the portal
    wait_for(lambda: "100000000042" in row_text(browser, "team042-admin"), "the account id")
    wait_for(lambda: "team042" in row_text(browser, "team042-admin"), "the account name")
    search = browser.active_element()
    search.send_keys("team042")
    assert sorted(rows(browser, shown=True)) == sorted(f"team042-{r.lower()}" for r in ROLES)
    search.send_keys(" bill")
    assert rows(browser, shown=True) == ["team042-billing"]
    search.clear()
    search.send_keys("100000000007 read")  # an account id and part of a role
    assert rows(browser, shown=True) == ["team007-readonly"]
    search.send_keys(Keys.BACKSPACE * 5)
    assert len(rows(browser, shown=True)) == 5
    first = browser.execute_script("return document.querySelector('.row.picked').dataset.profile")
    assert first == rows(browser, shown=True)[0]
    search.send_keys(Keys.ARROW_DOWN)
    picked = browser.execute_script("return document.querySelector('.row.picked').dataset.profile")
    assert picked == rows(browser, shown=True)[1]
    # every button has an accessible name naming its profile
    labels = browser.execute_script(
        "return [...document.querySelectorAll('.row[data-profile=\"team007-admin\"] button')]"
        ".map(b => b.getAttribute('aria-label'))"
    )
    assert "Refresh: team007-admin" in labels and len(labels) == 7


@both
def test_keep_fresh_and_refresh_reach_the_engine_and_show_without_a_reload(
    running: Emulator, browser: Browser, cli: RunCli
) -> None:
    open_page(browser, cli)
    browser.execute_script("window.notReloaded = true")
    click(browser, "team010-admin", "keep_fresh")
    wait_for(
        lambda: settings.load_settings()[0].sync_section("team010-admin") == "team010-admin",
        "the settings keeping team010-admin fresh",
    )
    wait_for(lambda: section_key("team010-admin") is not None, "the engine writing its section")
    wait_for(lambda: "kept fresh" in row_text(browser, "team010-admin"), "the row saying so")
    first_key = section_key("team010-admin")
    version = browser.execute_script("return document.body.dataset.version")
    click(browser, "team010-admin", "refresh")
    wait_for(lambda: section_key("team010-admin") != first_key, "the engine refreshing it")
    wait_for(
        lambda: browser.execute_script("return document.body.dataset.version") != version,
        "the page showing the new state",
    )
    assert browser.execute_script("return window.notReloaded") is True
    assert "Refreshing team010-admin" in browser.find_element("id", "status").text
    countdown = browser.execute_script(
        "return document.querySelector(`.row[data-profile='team010-admin'] .expires`).textContent"
    )
    assert countdown.endswith(("m", "s")) and countdown != "expired", countdown
    click(browser, "team010-admin", "keep_fresh")
    wait_for(
        lambda: settings.load_settings()[0].sync_section("team010-admin") is None,
        "the settings no longer keeping it fresh",
    )


@both
def test_a_link_works_once(running: Emulator, browser: Browser, cli: RunCli) -> None:
    url = open_page(browser, cli)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url, timeout=10)
    assert refused.value.code == 403
    assert "already used" in refused.value.read().decode()
    # the browser that holds the cookie still works; a newer link replaces the unused one
    browser.refresh()
    wait_for(lambda: len(rows(browser)) == 500, "the page again")


def test_no_request_from_another_origin_is_accepted(
    running: Emulator, browser: Browser, cli: RunCli
) -> None:
    open_page(browser, cli)
    origin = browser.execute_script("return location.origin")
    token = browser.execute_script(
        "return document.querySelector('meta[name=\"page-token\"]').content"
    )
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in browser.get_cookies())
    body = json.dumps({"action": "keep_fresh", "profile": "team001-admin"}).encode()

    def post(path: str, headers: dict[str, str]) -> int:
        request = urllib.request.Request(f"{origin}{path}", data=body, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return int(answer.status)
        except urllib.error.HTTPError as exc:
            return exc.code

    page = {"Cookie": cookie, dashboard.TOKEN_HEADER: token, "Content-Type": "application/json"}
    assert post("/action", {**page, "Origin": "http://evil.example"}) == 403
    assert post("/action", {**page, "Origin": "null"}) == 403
    assert post("/action", page) == 403  # no Origin: not a POST of the page
    no_token = {k: v for k, v in page.items() if k != dashboard.TOKEN_HEADER}
    assert post("/action", {**no_token, "Origin": origin}) == 403
    host = {**page, "Origin": origin, "Host": "evil.example"}
    assert post("/action", host) == 403  # DNS rebinding
    assert post("/link", {"Origin": "http://evil.example"}) == 403
    assert post("/link", {"Authorization": "Bearer guessed"}) == 403
    assert settings.load_settings()[0].sync_section("team001-admin") is None
    # the same request from the page's origin is what the page sends: accepted
    assert post("/action", {**page, "Origin": origin}) == 200
    assert settings.load_settings()[0].sync_section("team001-admin") == "team001-admin"
    # the page's JSON needs the cookie and the token too
    state = urllib.request.Request(f"{origin}/state", headers={"Cookie": cookie})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(state, timeout=10)
    assert refused.value.code == 403


def test_the_published_file_is_private_and_names_no_url(running: Emulator) -> None:
    path = dashboard.dashboard_file()
    assert path.stat().st_mode & 0o777 == 0o600
    data: dict[str, Any] = json.loads(path.read_text())
    assert sorted(data) == ["pid", "port", "secret"]


def botocore_profiles() -> dict[str, Any]:
    session = botocore.session.Session()
    session.set_config_variable("config_file", str(paths.aws_config_file()))
    profiles: dict[str, Any] = session.full_config["profiles"]
    return profiles


def portal_row(account_id: str, role: str) -> str:
    return f'.row[data-account="{account_id}"][data-role="{role}"]'


def test_add_profile_writes_a_profile_botocore_reads_and_the_row_becomes_a_profile_row(
    big_emulator: Emulator, aws_config: WriteConfig, browser: Browser, cli: RunCli
) -> None:
    from selenium.webdriver.common.by import By

    with serving(big_emulator, aws_config, big_config(without="team050-audit")):
        open_page(browser, cli, profiles=499)
        row = portal_row("100000000050", "Audit")
        wait_for(
            lambda: browser.execute_script(f"return !!document.querySelector('{row}')"),
            "the portal's role without a profile",
        )
        assert "no profile yet" in browser.find_element(By.CSS_SELECTOR, row).text
        button = browser.find_element(By.CSS_SELECTOR, f'{row} button[data-action="add_profile"]')
        assert button.get_attribute("aria-label") == "Add profile: Audit in team050"
        button.click()
        name = "Audit-100000000050"  # the default template, {role_name}-{account_id}
        wait_for(lambda: name in botocore_profiles(), "botocore reading the new profile")
        written = botocore_profiles()[name]
        assert written["sso_session"] == "corp"
        assert (written["sso_account_id"], written["sso_role_name"]) == ("100000000050", "Audit")
        assert "team050-admin" in botocore_profiles()  # every other profile kept
        wait_for(lambda: name in rows(browser), "the row turning into a profile row")
        assert len(rows(browser)) == 500
        assert not browser.execute_script(f"return !!document.querySelector('{row}')")
        assert f"Added [profile {name}]" in browser.find_element("id", "status").text
        assert "Audit" in row_text(browser, name) and "team050" in row_text(browser, name)


@both
def test_enter_on_a_portal_role_without_a_profile_adds_one(
    big_emulator: Emulator, aws_config: WriteConfig, browser: Browser, cli: RunCli
) -> None:
    from selenium.webdriver.common.keys import Keys

    with serving(big_emulator, aws_config, big_config(without="team050-audit")):
        open_page(browser, cli, profiles=499)
        row = portal_row("100000000050", "Audit")
        wait_for(
            lambda: browser.execute_script(f"return !!document.querySelector('{row}')"),
            "the portal's role without a profile",
        )
        search = browser.active_element()
        search.send_keys("team050 audit")
        picked = browser.execute_script(
            "const d = document.querySelector('.row.picked').dataset; return [d.account, d.role]"
        )
        assert picked == ["100000000050", "Audit"]
        search.send_keys(Keys.ENTER)
        name = "Audit-100000000050"  # what the row's "Add profile" writes
        wait_for(lambda: name in botocore_profiles(), "botocore reading the new profile")
        assert botocore_profiles()[name]["sso_account_id"] == "100000000050"
        wait_for(lambda: name in rows(browser), "the row turning into a profile row")
        assert f"Added [profile {name}]" in browser.find_element("id", "status").text


def test_sync_shows_the_summary_after_the_portal_grants_a_role(
    running: Emulator, browser: Browser, cli: RunCli
) -> None:
    from selenium.webdriver.common.by import By

    open_page(browser, cli)
    running.config = EmulatorConfig(accounts=accounts(grant="Deploy"))
    sync = '#sessions button[data-action="sync"]'
    button = browser.find_element(By.CSS_SELECTOR, sync)
    assert button.get_attribute("aria-label") == "Sync accounts of corp from the portal"
    button.click()
    status = browser.find_element("id", "status")
    name = "Deploy-100000000000"
    wait_for(lambda: "sso-session corp:" in status.text, "the sync's summary")
    assert status.text == f"sso-session corp: 1 added ({name}), 500 already in step"
    assert botocore_profiles()[name]["sso_role_name"] == "Deploy"
    wait_for(lambda: name in rows(browser), "the new profile's row")
    wait_for(lambda: "team000" in row_text(browser, name), "its account name")


def recording_browser(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """The daemon's environment with $BROWSER a script that records each URL it is given (and
    a DISPLAY, so a sign-in takes the browser flow); and the file it records them in."""
    calls, script = tmp_path / "browser-calls", tmp_path / "recording-browser"
    script.write_text(f'#!/bin/sh\necho "$1" >> "{calls}"\n', encoding="utf-8")
    script.chmod(0o755)
    return {"BROWSER": str(script), "DISPLAY": ":99"}, calls


def recorded(calls: Path) -> list[str]:
    return calls.read_text().splitlines() if calls.exists() else []


def console_link(account_id: str, role: str) -> str:
    """The portal's shortcut link to a role's console, what "Open console" opens."""
    return f"{SESSION.start_url}/#/console?account_id={account_id}&role_name={role}"


@both
def test_enter_on_a_signed_in_profile_opens_its_console(
    big_emulator: Emulator, aws_config: WriteConfig, browser: Browser, cli: RunCli, tmp_path: Path
) -> None:
    from selenium.webdriver.common.keys import Keys

    env, calls = recording_browser(tmp_path)
    with serving(big_emulator, aws_config, big_config(), env=env):
        open_page(browser, cli)
        search = browser.active_element()
        search.send_keys("team042 admin")
        assert rows(browser, shown=True) == ["team042-admin"]
        assert recorded(calls) == []
        search.send_keys(Keys.ENTER)
        wait_for(lambda: recorded(calls) != [], "the browser opening the console")
        assert recorded(calls) == [console_link("100000000042", "Admin")]
        status = browser.find_element("id", "status")
        wait_for(lambda: "Opened the console of team042-admin" in status.text, "the status line")


@both
def test_arrow_down_then_enter_acts_on_the_second_match(
    big_emulator: Emulator, aws_config: WriteConfig, browser: Browser, cli: RunCli, tmp_path: Path
) -> None:
    from selenium.webdriver.common.keys import Keys

    env, calls = recording_browser(tmp_path)
    with serving(big_emulator, aws_config, big_config(), env=env):
        open_page(browser, cli)
        search = browser.active_element()
        search.send_keys("team042")
        shown = rows(browser, shown=True)
        assert shown == [f"team042-{r.lower()}" for r in ROLES]
        search.send_keys(Keys.ARROW_DOWN)
        search.send_keys(Keys.ENTER)
        wait_for(lambda: recorded(calls) != [], "the browser opening the console")
        assert recorded(calls) == [console_link("100000000042", ROLES[1])]  # not ROLES[0]
        status = browser.find_element("id", "status")
        wait_for(lambda: f"Opened the console of {shown[1]}" in status.text, "the status line")


@both
def test_enter_on_a_profile_of_a_session_not_signed_in_starts_the_sign_in(
    big_emulator: Emulator, aws_config: WriteConfig, browser: Browser, cli: RunCli, tmp_path: Path
) -> None:
    from selenium.webdriver.common.keys import Keys

    env, calls = recording_browser(tmp_path)
    with serving(big_emulator, aws_config, big_config(), signed_in=False, env=env):
        open_page(browser, cli)
        wait_for(lambda: "not signed in" in row_text(browser, "team042-admin"), "the row's state")
        search = browser.active_element()
        search.send_keys("team042 admin")
        assert rows(browser, shown=True) == ["team042-admin"]
        assert recorded(calls) == []
        assert not any(r.op == "RegisterClient" for r in big_emulator.requests)
        search.send_keys(Keys.ENTER)
        # what the row's Sign in does: the engine registers a client and opens the sign-in page
        wait_for(lambda: recorded(calls) != [], "the browser opening the sign-in page")
        [page] = recorded(calls)
        assert page.startswith(f"{big_emulator.url}/authorize?"), page
        assert "console" not in page
        assert any(r.op == "RegisterClient" for r in big_emulator.requests)
        status = browser.find_element("id", "status")
        wait_for(lambda: "Sign-in started" in status.text, "the status line")


def role_cell(driver: Browser, profile: str) -> str:
    return str(
        driver.execute_script(
            "return document.querySelector(`.row[data-profile='${arguments[0]}'] .role`).innerText",
            profile,
        )
    )


@both
def test_a_chained_role_reads_as_list_shows_it_and_its_source_finds_it(
    chain: Emulator,  # noqa: F811
    aws_config: WriteConfig,
    browser: Browser,
    cli: RunCli,
) -> None:
    """deploy assumes Deployer with dev, admin assumes Admin with deploy: each row says so in
    `list`'s words, and typing a source profile's name finds the roles chained on it."""
    config = paths.aws_config_file().read_text(encoding="utf-8")
    with serving(chain, aws_config, config, signed_in=False):  # `chain` has signed in
        open_page(browser, cli, profiles=3)  # dev, deploy, admin (mfa is refused, as in list)
        assert role_cell(browser, "deploy") == "Deployer via dev"
        assert role_cell(browser, "admin") == "Admin via deploy"
        assert role_cell(browser, "dev") == "ReadOnly"  # a plain profile as before
        listed = cli("list")
        assert listed.returncode == 0, listed.stderr
        assert "Deployer via dev" in listed.stdout and "Admin via deploy" in listed.stdout
        search = browser.active_element()
        search.send_keys("dev")
        assert sorted(rows(browser, shown=True)) == ["deploy", "dev"]
        search.clear()
        search.send_keys("deployer via dev")  # the words the row shows
        assert rows(browser, shown=True) == ["deploy"]
        search.clear()
        search.send_keys("deploy")  # the profile and the role chained on it
        assert sorted(rows(browser, shown=True)) == ["admin", "deploy"]
        search.send_keys(" 3333")  # and the chained role's account
        assert rows(browser, shown=True) == ["admin"]
        # the config changes admin's source: the same row (no reload) names the new one, and
        # the search still typed in no longer finds it
        browser.execute_script("window.notReloaded = true")
        aws_config(config.replace("source_profile = deploy", "source_profile = dev"))
        wait_for(lambda: role_cell(browser, "admin") == "Admin via dev", "the row's new source")
        assert browser.execute_script("return window.notReloaded") is True
        assert rows(browser, shown=True) == []
        assert browser.find_element("id", "count").text.startswith("0 of ")
        search.clear()
        search.send_keys("dev")
        assert sorted(rows(browser, shown=True)) == ["admin", "deploy", "dev"]


def test_a_request_accepted_as_the_dashboard_stops_is_answered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Stopping wakes the page's long poll, and the page polls again at once: that request may
    be accepted just before the server closes. Its handler still knows the server's port (it
    raised, and the daemon logged a traceback at exit now and then with a page open)."""
    board = dashboard.DashboardServer(dict, dict)
    board.start()
    port = board.port
    before = set(threading.enumerate())
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(b"GET /state HTTP/1.1\r\n")  # the handler waits for the headers' end
        wait_for(
            lambda: any("process_request" in t.name for t in set(threading.enumerate()) - before),
            "the server accepting the connection",
        )
        with caplog.at_level(logging.ERROR, logger="aws_sso_tray.engine.dashboard"):
            board.stop()
            conn.sendall(f"Host: 127.0.0.1:{port}\r\n\r\n".encode())
            answer = conn.recv(200)
    assert answer.startswith(b"HTTP/1.0 403"), answer  # no page token: refused, not dropped
    assert caplog.records == []
