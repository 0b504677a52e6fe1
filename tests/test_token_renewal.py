"""Token renewal under contention and near the session end (issue 9, points 1-3).

Real boto3 against the emulator over HTTP, real token files in the test's HOME written the way
the AWS CLI v2, botocore and the AWS SDK for JavaScript v3 write them, stock botocore in a
subprocess as the "other process". The test's clock and the emulator's clock move together
(`Clock`), so "the last 15 minutes of the session" is the same moment for both.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from aws_sso_tray.aws import tokens
from aws_sso_tray.aws.profiles import SsoSession
from aws_sso_tray.errors import LoginNeededError
from aws_sso_tray.files import atomicfile
from sso_helpers import (
    device_login,
    oidc,
    run_stock_botocore,
    save_like_botocore,
    session_config,
    settled_count,
)
from waiting import wait_for

if TYPE_CHECKING:
    from aws_sso_tray.emulator import Emulator
    from fixture_types import WriteConfig

UTC = timezone.utc
SESSION = SsoSession(
    name="corp",
    start_url="https://d-9999999999.awsapps.com/start",
    region="us-east-1",
    registration_scopes=("sso:account:access",),
)
SESSION_TTL = timedelta(hours=8)  # the emulator's default session_ttl


@dataclass
class Clock:
    """The test's `now` and the emulator's clock, moved forward together."""

    emulator: Emulator
    now: datetime

    def advance(self, delta: timedelta) -> None:
        self.now += delta
        self.emulator.advance(delta.total_seconds())


def late_session(emulator: Emulator, left: timedelta = timedelta(minutes=40)) -> tuple[Any, Clock]:
    """A logged-in session with `left` to go, and its token renewed so that it ends with the
    session: what a user has in the last hour of a working day. Returns (token, clock); the
    session ends at `clock.ends`."""
    login = device_login(emulator, SESSION)
    issued = login["expiresAt"] - timedelta(hours=1)
    clk = Clock(emulator, issued)
    clk.advance(SESSION_TTL - left)
    token = tokens.valid_token(SESSION, now=clk.now, login_hint="dev")
    assert settled_count(emulator, "CreateToken", 2) == 2
    assert token.expires_at - clk.now > timedelta(minutes=15)  # outside the window for now
    return token, clk


def file_text() -> str:
    return tokens.token_cache_file(SESSION).read_text(encoding="utf-8")


def file_dict() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(file_text())
    return data


def refresh_token_is_live(refresh_token: str, client_id: str, client_secret: str) -> bool:
    """Ask the emulator: would CreateToken accept this refresh token now?"""
    from botocore.exceptions import ClientError

    try:
        oidc(SESSION.region).create_token(
            grantType="refresh_token",
            clientId=client_id,
            clientSecret=client_secret,
            refreshToken=refresh_token,
        )
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "InvalidGrantException"
        return False
    return True


def botocore_renewal_script(now: datetime) -> str:
    """botocore's SSOTokenProvider for profile dev, its clock at `now`: it renews the cached
    token (less than 15 minutes left), writes it back and prints it."""
    return f"""
