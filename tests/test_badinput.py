"""Hostile machines and bad input: files botocore cannot parse, values out of range, odd names.

The real CLI in a subprocess against the emulator, with real files in a temporary HOME.
"""

from __future__ import annotations

import configparser
from pathlib import Path
from typing import TYPE_CHECKING, Any

import botocore.configloader
import botocore.exceptions
import pytest

from sso_helpers import STANDIN_BROWSER

if TYPE_CHECKING:
    from aws_sso_tray.emulator import Emulator
    from fixture_types import RunCli, WriteConfig

CONFIG = """\
[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = us-east-1
sso_registration_scopes = sso:account:access

[profile dev]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = ReadOnly
"""

# Files botocore refuses (ConfigParseError), and what `sync dev:dev` does with each: the exit
# code, and for 3 what the one-line error says (the line first).
BROKEN_CREDENTIALS = {
    # a duplicated section of the user's: left as it is (credfile), our section is written
    "duplicate-other": ("[other]\naws_access_key_id = AKIAOTHER\n[other]\nregion = x\n", 0, ""),
    # the documented repair: an empty earlier copy of the target section is dropped
    "duplicate-target": ("[dev]\n\n[static]\nregion = x\n[dev]\nregion = y\n", 0, ""),
    # a BOM: botocore and the other SDKs cannot read the file, and it is not ours to drop
    "bom": (
        "\ufeff[static]\naws_access_key_id = AKIASTATIC\naws_secret_access_key = s\n",
        3,
        "line 1: the file starts with a byte-order mark (U+FEFF), which the AWS SDKs cannot "
        "read: save it as UTF-8 without BOM",
    ),
    # a line that is no option: we cannot tell whose it is, so we refuse, naming it
    "stray": (
        "[static]\naws_access_key_id = AKIASTATIC\nthis is a stray line\n",
        3,
        "line 3: not `key = value`",
    ),
}


@pytest.fixture
def standin_env() -> dict[str, str]:
    return {"BROWSER": STANDIN_BROWSER}


@pytest.fixture
def setup(home: Path, aws_config: WriteConfig, emulator: Emulator) -> Emulator:
    aws_config(CONFIG)
    return emulator


def _one_line(result: Any) -> str:
    """The one-line error (after any warnings logged on the way), and no traceback."""
    lines = [line for line in result.stderr.strip().splitlines() if " WARNING " not in line]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return str(lines[0])


# -- 4. our unsigned clients do not depend on the credentials file -------------------------------


@pytest.mark.parametrize("kind", sorted(BROKEN_CREDENTIALS))
def test_broken_credentials_file_does_not_break_login_sync_logout(
    setup: Emulator, cli: RunCli, home: Path, standin_env: dict[str, str], kind: str
) -> None:
    creds = home / ".aws" / "credentials"
    text, expected, says = BROKEN_CREDENTIALS[kind]
    creds.write_text(text, encoding="utf-8")
    before = creds.read_bytes()

    login = cli("login", "dev", "--use-device-code", env=standin_env, timeout=60)
    assert login.returncode == 0, login.stderr

    sync = cli("sync", "dev:dev")  # the role cache is cold: GetRoleCredentials is needed
    assert sync.returncode == expected, sync.stderr
    if expected == 3:
        line = _one_line(sync)
        assert f"{creds} {says}" in line, line
        with pytest.raises(botocore.exceptions.ConfigParseError):  # not just our opinion
            botocore.configloader.raw_config_parse(str(creds))
        assert creds.read_bytes() == before
    else:
        assert setup.count("GetRoleCredentials") == 1
        written = configparser.RawConfigParser(strict=False)
        written.read_string(creds.read_text(encoding="utf-8-sig"))
        assert written.get("dev", "aws_access_key_id").startswith("ASIA")
    if kind == "duplicate-target":
        # the repair made the file readable for botocore again
        parsed = botocore.configloader.raw_config_parse(str(creds))
        assert parsed["dev"]["region"] == "y"

    logout = cli("logout", "dev")
    assert logout.returncode == 0, logout.stderr
    assert setup.count("Logout") == 1


