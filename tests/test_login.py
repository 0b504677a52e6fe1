"""login/ against the emulator over real HTTP, with the $BROWSER stand-in playing the person.

The stand-in is a real subprocess started by Python's webbrowser through $BROWSER; it presses
Allow or Deny on the emulator's pages and follows the redirect to our 127.0.0.1 callback.
Stock boto3 then reads the token cache we wrote.
"""

from __future__ import annotations

import itertools
import json
import logging
import shlex
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from aws_sso_tray import clock
from aws_sso_tray.aws import tokens
from aws_sso_tray.aws.profiles import SsoSession
from aws_sso_tray.desktop.browser import launch_browser, open_url
from aws_sso_tray.errors import (
    AlreadyRunningError,
    ConfigError,
    ExitCode,
    LoginDeniedError,
    LoginTimeoutError,
    NetworkError,
    RegistrationError,
    ThrottledError,
)
from aws_sso_tray.login import flows, history
from aws_sso_tray.login.prompt import LoginCancelledError, LoginPrompt
from aws_sso_tray.login.registration import registration_cache_file
from sso_helpers import STANDIN_BROWSER
from waiting import wait_for

if TYPE_CHECKING:
    from aws_sso_tray.emulator import Emulator
    from fixture_types import RunCli, WriteConfig

# The browser stand-in (python -m ... [--deny] [--foreground] URL, tuned by STANDIN_* variables)
STANDIN = "aws_sso_tray.emulator.browser"
START_URL = "https://d-1234567890.awsapps.com/start"

CONFIG = f"""
[profile dev]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = ReadOnly
region = eu-west-1

[sso-session corp]
sso_start_url = {START_URL}
sso_region = us-east-1
sso_registration_scopes = sso:account:access

[profile legacy]
sso_start_url = https://d-legacy.awsapps.com/start
sso_region = us-east-1
sso_account_id = 222222222222
sso_role_name = ReadOnly
"""

SESSION = SsoSession("corp", START_URL, "us-east-1", ("sso:account:access",))
LEGACY = SsoSession(None, "https://d-legacy.awsapps.com/start", "us-east-1", ())


@pytest.fixture
def setup(aws_config: WriteConfig, emulator: Emulator) -> Emulator:
    aws_config(CONFIG)
    # Device logins here wait for an approval the emulator gives at once: interval 0, so
    # they poll every MIN_POLL_INTERVAL, not every second (the tests of the interval itself
    # set AWS's whole seconds back).
    emulator.config.device_poll_interval = 0
    return emulator


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., Path]:
    """`browser("allow")` points $BROWSER at the stand-in; returns its log file."""

    def use(action: str = "allow", delay: float = 0) -> Path:
        log_file = tmp_path / f"standin-{action}.log"
        monkeypatch.setenv("BROWSER", STANDIN_BROWSER)
        monkeypatch.setenv("STANDIN_ACTION", action)
        monkeypatch.setenv("STANDIN_LOG", str(log_file))
        monkeypatch.setenv("STANDIN_DELAY", str(delay))
        return log_file

    return use


def standin_steps(log_file: Path, until: str = "done", timeout: float = 30) -> list[dict[str, Any]]:
    """The stand-in's log entries, once the step `until` appears."""
    end = time.monotonic() + timeout
    while True:
        steps = (
            [json.loads(line) for line in log_file.read_text().splitlines()]
            if log_file.exists()
            else []
        )
        if any(s["step"] == until for s in steps) or time.monotonic() > end:
            return steps
        time.sleep(0.05)


class Prompts(list[LoginPrompt]):
    def __call__(self, prompt: LoginPrompt) -> None:
        self.append(prompt)


