"""The emulator's browser pages, its browser stand-in, its command line, and botocore's own
SSO credential provider (token refresh included) running against it."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config

from aws_sso_tray.emulator import Emulator, EmulatorConfig
from aws_sso_tray.emulator.browser import BrowseError, browse
from sso_helpers import STANDIN_BROWSER
from waiting import wait_for

START_URL = "https://d-1234567890.awsapps.com/start"
NO_RETRY = Config(signature_version=UNSIGNED, retries={"total_max_attempts": 1})


def oidc_client() -> Any:
    return boto3.client("sso-oidc", region_name="us-east-1", config=NO_RETRY)


def get(url: str, data: bytes | None = None) -> tuple[int, str]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(urllib.request.Request(url, data=data), timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def start_device(emu: Emulator) -> dict[str, Any]:
    oidc = oidc_client()
    client = oidc.register_client(clientName="<b>pages</b>", clientType="public")
    auth = oidc.start_device_authorization(
        clientId=client["clientId"], clientSecret=client["clientSecret"], startUrl=START_URL
    )
    return {**auth, **client}


def assert_self_contained(page: str) -> None:
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)


def test_device_page_shows_the_code_and_a_decision_form(emulator: Emulator) -> None:
    auth = start_device(emulator)
    status, page = get(auth["verificationUriComplete"])
    assert status == 200
    assert auth["userCode"] in page
    assert '<form method="post" action="/device/decision">' in page
    assert f'<input type="hidden" name="user_code" value="{auth["userCode"]}">' in page
    assert 'name="action" value="allow"' in page and 'name="action" value="deny"' in page
    assert_self_contained(page)


def test_device_page_without_a_code_asks_for_one_and_accepts_lowercase(emulator: Emulator) -> None:
    status, page = get(f"{emulator.url}/device")
    assert status == 200 and 'name="user_code"' in page
    auth = start_device(emulator)
    status, page = get(f"{emulator.url}/device?user_code={auth['userCode'].lower()}")
    assert status == 200 and auth["userCode"] in page


def test_device_decision_confirms_and_a_used_or_unknown_code_is_an_error_page(
    emulator: Emulator,
) -> None:
    auth = start_device(emulator)
    form = urlencode({"user_code": auth["userCode"], "action": "deny"}).encode()
    status, page = get(f"{emulator.url}/device/decision", form)
    assert status == 200 and "denied" in page.lower()
    assert_self_contained(page)
    status, page = get(auth["verificationUriComplete"])
    assert status == 400 and "<form" not in page
    status, _ = get(f"{emulator.url}/device/decision", form)
    assert status == 400
    status, page = get(f"{emulator.url}/device?user_code=ZZZZ-ZZZZ")
    assert status == 400 and "unknown code" in page
    with pytest.raises(BrowseError):
        browse(f"{emulator.url}/device?user_code=ZZZZ-ZZZZ")


def test_expired_device_code_page_says_so(emulator: Emulator) -> None:
    auth = start_device(emulator)
    emulator.advance(601)
    status, page = get(auth["verificationUriComplete"])
    assert status == 400 and "expired" in page
    assert emulator.pending_user_codes() == []


def test_authorize_page_escapes_the_client_name_and_loads_nothing_external(
    emulator: Emulator,
) -> None:
    oidc = oidc_client()
    client = oidc.register_client(
        clientName='<script>alert("x")</script>',
        clientType="public",
        grantTypes=["authorization_code", "refresh_token"],
        redirectUris=["http://127.0.0.1/oauth/callback"],
    )
    params = {
        "response_type": "code",
        "client_id": client["clientId"],
        "redirect_uri": "http://127.0.0.1:4000/oauth/callback",
        "state": '"><x',
        "code_challenge_method": "S256",
        "scopes": "sso:account:access",
        "code_challenge": "a" * 43,
    }
    status, page = get(f"{emulator.url}/authorize?{urlencode(params)}")
    assert status == 200
    assert "&lt;script&gt;" in page
    assert_self_contained(page)
    # The state survives the round trip unmangled.
    location = browse(f"{emulator.url}/authorize?{urlencode(params)}", follow_redirect=False)
    assert "state=%22%3E%3Cx" in location


def test_decision_with_a_stale_request_is_an_error_page(emulator: Emulator) -> None:
    form = urlencode({"request_id": "made-up", "action": "allow"}).encode()
    status, page = get(f"{emulator.url}/authorize/decision", form)
    assert status == 400 and "expired" in page


def test_browser_stand_in_works_through_the_browser_variable(emulator: Emulator) -> None:
    auth = start_device(emulator)
    env = {**os.environ, "BROWSER": STANDIN_BROWSER}
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, webbrowser; webbrowser.open(sys.argv[1])",
            auth["verificationUriComplete"],
        ],
        env=env,
        check=True,
        timeout=30,
    )
    wait_for(
        lambda: emulator.center.device_status(auth["userCode"]) != "pending",
        "the stand-in to press Allow",
        20,
        interval=0.05,
    )
    assert emulator.center.device_status(auth["userCode"]) == "approved"


def test_command_line_prints_the_exports_and_stops_cleanly_on_ctrl_c() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "aws_sso_tray.emulator", "--credential-ttl", "30", "--latency", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        assert process.stdout.readline().strip() == f"export AWS_ENDPOINT_URL_SSO={url}"
        assert process.stdout.readline().strip() == f"export AWS_ENDPOINT_URL_SSO_OIDC={url}"
        status, _ = get(f"{url}/")
        assert status == 200
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
        assert process.stderr is not None
        assert "Traceback" not in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_botocore_sso_provider_refreshes_and_gets_credentials(
    emulator: Emulator, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stock botocore, from a cached token about to expire: refresh, then GetRoleCredentials."""
    import botocore.credentials
    import botocore.tokens

    cache = home / ".aws" / "sso" / "cache"
    # botocore fixes these folders when it is imported, before the fixture moved HOME.
    monkeypatch.setattr(botocore.tokens.SSOTokenProvider, "_SSO_TOKEN_CACHE_DIR", str(cache))
    monkeypatch.setattr(botocore.credentials.SSOProvider, "_SSO_TOKEN_CACHE_DIR", str(cache))
    emulator.config.credential_ttl = 900
    oidc = oidc_client()
    client = oidc.register_client(
        clientName="botocore",
        clientType="public",
        grantTypes=["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"],
    )
    auth = oidc.start_device_authorization(
        clientId=client["clientId"], clientSecret=client["clientSecret"], startUrl=START_URL
    )
    emulator.approve_device(auth["userCode"])
    token = oidc.create_token(
        clientId=client["clientId"],
        clientSecret=client["clientSecret"],
        grantType="urn:ietf:params:oauth:grant-type:device_code",
        deviceCode=auth["deviceCode"],
    )
    (home / ".aws" / "config").write_text(
        "[profile dev]\nsso_session = corp\nsso_account_id = 111111111111\n"
        "sso_role_name = Admin\nregion = us-east-1\n\n"
        f"[sso-session corp]\nsso_start_url = {START_URL}\nsso_region = us-east-1\n",
        encoding="utf-8",
    )
    cache.mkdir(parents=True)
    import hashlib

    cached = {
        "startUrl": START_URL,
        "region": "us-east-1",
        "accessToken": token["accessToken"],
        # Five minutes left: botocore refreshes when fewer than fifteen remain.
        "expiresAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 300)),
        "clientId": client["clientId"],
        "clientSecret": client["clientSecret"],
        "registrationExpiresAt": time.strftime(
            "%Y-%m-%dT%H:%M:%SZ", time.gmtime(client["clientSecretExpiresAt"])
        ),
        "refreshToken": token["refreshToken"],
    }
    path = cache / f"{hashlib.sha1(b'corp').hexdigest()}.json"  # noqa: S324 -- AWS's naming
    path.write_text(json.dumps(cached), encoding="utf-8")

    credentials = boto3.Session(profile_name="dev").get_credentials()
    assert credentials is not None
    frozen = credentials.get_frozen_credentials()
    assert frozen.access_key is not None and frozen.access_key.startswith("ASIA")
    assert emulator.count("CreateToken") == 2 and emulator.count("GetRoleCredentials") == 1
    rewritten = json.loads(path.read_text(encoding="utf-8"))
    assert rewritten["accessToken"] != token["accessToken"]
    assert rewritten["refreshToken"] != token["refreshToken"]  # the rotated one was kept


def test_two_emulators_run_side_by_side_and_keep_their_own_state() -> None:
    with Emulator(EmulatorConfig(latency=0)) as one, Emulator() as two:
        assert one.url != two.url
        one_oidc = boto3.client(
            "sso-oidc", region_name="us-east-1", endpoint_url=one.url, config=NO_RETRY
        )
        two_oidc = boto3.client(
            "sso-oidc", region_name="us-east-1", endpoint_url=two.url, config=NO_RETRY
        )
        client = one_oidc.register_client(clientName="a", clientType="public")
        with pytest.raises(two_oidc.exceptions.InvalidClientException):
            two_oidc.start_device_authorization(
                clientId=client["clientId"],
                clientSecret=client["clientSecret"],
                startUrl=START_URL,
            )
