"""configure: the first-run flow against the emulator, through the terminal face and the web page.

Real HTTP everywhere: boto3 against the emulator, the browser stand-in pressing Allow on its
sign-in page (through $BROWSER), urllib driving our configure page.
"""

from __future__ import annotations

import html
import logging
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

import botocore.session
import pytest

from aws_sso_tray.aws import portal
from aws_sso_tray.cli import setup as terminal
from aws_sso_tray.emulator import Account, EmulatorConfig
from aws_sso_tray.errors import ConfigError, ExitCode
from aws_sso_tray.files import configedit
from aws_sso_tray.setup import configure, configure_page
from aws_sso_tray.setup.configure import ConfigureRequest, RoleOffer, Selection
from pagefetch import Browser, fetch, form_token
from sso_helpers import STANDIN_BROWSER
from waiting import wait_for

if TYPE_CHECKING:
    from aws_sso_tray.emulator import Emulator

START_URL = "https://d-1234567890.awsapps.com/start"


def accounts(extra_role: str | None = None, drop: str | None = None) -> tuple[Account, ...]:
    found = [
        Account(f"{i:012d}", f"Team {i}", f"t{i}@example.com", ("ReadOnly", "Admin"))
        for i in range(1, 8)
    ]
    found.append(Account("999999999999", "sandbox", "s@example.com", ("Power+User", "Admin")))
    if extra_role:
        found[0] = Account(found[0].account_id, found[0].name, "", (*found[0].roles, extra_role))
    if drop:
        found = [
            Account(a.account_id, a.name, a.email, tuple(r for r in a.roles if r != drop))
            if a.account_id == "999999999999"
            else a
            for a in found
        ]
    return tuple(found)