def run_in_thread(fn: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, outcome


def http_get(url: str) -> tuple[int, str]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def stock_boto3_access_key(profile: str) -> str:
    """Role credentials as stock boto3 resolves them, in a fresh interpreter.

    A fresh one because botocore fixes its SSO token folder (~ expanded) when it is imported,
    and every test has its own HOME.
    """
    import os
    import subprocess

    script = (
        f"import boto3; c = boto3.Session(profile_name={profile!r}).get_credentials();"
        "print(c.get_frozen_credentials().access_key)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


# --- choose_flow -------------------------------------------------------------------------------

DESKTOP = {"DISPLAY": ":0"}


def choose(env: dict[str, str], **kw: Any) -> tuple[str, str]:
    kw.setdefault("platform", "linux")
    kw.setdefault("proc_version", "Linux version 6.1.0-13-amd64 (Debian)")
    kw.setdefault("path_exists", lambda path: False)
    return flows.choose_flow(SESSION, env, **kw)


def test_choose_flow_desktop_session_uses_pkce() -> None:
    assert choose(DESKTOP)[0] == "pkce"
    assert choose({"WAYLAND_DISPLAY": "wayland-0"})[0] == "pkce"
    assert choose({}, platform="darwin")[0] == "pkce"
    assert choose({}, platform="win32")[0] == "pkce"


@pytest.mark.parametrize(
    ("env", "kw", "why"),
    [
        ({**DESKTOP, "SSH_CONNECTION": "10.0.0.1 5 10.0.0.2 22"}, {}, "SSH"),
        ({**DESKTOP, "SSH_TTY": "/dev/pts/1"}, {}, "SSH"),
        ({}, {}, "no graphical display"),
        (DESKTOP, {"path_exists": lambda p: p == "/.dockerenv"}, "container"),
        (DESKTOP, {"path_exists": lambda p: p == "/run/.containerenv"}, "container"),
        (DESKTOP, {"proc_version": "Linux version 5.15.90.1-microsoft-standard-WSL2"}, "WSL"),
        ({"SSH_TTY": "/dev/pts/1"}, {"platform": "darwin"}, "SSH"),
    ],
)
def test_choose_flow_uses_device_code_where_loopback_fails(
    env: dict[str, str], kw: dict[str, Any], why: str
) -> None:
    flow, reason = choose(env, **kw)
    assert flow == "device"
    assert why in reason


@pytest.mark.parametrize(
    ("env", "kw"),
    [
        ({}, {}),  # no display
        ({"SSH_CONNECTION": "10.0.0.1 5 10.0.0.2 22"}, {}),  # VS Code Remote-SSH
        (DESKTOP, {"path_exists": lambda p: p == "/.dockerenv"}),  # a dev container
        ({}, {"proc_version": "Linux version 5.15.90.1-microsoft-standard-WSL2"}),
    ],
)
def test_choose_flow_browser_variable_is_the_users_word(
    env: dict[str, str], kw: dict[str, Any]
) -> None:
    """VS Code remote, Codespaces and dev containers set $BROWSER to a helper that opens the
    host's browser and forwards the callback port: PKCE works there, so use it."""
    helper = {**env, "BROWSER": "/vscode/bin/helpers/browser.sh"}
    flow, reason = choose(helper, **kw)
    assert flow == "pkce"
    assert "$BROWSER" in reason
    assert choose({**env, "BROWSER": " "}, **kw)[0] == "device"  # blank: not set
    # A legacy profile has no PKCE, $BROWSER or not.
    assert flows.choose_flow(LEGACY, helper, platform="linux", proc_version="")[0] == "device"


def test_choose_flow_legacy_and_explicit_requests() -> None:
    flow, reason = flows.choose_flow(LEGACY, DESKTOP, platform="linux", proc_version="")
    assert flow == "device" and "legacy" in reason
    assert choose(DESKTOP, requested="device")[0] == "device"
    # An explicit pkce skips the environment checks (the user knows the browser can reach us).
    assert choose({"SSH_TTY": "x"}, requested="pkce")[0] == "pkce"
    with pytest.raises(ConfigError, match="sso-session"):
        flows.choose_flow(LEGACY, DESKTOP, requested="pkce")


# --- PKCE ----------------------------------------------------------------------------------------


def test_pkce_allow_writes_cli_caches_that_stock_boto3_uses(
    setup: Emulator, browser: Callable[..., Path], home: Path
) -> None:
    emu = setup
    log_file = browser("allow")
    prompts = Prompts()

    token = flows.login(SESSION, flow="pkce", timeout=20, on_prompt=prompts)

    # The prompt carried the authorize URL on the (overridden) OIDC endpoint, with PKCE.
    (prompt,) = prompts
    parts = urlsplit(prompt.url)
    query = parse_qs(parts.query)
    assert prompt.url.startswith(f"{emu.url}/authorize?")
    assert query["response_type"] == ["code"]
    assert query["code_challenge_method"] == ["S256"]
    assert query["scopes"] == ["sso:account:access"]
    redirect = urlsplit(query["redirect_uri"][0])
    assert (redirect.hostname, redirect.path) == ("127.0.0.1", "/oauth/callback")
    assert prompt.flow == "pkce" and prompt.user_code is None

    # The stand-in pressed Allow and our callback answered the friendly page.
    steps = standin_steps(log_file)
    assert [s["step"] for s in steps if s["step"] != "launch"] == [
        "open",
        "submit",
        "redirect",
        "done",
    ]
    assert steps[-1]["status"] == 200

    # The AWS CLI token cache: sha1(session name), AWS CLI keys, with a refresh token.
    cache = tokens.token_cache_file(SESSION)
    data = json.loads(cache.read_text())
    assert data["accessToken"] == token.access_token
    assert data["startUrl"] == START_URL and data["region"] == "us-east-1"
    assert data["refreshToken"] and data["clientId"] and data["clientSecret"]
    assert data["expiresAt"].endswith("Z")
    assert cache.stat().st_mode & 0o777 == 0o600
    # The AWS CLI's registration cache, with the auth-code grants.
    registration = json.loads(registration_cache_file(SESSION).read_text())
    assert registration["clientId"] == data["clientId"]
    assert registration["grantTypes"] == ["authorization_code", "refresh_token"]
    assert registration["scopes"] == ["sso:account:access"]

    # Stock boto3 gets role credentials with our token, no further step.
    assert stock_boto3_access_key("dev").startswith("ASIA")
    # (the emulator logs a request after answering it)
    wait_for(lambda: emu.count("GetRoleCredentials") == 1)

    # The login time is recorded, and the session end estimated from it.
    started = history.login_time(SESSION)
    assert started is not None and abs((clock.now() - started).total_seconds()) < 10
    end = history.session_end(SESSION, session_duration=timedelta(hours=8))
    assert end == started + timedelta(hours=8)


def test_pkce_deny_raises_login_denied_and_writes_nothing(
    setup: Emulator, browser: Callable[..., Path]
) -> None:
    browser("deny")
    with pytest.raises(LoginDeniedError, match="denied"):
        flows.login(SESSION, flow="pkce", timeout=20)
    assert not tokens.token_cache_file(SESSION).exists()
    assert history.login_time(SESSION) is None


def test_pkce_wrong_state_is_rejected_and_login_still_completes(
    setup: Emulator, browser: Callable[..., Path]
) -> None:
    # The person presses Allow only after the forged calls: a browser started by the login
    # itself could win that race on a busy machine and close the callback first.
    browser("ignore")
    prompts = Prompts()
    thread, outcome = run_in_thread(
        lambda: flows.login(SESSION, flow="pkce", timeout=60, on_prompt=prompts)
    )
    wait_for(lambda: prompts)
    redirect = parse_qs(urlsplit(prompts[0].url).query)["redirect_uri"][0]
    status, page = http_get(f"{redirect}?{urlencode({'code': 'forged', 'state': 'wrong'})}")
    assert status == 400 and "does not belong" in page
    status, _ = http_get(redirect.replace("/oauth/callback", "/other"))
    assert status == 404

    subprocess_run_standin(prompts[0].url, "allow")  # fails unless the final page is a 200
    thread.join(60)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["value"].access_token


def test_pkce_timeout_when_nobody_acts(setup: Emulator, browser: Callable[..., Path]) -> None:
    log_file = browser("ignore")
    with pytest.raises(LoginTimeoutError, match="not completed within 1 s"):
        flows.login(SESSION, flow="pkce", timeout=1.0)
    assert [s["step"] for s in standin_steps(log_file, until="ignore")][-1] == "ignore"
    assert not tokens.token_cache_file(SESSION).exists()


def test_cancel_stops_waiting_promptly(setup: Emulator, browser: Callable[..., Path]) -> None:
    browser("ignore")
    cancel = threading.Event()
    prompts = Prompts()
    thread, outcome = run_in_thread(
        lambda: flows.login(SESSION, flow="pkce", timeout=60, on_prompt=prompts, cancel=cancel)
    )
    wait_for(lambda: prompts)
    cancel.set()
    # The login would wait its 60 s: ending well before that proves the cancel was heard.
    thread.join(30)
    assert not thread.is_alive()
    assert isinstance(outcome["error"], LoginCancelledError)


def test_registration_is_reused_across_logins(
    setup: Emulator, browser: Callable[..., Path]
) -> None:
    emu = setup
    browser("allow")
    first = flows.login(SESSION, flow="pkce", timeout=20)
    second = flows.login(SESSION, flow="pkce", timeout=20)
    assert emu.count("RegisterClient") == 1
    assert second.client_id == first.client_id
    assert second.access_token != first.access_token


def test_registration_expiring_within_15_minutes_is_replaced(
    setup: Emulator, browser: Callable[..., Path]
) -> None:
    emu = setup
    browser("allow")
    flows.login(SESSION, flow="pkce", timeout=20)
    path = registration_cache_file(SESSION)
    data = json.loads(path.read_text())
    data["expiresAt"] = clock.format_time(clock.now() + timedelta(minutes=10))
    path.write_text(json.dumps(data))
    flows.login(SESSION, flow="pkce", timeout=20)
    assert emu.count("RegisterClient") == 2


def test_registration_rejected_is_a_registration_error(
    setup: Emulator, browser: Callable[..., Path]
) -> None:
    browser("allow")
    bad = SsoSession("corp", START_URL, "us-east-1", ("not a valid scope!",))
    with pytest.raises(RegistrationError):
        flows.login(bad, flow="pkce", timeout=5)
    assert not tokens.token_cache_file(bad).exists()


def test_unreachable_endpoint_is_a_network_error(
    setup: Emulator, browser: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSO_OIDC", f"http://127.0.0.1:{port}")
    browser("allow")
    with pytest.raises(NetworkError) as caught:
        flows.login(SESSION, flow="pkce", timeout=5)
    assert "\n" not in caught.value.message
    assert caught.value.exit_code == ExitCode.NETWORK


@pytest.mark.parametrize("op", ["RegisterClient", "StartDeviceAuthorization"])
def test_throttled_is_a_throttled_error(setup: Emulator, op: str) -> None:
    emu = setup
    emu.inject_fault(op, "throttle", count=10)
    with pytest.raises(ThrottledError) as caught:
        flows.login(SESSION, flow="device", open_browser=False, timeout=5)
    assert caught.value.exit_code == ExitCode.THROTTLED


def test_a_server_error_while_registering_is_retried_later_not_a_rejected_registration(
    setup: Emulator,
) -> None:
    """What to do after a RegisterClient failure comes from clients.ERROR_CODES: a 500
    (InternalServerException, after botocore's own retries) is a service error to retry, not
    "the registration was rejected: check the config"."""
    from aws_sso_tray.errors import Recovery, ServiceError

    emu = setup
    emu.inject_fault("RegisterClient", "5xx", count=10)
    with pytest.raises(ServiceError) as caught:
        flows.login(SESSION, flow="device", open_browser=False, timeout=5)
    assert not isinstance(caught.value, RegistrationError)
    assert caught.value.exit_code == ExitCode.SERVICE
    assert caught.value.recovery is Recovery.RETRY
    assert "InternalServerException" in caught.value.message
    assert "\n" not in caught.value.message


def test_poll_interval_is_the_services_with_rfc_8628s_default() -> None:
    assert flows.poll_interval({"interval": 5}) == 5.0
    assert flows.poll_interval({"interval": 1}) == 1.0
    assert flows.poll_interval({}) == flows.DEFAULT_POLL_INTERVAL == 5.0  # none given
    # 0 is a value (poll without waiting), but never a busy loop.
    assert flows.poll_interval({"interval": 0}) == flows.MIN_POLL_INTERVAL > 0


def test_error_exit_codes_are_distinct() -> None:
    classes = [
        LoginDeniedError,
        LoginTimeoutError,
        NetworkError,
        ThrottledError,
        RegistrationError,
        AlreadyRunningError,
    ]
    assert len({c.exit_code for c in classes}) == len(classes)


# --- device code ---------------------------------------------------------------------------------


def test_device_allow_for_legacy_profile(setup: Emulator, browser: Callable[..., Path]) -> None:
    emu = setup
    log_file = browser("allow")
    prompts = Prompts()
    token = flows.login(LEGACY, flow="auto", timeout=20, on_prompt=prompts)
    (prompt,) = prompts
    assert prompt.flow == "device" and "legacy" in prompt.reason
    assert prompt.user_code and prompt.user_code in prompt.url
    assert prompt.url.startswith(f"{emu.url}/device")
    assert standin_steps(log_file)[-1]["status"] == 200
    # Legacy: cache named by the start URL; the registration (no grantTypes) gets no refresh.
    assert json.loads(tokens.token_cache_file(LEGACY).read_text())["accessToken"] == (
        token.access_token
    )
    assert token.refresh_token is None
    # Without a refresh token the session ends when the token does.
    assert history.session_end(LEGACY) == token.expires_at
    assert stock_boto3_access_key("legacy").startswith("ASIA")


def test_device_login_of_an_sso_session_renews_silently(
    setup: Emulator, browser: Callable[..., Path]
) -> None:
    """Device code for an [sso-session], even one without sso_registration_scopes, registers
    with scopes, so the token carries a refresh token that renews it without a browser."""
    emu = setup
    browser("allow")
    bare = SsoSession("corp", START_URL, "us-east-1", ())  # no sso_registration_scopes
    token = flows.login(bare, flow="device", timeout=20)
    assert token.refresh_token
    emu.clear_requests()
    renewed = tokens.valid_token(bare, now=token.expires_at - timedelta(minutes=5))
    assert renewed.access_token != token.access_token
    assert [r.op for r in emu.requests] == ["CreateToken"]


def test_device_deny(setup: Emulator, browser: Callable[..., Path]) -> None:
    browser("deny")
    with pytest.raises(LoginDeniedError, match="denied"):
        flows.login(SESSION, flow="device", timeout=20)
    assert not tokens.token_cache_file(SESSION).exists()


@pytest.mark.slow  # real time: the emulator's device code and poll interval
def test_device_code_expired(setup: Emulator, browser: Callable[..., Path]) -> None:
    emu = setup
    emu.config.device_poll_interval = 1
    emu.config.device_code_ttl = 1.5
    browser("ignore")
    with pytest.raises(LoginTimeoutError, match="expired before it was approved"):
        flows.login(SESSION, flow="device", timeout=20)


@pytest.mark.slow  # real time: the emulator's device code and poll interval
def test_device_slow_down_adds_to_the_interval(
    setup: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu = setup
    emu.config.device_poll_interval = 1
    monkeypatch.setattr(flows, "SLOW_DOWN_DELAY", 0.5)  # 5 s in production: keep the test fast
    emu.inject_fault("CreateToken", "throttle", count=1)  # SlowDownException
    prompts = Prompts()

    def approve(prompt: LoginPrompt) -> None:
        prompts.append(prompt)

    thread, outcome = run_in_thread(
        lambda: flows.login(
            SESSION, flow="device", open_browser=False, timeout=20, on_prompt=approve
        )
    )
    wait_for(lambda: emu.count("CreateToken") >= 2)
    assert prompts[0].user_code is not None
    emu.approve_device(prompts[0].user_code)
    thread.join(20)
    assert "value" in outcome, outcome.get("error")
    polls = [r.time for r in emu.requests if r.op == "CreateToken"]
    gaps = [b - a for a, b in itertools.pairwise(polls)]
    # interval 1 s from the emulator; after the SlowDown every gap is 1 + 0.5 s.
    assert all(gap >= 1.45 for gap in gaps), gaps
    assert [r.status for r in emu.requests if r.op == "CreateToken"][-1] == 200


def test_no_browser_reports_the_url_and_opens_nothing(
    setup: Emulator, browser: Callable[..., Path]
) -> None:
    emu = setup
    log_file = browser("allow")
    prompts = Prompts()
    thread, outcome = run_in_thread(
        lambda: flows.login(
            SESSION, flow="device", open_browser=False, timeout=20, on_prompt=prompts
        )
    )
    wait_for(lambda: prompts)
    assert prompts[0].opening_browser is False
    # The person opens the reported URL on another device.
    subprocess_run_standin(prompts[0].url, "allow")
    thread.join(20)
    assert outcome["value"].access_token
    assert not log_file.exists()  # $BROWSER was never started
    assert emu.count("page:/device") >= 1


def subprocess_run_standin(url: str, action: str) -> None:
    """The person opens `url` in a browser themselves and presses `action`."""
    import os
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        log_file = Path(folder) / "standin.log"
        done = subprocess.run(
            [sys.executable, "-m", STANDIN, "--foreground", url],
            env={**os.environ, "STANDIN_ACTION": action, "STANDIN_LOG": str(log_file)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        steps = log_file.read_text() if log_file.exists() else ""
    assert done.returncode == 0, (done.stderr, steps)


# --- one login at a time -------------------------------------------------------------------------


@pytest.fixture
def waiting_login(setup: Emulator, browser: Callable[..., Path]) -> Iterator[dict[str, Any]]:
    """A PKCE login of SESSION waiting for a browser that does nothing."""
    log_file = browser("ignore")
    prompts = Prompts()
    thread, outcome = run_in_thread(
        # Long enough to outlast a slow machine: every test finishes this login itself, and
        # a timed-out login would close the callback the test's browser then redirects to.
        lambda: flows.login(SESSION, flow="pkce", timeout=90, on_prompt=prompts)
    )
    wait_for(lambda: prompts)
    # The stand-in starts in the background: until it has looked at the page and done nothing,
    # a test changing STANDIN_ACTION could make it press Allow and end this login early.
    steps = standin_steps(log_file, until="ignore", timeout=60)
    assert [s["step"] for s in steps][-1] == "ignore", steps
    yield {"prompt": prompts[0], "thread": thread, "outcome": outcome}
    thread.join(95)


def test_second_login_reports_the_waiting_one(waiting_login: dict[str, Any]) -> None:
    with pytest.raises(AlreadyRunningError) as caught:
        flows.login(SESSION, flow="pkce", timeout=5)
    assert waiting_login["prompt"].url in caught.value.message
    # Finish the first login as the person would, in the browser.
    subprocess_run_standin(waiting_login["prompt"].url, "allow")
    waiting_login["thread"].join(20)
    assert waiting_login["outcome"]["value"].access_token


def test_second_login_can_join_the_waiting_one(waiting_login: dict[str, Any]) -> None:
    joined = Prompts()
    thread, outcome = run_in_thread(
        lambda: flows.login(SESSION, flow="pkce", timeout=20, on_prompt=joined, join=True)
    )
    wait_for(lambda: joined)
    assert joined[0].joined and joined[0].url == waiting_login["prompt"].url
    subprocess_run_standin(waiting_login["prompt"].url, "allow")
    thread.join(20)
    waiting_login["thread"].join(20)
    assert outcome["value"] == waiting_login["outcome"]["value"]


def test_other_sessions_are_not_blocked(
    waiting_login: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STANDIN_ACTION", "allow")
    assert flows.login(LEGACY, flow="device", timeout=20).access_token
    subprocess_run_standin(waiting_login["prompt"].url, "allow")


# --- logout --------------------------------------------------------------------------------------


def test_logout_revokes_and_deletes_files(
    setup: Emulator, browser: Callable[..., Path], home: Path
) -> None:
    emu = setup
    browser("allow")
    token = flows.login(SESSION, flow="pkce", timeout=20)
    from aws_sso_tray.aws import profiles, rolecreds

    profile = profiles.get_profile("dev")
    rolecreds.get_credentials(profile)  # our own role-credential cache for the profile
    assert rolecreds.cache_file(profile).exists()

    result = flows.logout(SESSION)

    assert result.token_found and result.revoked and result.revoke_error is None
    assert result.credentials_deleted >= 1
    assert not tokens.token_cache_file(SESSION).exists()
    assert not rolecreds.cache_file(profile).exists()
    assert history.login_time(SESSION) is None
    assert history.get(SESSION.cache_key) is None
    wait_for(lambda: emu.count("Logout") == 1)
    # The server-side session is over: the old token gets 401.
    from botocore.exceptions import ClientError

    from aws_sso_tray.aws import clients

    portal = clients.portal_client("us-east-1")
    with pytest.raises(ClientError) as caught:
        portal.get_role_credentials(
            roleName="ReadOnly", accountId="111111111111", accessToken=token.access_token
        )
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 401


def test_logout_with_an_already_invalid_token_and_without_one(
    setup: Emulator, browser: Callable[..., Path]
) -> None:
    emu = setup
    browser("allow")
    flows.login(SESSION, flow="pkce", timeout=20)
    emu.revoke_all()
    result = flows.logout(SESSION)
    assert result.revoked and result.revoke_error is None
    assert not tokens.token_cache_file(SESSION).exists()
    again = flows.logout(SESSION)
    assert not again.token_found and not again.revoked


def test_token_written_by_the_aws_cli_is_used(
    setup: Emulator, browser: Callable[..., Path]
) -> None:
    """A token file as `aws sso login` writes it (no refresh token, ISO with +00:00)."""
    emu = setup
    browser("allow")
    real = flows.login(SESSION, flow="pkce", timeout=20)
    cli_form = {
        "startUrl": START_URL,
        "region": "us-east-1",
        "accessToken": real.access_token,
        "expiresAt": (clock.now() + timedelta(minutes=50)).isoformat(),
    }
    tokens.token_cache_file(SESSION).write_text(json.dumps(cli_form))
    history.clear(SESSION.cache_key)
    end = history.session_end(SESSION)
    assert end is not None and abs((end - clock.now()) - timedelta(minutes=50)) < timedelta(
        seconds=5
    )
    assert flows.logout(SESSION).revoked
    wait_for(lambda: emu.count("Logout") == 1)


def test_session_end_without_token_is_none(home: Path) -> None:
    assert history.session_end(SESSION) is None
    assert history.login_time(SESSION) is None


# --- secrets -------------------------------------------------------------------------------------


def test_no_secret_in_logs_at_debug(
    setup: Emulator, browser: Callable[..., Path], caplog: pytest.LogCaptureFixture
) -> None:
    emu = setup
    browser("allow")
    # As logs.setup_logging does for every face: botocore logs whole bodies at DEBUG, so its
    # loggers are capped at INFO. (Not caplog.set_level: that would also raise its handler's
    # level and hide our DEBUG records.)
    noisy = [logging.getLogger(name) for name in ("botocore", "boto3", "urllib3")]
    levels = [logger.level for logger in noisy]
    for logger in noisy:
        logger.setLevel(logging.INFO)
    caplog.set_level(logging.DEBUG)
    try:
        flows.login(SESSION, flow="pkce", timeout=20)
        flows.login(LEGACY, flow="device", timeout=20)
        flows.logout(SESSION)
    finally:
        for logger, level in zip(noisy, levels, strict=True):
            logger.setLevel(level)
    issued = emu.issued_secrets()
    assert len(issued) >= 4
    text = caplog.text + "".join(repr(r.args) for r in caplog.records)
    debug = [r for r in caplog.records if r.levelno == logging.DEBUG]
    assert {"aws_sso_tray.login.callback", "aws_sso_tray.emulator"} <= {r.name for r in debug}
    for secret in issued:
        assert secret not in text


# --- the real CLI --------------------------------------------------------------------------------


def test_cli_login_and_logout(setup: Emulator, browser: Callable[..., Path], cli: RunCli) -> None:
    """`aws-sso-tray login dev` in a subprocess with no display (and, on CI, in a container):
    $BROWSER is set, so the user's browser command gets the PKCE page, and the reason says so."""
    emu = setup
    log_file = browser("allow")
    done = cli("login", "dev", "--timeout", "30s", env={"DISPLAY": "", "WAYLAND_DISPLAY": ""})
    assert done.returncode == 0, done.stderr
    assert "$BROWSER" in done.stderr and "/authorize?" in done.stderr
    assert "device-code" not in done.stderr
    assert standin_steps(log_file)[-1]["status"] == 200
    assert emu.count("StartDeviceAuthorization") == 0
    assert tokens.read_token(SESSION) is not None
    assert stock_boto3_access_key("dev").startswith("ASIA")

    done = cli("logout", "dev")
    assert done.returncode == 0, done.stderr
    assert tokens.read_token(SESSION) is None
    wait_for(lambda: emu.count("Logout") == 1)


def test_cli_login_denied_exit_code(
    setup: Emulator, browser: Callable[..., Path], cli: RunCli
) -> None:
    browser("deny")
    done = cli("login", "dev", "--timeout", "30s")
    assert done.returncode == ExitCode.LOGIN_DENIED, done.stderr
    assert "Traceback" not in done.stderr
    assert not tokens.token_cache_file(SESSION).exists()


def dying_browser(tmp_path: Path, name: str = "dying-browser") -> tuple[str, Path]:
    """A $BROWSER command that fails at once, as Chromium does when root starts it without
    --no-sandbox; it records each URL it was given."""
    calls = tmp_path / f"{name}.calls"
    script = tmp_path / name
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$1" >> {shlex.quote(str(calls))}\n'
        'echo "Running as root without --no-sandbox is not supported." >&2\n'
        "exit 1\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    return str(script), calls


def test_launch_browser_reports_a_browser_that_dies_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    command, calls = dying_browser(tmp_path)
    monkeypatch.setenv("BROWSER", command)
    problem = launch_browser("http://127.0.0.1:9/authorize?x=1")
    assert problem is not None
    assert "exited with status 1" in problem and "--no-sandbox" in problem
    assert calls.read_text().split() == ["http://127.0.0.1:9/authorize?x=1"]
    assert open_url("http://127.0.0.1:9/") is False
    # A launcher that hands the URL on and exits 0, or a browser that stays up, opened it.
    monkeypatch.setenv("BROWSER", "true %s")
    assert launch_browser("http://127.0.0.1:9/") is None
    monkeypatch.setenv("BROWSER", "sh -c 'sleep 5' browser %s")
    assert launch_browser("http://127.0.0.1:9/") is None
    monkeypatch.setenv("BROWSER", str(tmp_path / "no-such-browser"))
    problem = launch_browser("http://127.0.0.1:9/")
    assert problem is not None and "cannot be run" in problem


@pytest.mark.parametrize("flow", ["pkce", "device"])
def test_cli_login_shows_the_url_when_the_browser_dies_at_once(
    setup: Emulator, cli: RunCli, tmp_path: Path, flow: str
) -> None:
    command, calls = dying_browser(tmp_path)
    args = ["--use-device-code"] if flow == "device" else []
    done = cli("login", "dev", *args, "--timeout", "4s", env={"BROWSER": command})
    assert done.returncode == ExitCode.LOGIN_TIMEOUT, done.stderr
    assert "Traceback" not in done.stderr
    url = calls.read_text().strip()
    assert url.startswith(setup.url + ("/device?" if flow == "device" else "/authorize?"))
    # Where to sign in is on the terminal after the failure, with what failed.
    after = done.stderr.split("Could not open a browser", 1)
    assert len(after) == 2, done.stderr
    assert "exited with status 1" in after[1] and url in after[1]
    if flow == "device":
        code = parse_qs(urlsplit(url).query)["user_code"][0]
        assert f"code {code}" in after[1]


def test_logout_records_a_sign_out_that_the_next_sign_in_clears(
    setup: Emulator, browser: Callable[..., Path]
) -> None:
    browser("allow")
    flows.login(SESSION, flow="pkce", timeout=30)
    assert history.signed_out_at(SESSION.cache_key) is None
    flows.logout(SESSION)
    when = history.signed_out_at(SESSION.cache_key, SESSION.start_url)
    assert when is not None and abs((clock.now() - when).total_seconds()) < 120
    assert history.get(SESSION.cache_key) is None  # the login time is forgotten
    # A sign-out of another start URL under the same name (a renamed session) does not count.
    assert history.signed_out_at(SESSION.cache_key, "https://other.awsapps.com/start") is None
    mode = history.state_file().stat().st_mode & 0o777
    assert mode == 0o600
    flows.login(SESSION, flow="pkce", timeout=30)
    assert history.signed_out_at(SESSION.cache_key) is None
    assert history.get(SESSION.cache_key) is not None