import botocore.session, datetime, json
from botocore.tokens import SSOTokenProvider
now = datetime.datetime.fromisoformat({now.isoformat()!r})
provider = SSOTokenProvider(botocore.session.Session(profile="dev"), time_fetcher=lambda: now)
print(json.dumps(provider.load_token().get_frozen_token().token))
"""


def in_thread(call: Any) -> tuple[threading.Thread, dict[str, Any]]:
    """Run `call()` in a started thread; the dict gets "result" or "error"."""
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["result"] = call()
        except Exception as exc:
            out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


@pytest.fixture
def patient(monkeypatch: pytest.MonkeyPatch) -> None:
    """Our clients wait long for a held answer: a busy machine must not turn a held request
    into a read timeout and a retry (20 s by default)."""
    from aws_sso_tray.aws import clients

    monkeypatch.setattr(clients, "READ_TIMEOUT", 300)


# --- the emulator can order two clients' calls ---------------------------------------------


def test_emulator_hold_fault_waits_for_release(emulator: Emulator) -> None:
    emulator.inject_fault("RegisterClient", "hold")
    thread, out = in_thread(
        lambda: oidc("us-east-1").register_client(clientName="x", clientType="public")
    )
    wait_for(lambda: emulator.held() == 1, "the request to be held")
    # A second client is not held: its call is answered while the first one waits.
    oidc("us-east-1").register_client(clientName="y", clientType="public")
    assert "result" not in out and emulator.held() == 1
    emulator.release()
    thread.join(timeout=30)
    assert out["result"]["clientId"] and emulator.held() == 0


# --- point 1: near the session end ----------------------------------------------------------


def test_no_renewal_loop_in_the_last_15_minutes(emulator: Emulator) -> None:
    token, clk = late_session(emulator)
    end = token.expires_at
    seen = {token.access_token}
    while clk.now < end - timedelta(seconds=30):
        clk.advance(timedelta(seconds=30))
        seen.add(tokens.valid_token(SESSION, now=clk.now, login_hint="dev").access_token)
    # One renewal when the token entered the refresh window. It could not reach past the
    # session end, so the refresh token is not rotated again on every call.
    assert settled_count(emulator, "CreateToken", 3) == 3
    assert len(seen) == 2
    # The session really ends when the service refuses the refresh token.
    clk.advance(timedelta(minutes=1))
    with pytest.raises(LoginNeededError, match=r"ended \(refresh refused\).*login dev"):
        tokens.valid_token(SESSION, now=clk.now, login_hint="dev")
    assert settled_count(emulator, "CreateToken", 4) == 4


def test_short_lived_tokens_are_still_renewed_before_they_expire(emulator: Emulator) -> None:
    # A service issuing 10-minute tokens: every renewal lands inside the 15-minute window, but
    # each one extends the token, so renewing must go on (near its own expiry, not every call).
    emulator.config.access_token_ttl = 600
    login = device_login(emulator, SESSION)
    clk = Clock(emulator, login["expiresAt"] - timedelta(minutes=10))
    ends = clk.now + timedelta(hours=1)
    renewals = 0
    while clk.now < ends:
        before = tokens.read_token(SESSION)
        token = tokens.valid_token(SESSION, now=clk.now)
        assert not token.expired(clk.now)
        renewals += before is not None and token.access_token != before.access_token
        clk.advance(timedelta(seconds=30))
    # An hour of 10-minute tokens needs at least 6 renewals; every call (120) would be a loop.
    assert 6 <= renewals <= 15
    assert settled_count(emulator, "CreateToken", 1 + renewals) == 1 + renewals


def test_two_threads_renewing_at_once_make_one_create_token(
    emulator: Emulator, caplog: pytest.LogCaptureFixture, patient: None
) -> None:
    caplog.set_level(logging.DEBUG, logger="aws_sso_tray.aws.tokens")
    token, clk = late_session(emulator)
    clk.advance(token.expires_at - clk.now - timedelta(minutes=14))
    emulator.inject_fault("CreateToken", "hold")
    now = clk.now
    first, first_out = in_thread(lambda: tokens.valid_token(SESSION, now=now))
    wait_for(lambda: emulator.held() == 1, "the first renewal to reach the service")
    second, second_out = in_thread(lambda: tokens.valid_token(SESSION, now=now))
    # The second caller waits for the renewal in flight (it says so at DEBUG) ...
    wait_for(
        lambda: "waiting for the renewal" in caplog.text,
        "the second caller to wait",
        timeout=60,
    )
    emulator.release()
    first.join(timeout=60)
    second.join(timeout=60)
    # ... and takes its result: one CreateToken, one token for both.
    assert "error" not in first_out and "error" not in second_out
    assert first_out["result"].access_token == second_out["result"].access_token
    assert first_out["result"].access_token != token.access_token
    assert settled_count(emulator, "CreateToken", 3) == 3
    assert file_dict()["accessToken"] == first_out["result"].access_token


def test_two_threads_share_a_refused_renewal(
    emulator: Emulator, caplog: pytest.LogCaptureFixture, patient: None
) -> None:
    caplog.set_level(logging.DEBUG, logger="aws_sso_tray.aws.tokens")
    login = device_login(emulator, SESSION)
    now = login["expiresAt"] - timedelta(minutes=10)
    before = file_text()
    emulator.revoke_all()
    emulator.inject_fault("CreateToken", "hold")
    first, first_out = in_thread(lambda: tokens.valid_token(SESSION, now=now))
    wait_for(lambda: emulator.held() == 1, "the first renewal to reach the service")
    second, second_out = in_thread(lambda: tokens.valid_token(SESSION, now=now))
    wait_for(
        lambda: "waiting for the renewal" in caplog.text,
        "the second caller to wait",
        timeout=60,
    )
    emulator.release()
    first.join(timeout=60)
    second.join(timeout=60)
    assert isinstance(first_out.get("error"), LoginNeededError)
    assert isinstance(second_out.get("error"), LoginNeededError)
    assert settled_count(emulator, "CreateToken", 2) == 2  # the login, one refused renewal
    assert file_text() == before


def test_invalid_grant_after_botocore_renewed_meanwhile_uses_its_token(
    emulator: Emulator, aws_config: WriteConfig, patient: None
) -> None:
    aws_config(session_config(SESSION, "dev", "111111111111", "ReadOnly"))
    token, clk = late_session(emulator)
    clk.advance(token.expires_at - clk.now - timedelta(minutes=14))
    emulator.inject_fault("CreateToken", "hold")
    now = clk.now
    ours, out = in_thread(lambda: tokens.valid_token(SESSION, now=now, login_hint="dev"))
    wait_for(lambda: emulator.held() == 1, "our renewal to reach the service")
    # Meanwhile stock botocore in another process (no lock of ours; its clock 5 s behind)
    # renews with the same refresh token: the service rotates it, ours is now spent.
    theirs = json.loads(run_stock_botocore(botocore_renewal_script(now - timedelta(seconds=5))))
    emulator.release()
    ours.join(timeout=60)
    assert settled_count(emulator, "CreateToken", 4) == 4  # login, late renewal, theirs, ours
    # Refused, but another writer renewed: its token is the answer, not "session ended".
    assert "error" not in out, out.get("error")
    assert out["result"].access_token == theirs == file_dict()["accessToken"]
    assert theirs != token.access_token


def test_a_renewal_by_another_process_while_we_wait_for_the_lock_is_used(
    emulator: Emulator, aws_config: WriteConfig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="aws_sso_tray.aws.tokens")
    aws_config(session_config(SESSION, "dev", "111111111111", "ReadOnly"))
    token, clk = late_session(emulator)
    clk.advance(token.expires_at - clk.now - timedelta(minutes=14))
    now = clk.now
    with atomicfile.locked(tokens.token_cache_file(SESSION)):  # another of our processes
        worker, out = in_thread(lambda: tokens.valid_token(SESSION, now=now))
        wait_for(
            lambda: "renewing SSO token" in caplog.text,
            "the worker to decide to renew",
            timeout=60,
        )
        theirs = json.loads(run_stock_botocore(botocore_renewal_script(now)))
    worker.join(timeout=60)
    # The file's access token is no longer the one we set out to renew from: someone renewed.
    assert "error" not in out, out.get("error")
    assert out["result"].access_token == theirs
    assert settled_count(emulator, "CreateToken", 3) == 3  # login, late renewal, theirs


# --- point 2: whose token is kept, decided by identity -------------------------------------


def iso(value: datetime, form: str) -> str:
    if form == "millis":
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    if form == "offset":
        return value.replace(microsecond=0).isoformat()
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def write_as(writer: str, data: dict[str, Any]) -> None:
    """Write the session's token file as `writer` does."""
    path = tokens.token_cache_file(SESSION)
    if writer == "botocore":
        save_like_botocore(SESSION, data)
        return
    times = {k: v for k, v in data.items() if isinstance(v, datetime)}
    if writer == "aws-cli-v2":  # compact JSON, whole seconds, Z
        text = json.dumps({**data, **{k: iso(v, "z") for k, v in times.items()}})
    elif writer == "offset":  # a Python tool writing isoformat()
        text = json.dumps({**data, **{k: iso(v, "offset") for k, v in times.items()}})
    else:  # the JS SDK v3: pretty-printed, milliseconds, its own key order
        order = ["accessToken", "expiresAt", "refreshToken", "clientId", "clientSecret"]
        js = {k: data[k] for k in order if k in data}
        js.update({k: v for k, v in data.items() if k not in js})
        text = json.dumps({**js, **{k: iso(v, "millis") for k, v in times.items()}}, indent=2)
    path.write_text(text, encoding="utf-8")