@pytest.mark.parametrize("legacy", [False, True], ids=["sso-session", "legacy"])
@pytest.mark.parametrize("command", [("login", "dev", "--use-device-code"), ("sync", "dev")])
def test_sso_region_with_spaces_is_a_config_error(
    home: Path,
    aws_config: WriteConfig,
    emulator: Emulator,
    cli: RunCli,
    legacy: bool,
    command: tuple[str, ...],
) -> None:
    if legacy:
        config = (
            "[profile dev]\nsso_start_url = https://corp.awsapps.com/start\n"
            "sso_region = us east 1\nsso_account_id = 111111111111\nsso_role_name = ReadOnly\n"
        )
    else:
        config = CONFIG.replace("sso_region = us-east-1", "sso_region = us east 1")
    aws_config(config)
    result = cli(*command, timeout=60)
    assert result.returncode == 3, result.stderr
    line = _one_line(result)
    assert "config line 1:" in line and "'us east 1', which is not an AWS region" in line
    assert emulator.requests == []


def test_aws_profile_of_the_credentials_file_only_still_logs_in(
    setup: Emulator, cli: RunCli, home: Path, standin_env: dict[str, str]
) -> None:
    # Our clients no longer see the credentials file, so AWS_PROFILE naming one of its
    # sections must not turn into botocore's ProfileNotFound.
    creds = home / ".aws" / "credentials"
    creds.write_text("[static]\naws_access_key_id = AKIASTATIC\naws_secret_access_key = s\n")
    env = {**standin_env, "AWS_PROFILE": "static"}
    login = cli("login", "dev", "--use-device-code", env=env, timeout=60)
    assert login.returncode == 0, login.stderr


# -- 5. out-of-range values: unusable cache entries are absent, bad flags are exit 2 ------------

OUT_OF_RANGE = ['"9999-12-31T23:59:59-01:00"', "1e20", "Infinity", "-Infinity", "NaN"]


def _token_file() -> Path:
    from aws_sso_tray.aws import profiles, tokens

    return tokens.token_cache_file(profiles.get_session("corp"))


def _role_file() -> Path:
    from aws_sso_tray.aws import profiles, rolecreds

    return rolecreds.cache_file(profiles.get_profile("dev"))


def _replace_json_value(path: Path, key: str, literal: str) -> None:
    """Set `key` to a JSON literal json.dumps would not write (Infinity, 1e20, ...)."""
    import re

    text = path.read_text()
    new, count = re.subn(rf'("{key}":\s*)("[^"]*"|[^,}}]+)', lambda m: m.group(1) + literal, text)
    assert count == 1, text
    path.write_text(new)


@pytest.fixture
def logged_in(setup: Emulator) -> Emulator:
    """Signed in as `aws sso login` leaves it, in-process (the CLI's own login is tested by the
    tests that call `login`; a CLI login per case was most of this file's time)."""
    from aws_sso_tray.aws.profiles import SsoSession
    from sso_helpers import device_login

    device_login(
        setup,
        SsoSession("corp", "https://corp.awsapps.com/start", "us-east-1", ("sso:account:access",)),
    )
    return setup