@pytest.fixture
def portal_emulator(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """The emulator with 8 accounts and 16 roles, pages of 3 (so every list paginates)."""
    emulator.config = EmulatorConfig(accounts=accounts())
    monkeypatch.setattr(portal, "PAGE_SIZE", 3)
    monkeypatch.setenv("BROWSER", STANDIN_BROWSER)
    return emulator


class Script:
    """Scripted answers for input(); records every prompt and printed line."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.prompts: list[str] = []
        self.printed: list[str] = []

    def input(self, prompt: str) -> str:
        self.prompts.append(prompt)
        if not self.answers:
            raise EOFError
        return self.answers.pop(0)

    def print(self, *args: Any, **_: Any) -> None:
        self.printed.append(" ".join(str(a) for a in args))

    @property
    def text(self) -> str:
        return "\n".join(self.printed)


def botocore_profiles(home: Path) -> dict[str, Any]:
    session = botocore.session.Session()
    session.set_config_variable("config_file", str(home / ".aws" / "config"))
    profiles: dict[str, Any] = session.full_config["profiles"]
    return profiles


def test_validation() -> None:
    assert configure.validate_start_url(f" {START_URL} ") == START_URL
    for bad in ("http://x.awsapps.com/start", "d-123", "https://", "https://a b"):
        with pytest.raises(ConfigError):
            configure.validate_start_url(bad)
    assert configure.validate_region("eu-central-1") == "eu-central-1"
    assert configure.validate_region("us-gov-west-1") == "us-gov-west-1"
    for bad in ("", "us-east", "US-EAST-1", "mars"):
        with pytest.raises(ConfigError):
            configure.validate_region(bad)
    assert terminal.parse_numbers("1, 3-4 6", 6) == [0, 2, 3, 5]
    assert terminal.parse_numbers("all", 3) == [0, 1, 2]
    assert terminal.parse_numbers("", 3) == []
    for bad in ("0", "4", "2-1", "x"):
        with pytest.raises(ValueError):
            terminal.parse_numbers(bad, 3)


def test_profile_names() -> None:
    from aws_sso_tray.setup import profilenames

    role = portal.PortalRole("123456789012", "Dev Team (EU)", "Power+User")
    default = profilenames.DEFAULT_TEMPLATE  # what `aws configure sso` suggests
    assert profilenames.render(default, role, "corp", "eu-west-1") == "Power+User-123456789012"
    by_account = "{account_name}-{role_name}"
    assert profilenames.render(by_account, role, "corp", "eu-west-1") == "Dev-Team-EU-Power+User"
    twin = portal.PortalRole("210987654321", "Dev Team (EU)", "Power+User")
    names = profilenames.unique_names(
        [role, twin], {"Dev-Team-EU-Power+User"}, by_account, "corp", "eu-west-1"
    )
    assert list(names.values()) == ["Dev-Team-EU-Power+User-2", "Dev-Team-EU-Power+User-3"]


def test_scan_paginates_and_rides_out_throttling(portal_emulator: Emulator) -> None:
    issued = portal_emulator.login(start_url=START_URL)
    portal_emulator.inject_fault("ListAccountRoles", "throttle", count=3)
    portal_emulator.inject_fault("ListAccounts", "throttle", count=1)
    roles = portal.scan(issued.access_token, "us-east-1")
    assert len(roles) == 16
    assert [r.account_name for r in roles[:3]] == ["sandbox", "sandbox", "Team 1"]
    assert {r.role_name for r in roles if r.account_id == "999999999999"} == {"Admin", "Power+User"}
    statuses = [(r.op, r.status) for r in portal_emulator.requests]
    assert statuses.count(("ListAccountRoles", 429)) == 3
    assert statuses.count(("ListAccounts", 429)) == 1
    # 8 accounts in pages of 3: 3 pages; 2 roles per account in pages of 3: one page each.
    assert statuses.count(("ListAccounts", 200)) == 3
    assert statuses.count(("ListAccountRoles", 200)) == 8


def test_terminal_first_run_then_add_and_prune(portal_emulator: Emulator, home: Path) -> None:
    config = home / ".aws" / "config"
    config.write_text("# mine\n[profile hand]\nregion = eu-west-1\n")
    first = Script(
        "http://nope",  # rejected, asked again
        START_URL,
        "us-east-1",
        "",  # session name: the default derived from the host
        "",  # profile region: the SSO region
        "1-2, 16",
    )
    assert terminal.run_terminal_configure(first.input, first.print) == 0, first.text
    assert "not an https URL" in first.text
    assert "SSO session name [d-1234567890]: " in first.prompts
    profiles = botocore_profiles(home)
    added = sorted(set(profiles) - {"hand"})
    assert added == ["Admin-999999999999", "Power+User-999999999999", "ReadOnly-000000000007"]
    assert profiles["Power+User-999999999999"] == {
        "sso_session": "d-1234567890",
        "sso_account_id": "999999999999",
        "sso_role_name": "Power+User",
        "region": "us-east-1",
    }
    assert config.read_text().startswith("# mine\n[profile hand]\nregion = eu-west-1\n\n")
    # stock botocore gets credentials for a generated profile from the token we cached
    creds = botocore.session.Session(profile="Admin-999999999999").get_credentials()
    assert creds is not None and creds.access_key.startswith("ASIA")

    # The portal changes: a new role in account 1, Power+User gone from the sandbox.
    portal_emulator.config = EmulatorConfig(
        accounts=accounts(extra_role="Billing", drop="Power+User")
    )
    requests_before = portal_emulator.count("CreateToken")
    second = Script(START_URL, "us-east-1", "", "", "2", "y")
    assert terminal.run_terminal_configure(second.input, second.print) == 0, second.text
    assert portal_emulator.count("CreateToken") == requests_before  # the cached token was reused
    assert "   2. Team 1 (000000000001)  Billing -> Billing-000000000001" in second.text
    assert "profile Admin-999999999999" in second.text  # shown as configured
    assert "gone from the portal: Power+User-999999999999" in second.text
    profiles = botocore_profiles(home)
    assert "Power+User-999999999999" not in profiles
    assert "Billing-000000000001" in profiles
    assert "Removed profile Power+User-999999999999" in second.text


def test_hand_edited_profile_is_not_offered_for_pruning(
    portal_emulator: Emulator, home: Path
) -> None:
    request = ConfigureRequest(START_URL, "us-east-1")

    def take(keys: list[tuple[str, str]]) -> Any:
        return lambda offer: Selection(tuple(keys))

    configure.configure(request, take([("999999999999", "Power+User")]))
    config = home / ".aws" / "config"
    edited = config.read_text().replace(
        "role_name = Power+User", "role_name = Power+User\noutput = json"
    )
    config.write_text(edited)
    portal_emulator.config = EmulatorConfig(accounts=accounts(drop="Power+User"))
    seen: list[RoleOffer] = []

    def look(offer: RoleOffer) -> Selection:
        seen.append(offer)
        return Selection((), tuple(p.name for p in offer.prunable))

    outcome = configure.configure(request, look)
    assert seen[0].prunable == ()
    assert outcome.removed == ()
    assert "[profile Power+User-999999999999]" in config.read_text()


def test_session_name_conflict_and_reuse(portal_emulator: Emulator, home: Path) -> None:
    config = home / ".aws" / "config"
    config.write_text(
        "[sso-session corp]\nsso_start_url = https://other.awsapps.com/start\n"
        "sso_region = us-east-1\n"
        f"[sso-session mine]\nsso_start_url = {START_URL}\nsso_region = us-east-1\n"
    )
    with pytest.raises(ConfigError, match="choose another session name"):
        configure.write_session(ConfigureRequest(START_URL, "us-east-1", "corp"))
    session = configure.write_session(ConfigureRequest(START_URL, "us-east-1"))
    assert session.name == "mine"
    assert "sso_registration_scopes = sso:account:access" in config.read_text()


def test_terminal_reports_app_errors_with_exit_code(portal_emulator: Emulator, home: Path) -> None:
    (home / ".aws" / "config").write_text("[default]\nnot an option\n")
    script = Script(START_URL, "us-east-1")
    assert terminal.run_terminal_configure(script.input, script.print) == ExitCode.CONFIG
    assert "line 2" in script.text


def test_configure_runs_as_a_command(portal_emulator: Emulator, home: Path) -> None:
    answers = f"{START_URL}\nus-east-1\ncorp\neu-west-1\nall\n"
    result = subprocess.run(
        [sys.executable, "-m", "aws_sso_tray", "configure"],
        input=answers,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    profiles = botocore_profiles(home)
    # the subprocess used the default page size: still every role, 16 profiles
    assert len(profiles) == 16
    assert {p["sso_session"] for p in profiles.values()} == {"corp"}
    assert configedit.read_snapshot(home / ".aws" / "config").generated == set(profiles)


def test_web_page_with_token_checks(portal_emulator: Emulator, home: Path) -> None:
    page = configure_page.start_configure_page(open_browser=False, timeout=60)
    try:
        url = page.url
        base, token = url.split("/?t=")
        assert fetch(base + "/")[0] == 403
        assert fetch(f"{base}/?t={'x' * len(token)}")[0] == 403
        browser = Browser()
        status, body = browser.get(url)  # the one-time link, exchanged for the cookie
        assert status == 200 and 'name="start_url"' in body and token not in body
        csrf = form_token(body)
        # a form posted without the cookie (another site's forged form): refused
        form = {"start_url": START_URL, "region": "us-east-1"}
        assert fetch(base + "/start", {**form, "token": csrf})[0] == 403
        assert browser.post(base + "/start", form)[0] == 403  # cookie without the form token
        assert not (home / ".aws" / "config").exists()
        status, body = browser.post(base + "/start", {**form, "region": "moon", "token": csrf})
        assert status == 200 and "not an AWS region" in body
        status, _ = browser.post(base + "/start", {**form, "token": csrf})
        assert status == 303
        body = wait_for(lambda: _chooser(browser, base), "the profile chooser", 30, interval=0.2)
        assert "Choose profiles" in body, body
        values = re.findall(r'name="role" value="([^"]+)"', body)
        assert len(values) == 16 and "999999999999:Power+User" in values
        assert fetch(base + "/write", {"role": values[:2], "token": csrf})[0] == 403
        status, body = browser.post(base + "/write", {"role": values[:2], "token": csrf})
        assert status == 303 and "Done" in body
        assert page.wait(10)
    finally:
        page.stop()
    assert page.outcome is not None
    assert page.outcome.added == ("Admin-999999999999", "Power+User-999999999999")
    assert set(botocore_profiles(home)) == set(page.outcome.added)
    with pytest.raises(urllib.error.URLError):
        fetch(url)  # the page closed itself


def _chooser(browser: Browser, base: str) -> str:
    """The page at `base`, once it is the profile chooser (the portal scan has finished)."""
    body = browser.get(base + "/")[1]
    return body if "Choose profiles" in body else ""


def test_web_page_second_run_offers_pruning(portal_emulator: Emulator, home: Path) -> None:
    request = ConfigureRequest(START_URL, "us-east-1")
    configure.configure(request, lambda offer: Selection((("999999999999", "Power+User"),)))
    portal_emulator.config = EmulatorConfig(accounts=accounts(drop="Power+User"))
    page = configure_page.start_configure_page(open_browser=False, timeout=60)
    try:
        browser = Browser()
        csrf = form_token(browser.get(page.url)[1])
        base = page.base_url
        browser.post(
            base + "/start", {"start_url": START_URL, "region": "us-east-1", "token": csrf}
        )
        body = wait_for(lambda: _chooser(browser, base), "the profile chooser", 30, interval=0.1)
        assert 'name="prune" value="Power+User-999999999999"' in body
        browser.post(base + "/write", {"prune": "Power+User-999999999999", "token": csrf})
        assert page.wait(10)
    finally:
        page.stop()
    assert page.outcome is not None and page.outcome.removed == ("Power+User-999999999999",)
    assert "Power+User" not in (home / ".aws" / "config").read_text()


def test_web_page_times_out(home: Path) -> None:
    page = configure_page.start_configure_page(open_browser=False, timeout=0.5)
    url = page.url
    assert page.wait(5) is False
    with pytest.raises(urllib.error.URLError):
        fetch(url)


def test_no_secret_in_debug_log(
    portal_emulator: Emulator, home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    script = Script(START_URL, "us-east-1", "", "", "all")
    assert terminal.run_terminal_configure(script.input, script.print) == 0, script.text
    # Our own loggers (botocore's wire log at DEBUG is botocore's; logs.setup_logging masks it).
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("aws_sso_tray"))
    logged = ours + script.text
    assert "signed in" in ours and "config" in ours  # really captured at DEBUG
    secrets = portal_emulator.issued_secrets()
    assert secrets
    for secret in secrets:
        assert secret not in logged


def test_web_page_names_profiles_by_the_sessions_template(
    portal_emulator: Emulator, home: Path
) -> None:
    template = "{account_name}-{role_name}"
    request = ConfigureRequest(START_URL, "us-east-1", name_template=template)
    configure.configure(request, lambda offer: Selection((("999999999999", "Power+User"),)))
    before = (home / ".aws" / "config").read_text()
    page = configure_page.start_configure_page(open_browser=False, timeout=60)
    try:
        browser = Browser()
        status, body = browser.get(page.url)
        assert 'name="name_template"' in body  # optional on the first form
        csrf, base = form_token(body), page.base_url
        form = {"start_url": START_URL, "region": "us-east-1", "token": csrf}
        status, body = browser.post(base + "/start", {**form, "name_template": "{acount}"})
        assert status == 200 and "{acount}" in body  # the one-line error, on the form
        assert (home / ".aws" / "config").read_text() == before  # nothing written
        browser.post(base + "/start", form)  # blank: the session's remembered template
        body = wait_for(lambda: _chooser(browser, base), "the profile chooser", 30, interval=0.1)
        field = re.search(r'name="name_template" size=50 value="([^"]*)"', body)
        assert field is not None and html.unescape(field.group(1)) == template
        names = re.findall(r"&rarr; ([^<]+)</label>", body)
        assert names and all("-" in n and not n.endswith("999999999999") for n in names), names
        # a bad template on the chooser: its error line, the choices as they were
        status, body = browser.post(base + "/names", {"name_template": "fixed", "token": csrf})
        assert status == 200 and 'class="error"' in body and "Choose profiles" in body
        assert re.findall(r"&rarr; ([^<]+)</label>", body) == names
        status, _ = browser.post(
            base + "/names", {"name_template": "{session}.{role_name}", "token": csrf}
        )
        assert status == 303
        body = wait_for(lambda: _chooser(browser, base), "the renamed chooser", 30, interval=0.1)
        renamed = re.findall(r'name="role" value="([^"]+)"', body)
        assert re.findall(r"&rarr; ([^<]+)</label>", body)[0].startswith("d-1234567890.")
        assert (home / ".aws" / "config").read_text() == before  # renaming writes nothing
        browser.post(base + "/write", {"role": renamed[:1], "token": csrf})
        assert page.wait(10)
    finally:
        page.stop()
    assert page.outcome is not None and page.outcome.added[0].startswith("d-1234567890.")
    choices = configure.remembered("d-1234567890")
    assert choices is not None and choices.name_template == "{session}.{role_name}"