@pytest.mark.parametrize("writer", ["aws-cli-v2", "botocore", "offset", "js-sdk-v3"])
def test_our_renewal_is_kept_when_another_sdk_renewed_in_the_same_second(
    emulator: Emulator, writer: str
) -> None:
    token, clk = late_session(emulator)
    clk.advance(token.expires_at - clk.now - timedelta(minutes=14))
    # Another SDK renewed a moment ago, in this same second, and wrote its token its way.
    response = oidc(SESSION.region).create_token(
        grantType="refresh_token",
        clientId=token.client_id,
        clientSecret=token.client_secret,
        refreshToken=token.refresh_token,
    )
    theirs_expiry = (clk.now + timedelta(seconds=response["expiresIn"])).replace(microsecond=296000)
    theirs = {
        **token.to_dict(),
        "accessToken": response["accessToken"],
        "refreshToken": response["refreshToken"],
        "expiresAt": theirs_expiry,
        "registrationExpiresAt": token.registration_expires_at,
    }
    write_as(writer, theirs)
    renewed = tokens.valid_token(SESSION, now=clk.now)
    assert settled_count(emulator, "CreateToken", 4) == 4  # ... theirs, then ours from theirs
    # Ours was made from their refresh token, which the service has now spent: ours must be in
    # the file, whatever their expiresAt's precision.
    assert renewed.access_token != response["accessToken"]
    data = file_dict()
    assert data["accessToken"] == renewed.access_token
    assert data["refreshToken"] == renewed.refresh_token != response["refreshToken"]
    assert refresh_token_is_live(data["refreshToken"], data["clientId"], data["clientSecret"])