@pytest.mark.parametrize("literal", OUT_OF_RANGE)
def test_token_expiry_out_of_range_is_a_missing_login(
    logged_in: Emulator, cli: RunCli, literal: str
) -> None:
    _replace_json_value(_token_file(), "expiresAt", literal)
    listed = cli("list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert '"token_expires_at": null' in listed.stdout
    sync = cli("sync", "dev:dev")
    assert sync.returncode == 4, sync.stderr
    assert "login" in _one_line(sync)
    assert logged_in.count("GetRoleCredentials") == 0


@pytest.mark.parametrize("literal", OUT_OF_RANGE)
def test_registration_expiry_out_of_range_keeps_the_token(
    logged_in: Emulator, cli: RunCli, literal: str
) -> None:
    _replace_json_value(_token_file(), "registrationExpiresAt", literal)
    sync = cli("sync", "dev:dev")
    assert sync.returncode == 0, sync.stderr
    assert logged_in.count("GetRoleCredentials") == 1


@pytest.mark.parametrize(
    ("key", "literal"),
    [("Expiration", v) for v in OUT_OF_RANGE]
    + [("AccessKeyId", '" ASIAWITHSPACE"'), ("AccessKeyId", '"ASIA WITH SPACE"')]
    + [("SecretAccessKey", '"secret\\nline"'), ("SessionToken", '"tok en"')],
)
@pytest.mark.parametrize("command", ["credential-process", "export"])
def test_unusable_role_cache_entry_is_fetched_anew(
    logged_in: Emulator, cli: RunCli, key: str, literal: str, command: str
) -> None:
    import json

    first = cli("export", "--profile", "dev", "--json")
    assert first.returncode == 0, first.stderr
    _replace_json_value(_role_file(), key, literal)
    result = cli(command, "--profile", "dev", *(["--json"] if command == "export" else []))
    assert result.returncode == 0, result.stderr
    assert all(" WARNING " in line for line in result.stderr.splitlines()), result.stderr
    answer = json.loads(result.stdout)
    assert answer["AccessKeyId"].startswith("ASIA") and " " not in answer["AccessKeyId"]
    assert logged_in.count("GetRoleCredentials") == 2
    # the fresh credentials replaced the unusable entry
    cached = json.loads(_role_file().read_text())["Credentials"]
    assert cached["AccessKeyId"] == answer["AccessKeyId"]


def test_unusable_role_cache_entry_is_logged_once(
    logged_in: Emulator, cli: RunCli, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    from aws_sso_tray.aws import profiles, rolecreds

    assert cli("export", "--profile", "dev", "--json").returncode == 0
    _replace_json_value(_role_file(), "Expiration", "Infinity")
    profile = profiles.get_profile("dev")
    with caplog.at_level(logging.DEBUG, logger="aws_sso_tray"):
        for _ in range(3):
            assert rolecreds.cached_credentials(profile) is None
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, warnings
    assert "Expiration" in warnings[0].getMessage()


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (("login", "dev", "--timeout", "99999999999999d"), "--timeout"),
        (
            ("credential-process", "--profile", "dev", "--min-remaining", "99999999999999d"),
            "--min-remaining",
        ),
        (("export", "--profile", "dev", "--min-remaining", "9" * 400), "--min-remaining"),
        (("daemon", "--refresh-before", "99999999999999d"), "--refresh-before"),
        (("daemon", "--warn-before", "0s"), "--warn-before"),
    ],
)
def test_duration_flag_out_of_range_is_a_usage_error(
    setup: Emulator, cli: RunCli, args: tuple[str, ...], flag: str
) -> None:
    result = cli(*args)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert f"argument {flag}:" in last and "from 1s to 365d" in last, result.stderr


# -- 8. one odd portal name does not abort configure ---------------------------------------------