# --- point 3: a failed renewal keeps the old token; a renewal keeps every other key ---------


@pytest.mark.parametrize("failure", ["refused", "5xx", "drop"])
@pytest.mark.parametrize("writer", ["aws-cli-v2", "js-sdk-v3"])
def test_a_failed_renewal_leaves_the_file_byte_for_byte(
    emulator: Emulator, failure: str, writer: str
) -> None:
    login = device_login(emulator, SESSION)
    write_as(writer, {**login, "idToken": "opaque"})
    before = tokens.token_cache_file(SESSION).read_bytes()
    now = login["expiresAt"] - timedelta(minutes=10)
    if failure == "refused":
        emulator.revoke_all()
        with pytest.raises(LoginNeededError):
            tokens.valid_token(SESSION, now=now)
    else:
        emulator.inject_fault("CreateToken", failure, count=10)
        assert tokens.valid_token(SESSION, now=now).access_token == login["accessToken"]
    assert tokens.token_cache_file(SESSION).read_bytes() == before


@pytest.mark.parametrize("writer", ["aws-cli-v2", "botocore", "offset", "js-sdk-v3"])
def test_a_renewal_keeps_every_key_it_did_not_change(emulator: Emulator, writer: str) -> None:
    login = device_login(emulator, SESSION)
    registration = login["registrationExpiresAt"].replace(microsecond=123000)
    write_as(
        writer,
        {
            **login,
            # A start URL with a trailing slash is the same session: keep it as written.
            "startUrl": SESSION.start_url + "/",
            "registrationExpiresAt": registration,
            "idToken": "opaque-id-token",
            "nested": {"kept": [1, 2, 3]},
        },
    )
    before = file_dict()
    renewed = tokens.valid_token(SESSION, now=login["expiresAt"] - timedelta(minutes=10))
    assert renewed.access_token != login["accessToken"]
    after = file_dict()
    changed = {"accessToken", "expiresAt", "refreshToken"}
    assert set(after) == set(before)
    assert {k: v for k, v in after.items() if k not in changed} == {
        k: v for k, v in before.items() if k not in changed
    }
    assert after["accessToken"] == renewed.access_token
    assert after["refreshToken"] == renewed.refresh_token


def test_a_renewal_keeps_a_registration_expiry_it_cannot_read(emulator: Emulator) -> None:
    login = device_login(emulator, SESSION)
    write_as("aws-cli-v2", {**login, "registrationExpiresAt": "in ninety days"})
    renewed = tokens.valid_token(SESSION, now=login["expiresAt"] - timedelta(minutes=10))
    assert renewed.access_token != login["accessToken"]
    assert file_dict()["registrationExpiresAt"] == "in ninety days"


# --- the AWS SDK for JavaScript v3 as the other client --------------------------------------

JS_DIR = Path(__file__).parent / "js"


def run_js_sdk(profile: str) -> dict[str, Any]:
    """Role credentials through the JS SDK v3's own SSO provider, in a Node subprocess."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the JS SDK interop test needs Node 18+")
    if not (JS_DIR / "node_modules" / "@aws-sdk" / "credential-providers").is_dir():
        pytest.skip("the JS SDK is not installed: run `npm install --prefix tests/js`")
    done = subprocess.run(
        [node, str(JS_DIR / "sso_credentials.cjs"), profile],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def test_js_sdk_v3_and_we_renew_the_same_session_in_turn(
    emulator: Emulator, aws_config: WriteConfig
) -> None:
    aws_config(session_config(SESSION, "dev", "111111111111", "ReadOnly"))
    emulator.config.access_token_ttl = 600  # 10-minute tokens: inside our 15-minute window
    login = device_login(emulator, SESSION)
    # The JS SDK renews a token with less than 5 minutes left by the real clock.
    write_as("aws-cli-v2", {**login, "expiresAt": datetime.now(UTC) + timedelta(minutes=4)})
    assert run_js_sdk("dev")["accessKeyId"].startswith("ASIA")
    assert settled_count(emulator, "CreateToken", 2) == 2
    text = file_text()
    theirs = json.loads(text)
    assert text.startswith("{\n  ") and re.search(r"\.\d{3}Z$", theirs["expiresAt"])
    assert theirs["accessToken"] != login["accessToken"]

    # We renew from their token so that ours expires in the same whole second as theirs (a
    # 600 s token from a renewal 600 s before): theirs has milliseconds, ours none.
    their_expiry = datetime.fromisoformat(theirs["expiresAt"].replace("Z", "+00:00"))
    now = their_expiry.replace(microsecond=0) - timedelta(seconds=600)
    renewed = tokens.valid_token(SESSION, now=now)
    assert settled_count(emulator, "CreateToken", 3) == 3
    ours = file_dict()
    assert ours["accessToken"] == renewed.access_token != theirs["accessToken"]
    assert ours["refreshToken"] == renewed.refresh_token != theirs["refreshToken"]
    changed = {"accessToken", "expiresAt", "refreshToken"}
    assert {k: v for k, v in ours.items() if k not in changed} == {
        k: v for k, v in theirs.items() if k not in changed
    }

    # The JS SDK takes our renewal as it is (more than 5 minutes left): no renewal of its own.
    assert run_js_sdk("dev")["accessKeyId"].startswith("ASIA")
    assert settled_count(emulator, "GetRoleCredentials", 2) == 2
    assert emulator.count("CreateToken") == 3
    assert file_dict()["accessToken"] == renewed.access_token


def test_a_terminal_export_waits_for_our_renewal_and_uses_it(
    emulator: Emulator, aws_config: WriteConfig, tmp_path: Path, patient: None
) -> None:
    # The tray renews a session that ends in 14 minutes while `aws-sso-tray export` runs in a
    # terminal (both by the real clock): the export must take the tray's renewal, not renew the
    # same refresh token again.
    aws_config(session_config(SESSION, "dev", "111111111111", "ReadOnly"))
    emulator.config.session_ttl = 14 * 60
    login = device_login(emulator, SESSION)
    emulator.inject_fault("CreateToken", "hold")
    tray, out = in_thread(lambda: tokens.valid_token(SESSION, login_hint="dev"))
    wait_for(lambda: emulator.held() == 1, "the tray's renewal to reach the service")
    log_path = tmp_path / "export.log"
    with log_path.open("w", encoding="utf-8") as log_file:
        export = subprocess.Popen(
            [sys.executable, "-m", "aws_sso_tray", "--debug", "export", "--profile", "dev"],
            stdout=subprocess.PIPE,
            stderr=log_file,
            text=True,
            env=dict(os.environ),
        )
        try:
            # The export read the old token and now waits for the token file's lock.
            wait_for(
                lambda: (
                    "renewing SSO token" in log_path.read_text("utf-8") or export.poll() is not None
                ),
                "the export to decide to renew",
                timeout=60,
            )
            emulator.release()
            stdout, _ = export.communicate(timeout=120)
        finally:
            if export.poll() is None:
                export.kill()
                export.wait()
    tray.join(timeout=60)
    assert export.returncode == 0, log_path.read_text("utf-8")[-2000:]
    assert json.loads(stdout)["AccessKeyId"].startswith("ASIA")
    assert "error" not in out, out.get("error")
    assert out["result"].access_token != login["accessToken"]
    assert settled_count(emulator, "CreateToken", 2) == 2  # the login, the tray's renewal
    assert file_dict()["accessToken"] == out["result"].access_token