@pytest.fixture
def odd_portal(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    from aws_sso_tray.emulator import Account, EmulatorConfig

    emulator.config = EmulatorConfig(
        accounts=(
            Account("111111111111", "dev", "dev@example.com", ("ReadOnly", " lead", "lead ")),
            Account("222222222222", "prod", "prod@example.com", ("ReadOnly",)),
        )
    )
    monkeypatch.setenv("BROWSER", STANDIN_BROWSER)
    return emulator


def test_configure_skips_a_role_the_config_cannot_hold_and_writes_the_rest(
    odd_portal: Emulator, home: Path
) -> None:
    import botocore.session

    from aws_sso_tray.cli import setup as configure
    from test_configure import Script

    start_url = "https://d-1234567890.awsapps.com/start"
    script = Script(start_url, "us-east-1", "", "", "all")
    assert configure.run_terminal_configure(script.input, script.print) == 0, script.text
    warnings = [line for line in script.printed if line.startswith("Warning: skipped role")]
    assert len(warnings) == 2, script.text
    assert "' lead'" in warnings[0] and "111111111111" in warnings[0]
    session = botocore.session.Session()
    profiles = session.full_config["profiles"]
    assert sorted(profiles) == ["ReadOnly-111111111111", "ReadOnly-222222222222"]
    assert {p["sso_role_name"] for p in profiles.values()} == {"ReadOnly"}


# -- 2. local pages: the PKCE callback takes one answer, then stops listening ---------------------


def test_pkce_callback_refuses_a_second_request_after_the_answer() -> None:
    import http.client
    from urllib.parse import urlencode

    from aws_sso_tray.login import callback

    server = callback.CallbackServer("the-state")
    server.start()
    try:

        def get(query: dict[str, str]) -> int:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            try:
                conn.request("GET", f"/oauth/callback?{urlencode(query)}")
                return conn.getresponse().status
            finally:
                conn.close()

        # a wrong state (a stale tab, another local process) does not use up the callback
        assert get({"code": "forged", "state": "wrong"}) == 400
        assert get({"code": "the-code", "state": "the-state"}) == 200
        assert server.result is not None and server.result.code == "the-code"
        with pytest.raises(ConnectionRefusedError):
            get({"code": "second", "state": "the-state"})
        assert server.result.code == "the-code"
    finally:
        server.close()


# -- 2. the configure page's link works once, for one browser, for 2 minutes ---------------------


def test_configure_link_is_exchanged_once_for_an_httponly_strict_cookie(home: Path) -> None:
    import http.client
    from urllib.parse import urlsplit

    from aws_sso_tray.setup import configure_page
    from pagefetch import Browser

    page = configure_page.start_configure_page(open_browser=False, timeout=60)
    try:
        parts = urlsplit(page.url)
        conn = http.client.HTTPConnection("127.0.0.1", parts.port, timeout=10)
        conn.request("GET", f"/?{parts.query}", headers={"Host": f"127.0.0.1:{parts.port}"})
        answer = conn.getresponse()
        answer.read()
        conn.close()
        assert answer.status == 303
        assert answer.getheader("Location") == "/"  # the page, without the token
        cookie = answer.getheader("Set-Cookie") or ""
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
        assert "Max-Age" not in cookie and "Expires" not in cookie
        # the same browser (it holds the cookie) may come back to the spent link
        browser = Browser()
        name_value = cookie.split(";")[0]
        for opener in (browser._follow, browser._stay):
            opener.addheaders = [("Cookie", name_value)]
        status, body = browser.get(page.url)
        assert status == 200 and 'name="start_url"' in body
        assert page.problem is None
    finally:
        page.stop()


def test_second_use_of_the_configure_link_is_refused_reported_and_ends_the_page(
    home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import logging
    import urllib.error

    from aws_sso_tray.setup import configure_page
    from pagefetch import Browser, form_token

    page = configure_page.start_configure_page(open_browser=False, timeout=60)
    try:
        attacker, victim = Browser(), Browser()
        with caplog.at_level(logging.WARNING, logger="aws_sso_tray"):
            status, body = attacker.get(page.url)  # read from /proc, used first
            assert status == 200
            csrf = form_token(body)
            status, body = victim.get(page.url)
        assert status == 403 and "already used" in body
        assert page.wait(10) is False
        assert page.problem is not None and "opened a second time" in page.problem
        assert any("opened a second time" in r.getMessage() for r in caplog.records)
        # the page is gone for the first browser too: nothing can be written any more
        with pytest.raises(urllib.error.URLError):
            attacker.post(
                page.base_url + "/start",
                {"start_url": "https://x.awsapps.com/start", "region": "us-east-1", "token": csrf},
            )
        assert not (home / ".aws" / "config").exists()
    finally:
        page.stop()


def test_unused_configure_link_expires_and_ends_the_page(home: Path) -> None:
    import urllib.error

    from aws_sso_tray.setup import configure_page
    from pagefetch import Browser

    page = configure_page.start_configure_page(open_browser=False, timeout=60, link_ttl=0.3)
    try:
        assert page.wait(20) is False  # long before the page's own 60 s
        assert page.problem is not None and "expired" in page.problem
        with pytest.raises(urllib.error.URLError):
            Browser().get(page.url)
    finally:
        page.stop()


def test_pagelink_verdicts() -> None:
    from aws_sso_tray.setup.pagelink import COOKIE_NAME, PageLink, Verdict

    now = [0.0]
    link = PageLink(ttl=120, clock=lambda: now[0])
    first = link.new_token()
    assert link.check(None, None) is Verdict.DENIED
    assert link.check("guess", None) is Verdict.DENIED
    assert link.check(first, None) is Verdict.EXCHANGE
    cookie = link.set_cookie_header().split(";")[0]
    assert cookie.startswith(f"{COOKIE_NAME}=")
    assert link.check(None, cookie) is Verdict.OK
    assert link.check(None, f"{COOKIE_NAME}=forged") is Verdict.DENIED
    assert link.check(first, cookie) is Verdict.REDIRECT
    assert link.check(first, None) is Verdict.REUSED
    second = link.new_token()
    third = link.new_token()  # replaces the second, unused
    assert link.check(second, None) is Verdict.EXPIRED
    now[0] = 121
    assert link.check(third, None) is Verdict.EXPIRED
    assert not link.expired_unused()  # a browser holds the cookie

    idle = PageLink(ttl=120, clock=lambda: now[0])
    idle.new_token()
    assert not idle.expired_unused()
    now[0] += 121
    assert idle.expired_unused()
