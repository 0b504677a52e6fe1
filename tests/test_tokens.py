"""tokens.py: the AWS CLI SSO token cache, read and written as botocore does, and silent refresh.

File tests use real files in the temp HOME and botocore's own cache classes as the reference;
refresh tests drive real boto3 against the emulator over HTTP.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from aws_sso_tray.aws import clients, tokens
from aws_sso_tray.aws.profiles import SsoSession
from aws_sso_tray.errors import LoginNeededError, NetworkError
from aws_sso_tray.files import atomicfile
from sso_helpers import run_stock_botocore, settled_count

if TYPE_CHECKING:
    from botocore.utils import JSONFileCache

    from aws_sso_tray.emulator import Emulator
    from fixture_types import WriteConfig

UTC = timezone.utc
START_URL = "https://d-1234567890.awsapps.com/start"
NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)

SESSION = SsoSession(name="corp", start_url=START_URL, region="eu-west-1")
LEGACY = SsoSession(name=None, start_url=START_URL, region="eu-west-1")


def botocore_cache(folder: Path) -> JSONFileCache:
    """botocore's own token cache object, as SSOTokenProvider builds it."""
    from botocore.tokens import _sso_json_dumps  # type: ignore[attr-defined]  # not in the stubs
    from botocore.utils import JSONFileCache

    return JSONFileCache(str(folder), dumps_func=_sso_json_dumps)


def token_dict(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "startUrl": START_URL,
        "region": "eu-west-1",
        "accessToken": "access-1",
        "expiresAt": "2026-03-01T20:00:00Z",
        "clientId": "client-1",
        "clientSecret": "secret-1",
        "registrationExpiresAt": "2026-05-30T12:00:00Z",
        "refreshToken": "refresh-1",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def write_raw(session: SsoSession, data: dict[str, Any] | str) -> Path:
    path = tokens.token_cache_file(session)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the OIDC endpoint at a closed port: any AWS call would fail loudly."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSO_OIDC", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSO", "http://127.0.0.1:9")


# --- file names and formats ---------------------------------------------------------------


def test_cache_file_names_match_botocore(home: Path) -> None:
    from botocore.utils import SSOTokenLoader

    loader = SSOTokenLoader()
    cache = home / ".aws" / "sso" / "cache"
    assert tokens.token_cache_file(SESSION) == cache / (
        loader._generate_cache_key(START_URL, "corp")  # type: ignore[attr-defined]
        + ".json"
    )
    assert tokens.token_cache_file(LEGACY) == cache / (
        loader._generate_cache_key(START_URL, None)  # type: ignore[attr-defined]
        + ".json"
    )
    assert (
        tokens.token_cache_file(LEGACY).stem
        == hashlib.sha1(START_URL.encode(), usedforsecurity=False).hexdigest()
    )


def test_reads_a_token_botocore_wrote(home: Path) -> None:
    from botocore.utils import SSOTokenLoader

    expires = datetime(2026, 3, 1, 20, 0, 0, tzinfo=UTC)
    # Exactly what SSOTokenProvider._attempt_create_token saves (datetime expiresAt).
    saved = token_dict(expiresAt=expires)
    SSOTokenLoader(botocore_cache(home / ".aws" / "sso" / "cache")).save_token(
        START_URL,
        saved,  # type: ignore[arg-type]  # botocore-stubs say str; botocore saves this dict
        session_name="corp",
    )
    token = tokens.read_token(SESSION)
    assert token is not None
    assert token.access_token == "access-1"
    assert token.expires_at == expires
    assert token.refresh_token == "refresh-1"
    assert token.client_id == "client-1"
    assert token.client_secret == "secret-1"
    assert token.registration_expires_at == datetime(2026, 5, 30, 12, 0, 0, tzinfo=UTC)
    assert token.start_url == START_URL
    assert token.region == "eu-west-1"


@pytest.mark.parametrize(
    "text",
    [
        "2026-03-01T20:00:00Z",
        "2026-03-01T20:00:00.000Z",
        "2026-03-01T20:00:00.123456Z",
        "2026-03-01T20:00:00+00:00",
        "2026-03-01T21:00:00+01:00",
        "2026-03-01T20:00:00UTC",
        "2026-03-01T20:00:00",
    ],
)
def test_reads_other_iso_forms(text: str) -> None:
    write_raw(SESSION, token_dict(expiresAt=text))
    token = tokens.read_token(SESSION)
    assert token is not None
    assert token.expires_at.replace(microsecond=0) == datetime(2026, 3, 1, 20, 0, tzinfo=UTC)


def test_legacy_token_without_registration_keys() -> None:
    # A device-code login of a legacy profile: no refresh token, no registration in the file.
    write_raw(
        LEGACY,
        {
            "startUrl": START_URL,
            "region": "eu-west-1",
            "accessToken": "a",
            "expiresAt": "2026-03-01T20:00:00Z",
        },
    )
    token = tokens.read_token(LEGACY)
    assert token is not None
    assert token.refresh_token is None and token.client_id is None
    assert not token.can_refresh(NOW)


def test_unreadable_registration_expiry_keeps_the_token_usable() -> None:
    write_raw(SESSION, token_dict(registrationExpiresAt="soon"))
    token = tokens.read_token(SESSION)
    assert token is not None and token.registration_expires_at is None
    assert token.can_refresh(NOW)


@pytest.mark.parametrize(
    "content",
    [
        "",
        "not json",
        "[1, 2]",
        json.dumps(token_dict(accessToken=None)),
        json.dumps(token_dict(expiresAt=None)),
        json.dumps(token_dict(expiresAt="tomorrow")),
        json.dumps(token_dict(startUrl="https://other.awsapps.com/start")),
    ],
    ids=["empty", "garbage", "list", "no-access", "no-expiry", "bad-expiry", "other-url"],
)
def test_unusable_files_read_as_none(content: str, caplog: pytest.LogCaptureFixture) -> None:
    write_raw(SESSION, content)
    assert tokens.read_token(SESSION) is None
    assert "access-1" not in caplog.text and "secret-1" not in caplog.text


def test_missing_file_reads_as_none() -> None:
    assert tokens.read_token(SESSION) is None


def test_trailing_slash_in_start_url_is_the_same_session() -> None:
    write_raw(SESSION, token_dict(startUrl=START_URL + "/"))
    assert tokens.read_token(SESSION) is not None


def test_write_is_botocore_format_0600_and_botocore_reads_it(home: Path) -> None:
    from botocore.utils import SSOTokenLoader

    token = tokens.SsoToken(
        start_url=START_URL,
        region="eu-west-1",
        access_token="access-2",
        expires_at=datetime(2026, 3, 1, 20, 0, 0, 654321, tzinfo=UTC),
        refresh_token="refresh-2",
        client_id="client-1",
        client_secret="secret-1",
        registration_expires_at=datetime(2026, 5, 30, 12, 0, tzinfo=UTC),
    )
    tokens.write_token(SESSION, token)
    path = tokens.token_cache_file(SESSION)
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # Byte for byte what botocore's _sso_json_dumps writes for the same token.
    from botocore.tokens import _sso_json_dumps  # type: ignore[attr-defined]  # not in the stubs

    expected = token_dict(
        accessToken="access-2",
        refreshToken="refresh-2",
        expiresAt=datetime(2026, 3, 1, 20, 0, 0, tzinfo=UTC),
    )
    assert path.read_text(encoding="utf-8") == _sso_json_dumps(expected)
    loaded = SSOTokenLoader(botocore_cache(path.parent))(START_URL, session_name="corp")
    assert loaded["accessToken"] == "access-2"
    assert loaded["expiresAt"] == "2026-03-01T20:00:00Z"
    assert tokens.read_token(SESSION) == token.__class__(
        **{**token.__dict__, "expires_at": token.expires_at.replace(microsecond=0)}
    )


def test_write_waits_for_a_refresh_holding_the_lock() -> None:
    write_raw(SESSION, token_dict())
    fresh = tokens.SsoToken(START_URL, "eu-west-1", "from-login", NOW + timedelta(hours=8))
    writer = threading.Thread(target=tokens.write_token, args=(SESSION, fresh))
    with atomicfile.locked(tokens.token_cache_file(SESSION)):
        writer.start()
        writer.join(timeout=0.3)
        assert writer.is_alive()
        assert file_dict(SESSION)["accessToken"] == "access-1"
    writer.join(timeout=10)
    assert file_dict(SESSION)["accessToken"] == "from-login"


def test_unknown_keys_survive_a_rewrite() -> None:
    write_raw(
        SESSION, token_dict(expiresAt="2026-03-01T20:00:00.000Z", idToken="opaque", x={"y": 1})
    )
    token = tokens.read_token(SESSION)
    assert token is not None
    tokens.write_token(SESSION, token)
    data = json.loads(tokens.token_cache_file(SESSION).read_text(encoding="utf-8"))
    assert data["idToken"] == "opaque" and data["x"] == {"y": 1}
    assert data["expiresAt"] == "2026-03-01T20:00:00Z"


def test_repr_hides_secrets() -> None:
    write_raw(SESSION, token_dict())
    text = repr(tokens.read_token(SESSION))
    for secret in ("access-1", "refresh-1", "secret-1"):
        assert secret not in text


def test_delete_token() -> None:
    path = write_raw(SESSION, token_dict())
    assert tokens.delete_token(SESSION) is True
    assert not path.exists()
    assert tokens.delete_token(SESSION) is False


# --- decisions without the network --------------------------------------------------------


@pytest.mark.parametrize(
    ("left", "expected"),
    [
        (timedelta(hours=1), False),
        (timedelta(minutes=15), False),
        (timedelta(minutes=15) - timedelta(seconds=1), True),
        (timedelta(0), True),
        (timedelta(hours=-1), True),
    ],
)
def test_needs_refresh(left: timedelta, expected: bool) -> None:
    token = tokens.SsoToken(START_URL, "eu-west-1", "a", NOW + left)
    assert tokens.needs_refresh(token, NOW, timedelta(minutes=15)) is expected


def test_a_token_at_its_expiry_needs_refresh_even_with_no_window() -> None:
    # A capped token (see test_token_renewal) gets a zero window: expired is still expired.
    token = tokens.SsoToken(START_URL, "eu-west-1", "a", NOW)
    assert tokens.needs_refresh(token, NOW, timedelta(0)) is True
    assert tokens.needs_refresh(token, NOW - timedelta(seconds=1), timedelta(0)) is False


def test_fresh_token_is_returned_without_calling_aws(no_network: None) -> None:
    write_raw(SESSION, token_dict(expiresAt="2026-03-01T20:00:00Z"))
    token = tokens.valid_token(SESSION, now=NOW)
    assert token.access_token == "access-1"


def test_no_token_means_login_needed() -> None:
    with pytest.raises(LoginNeededError) as info:
        tokens.valid_token(SESSION, now=NOW, login_hint="dev")
    assert "corp" in info.value.message
    assert "run `aws-sso-tray login dev`" in info.value.message
    assert "\n" not in info.value.message


def test_unrefreshable_token_is_used_until_it_expires(no_network: None) -> None:
    write_raw(SESSION, token_dict(refreshToken=None, expiresAt="2026-03-01T12:05:00Z"))
    assert tokens.valid_token(SESSION, now=NOW).access_token == "access-1"
    with pytest.raises(LoginNeededError, match=r"corp.*aws-sso-tray login dev"):
        tokens.valid_token(SESSION, now=NOW + timedelta(minutes=6), login_hint="dev")


def test_expired_registration_means_login_needed(no_network: None) -> None:
    write_raw(
        SESSION,
        token_dict(expiresAt="2026-03-01T11:00:00Z", registrationExpiresAt="2026-03-01T11:30:00Z"),
    )
    with pytest.raises(LoginNeededError):
        tokens.valid_token(SESSION, now=NOW)


def test_network_failure_keeps_a_still_valid_token(no_network: None) -> None:
    write_raw(SESSION, token_dict(expiresAt="2026-03-01T12:10:00Z"))
    # 10 min left: refresh is attempted, fails to connect, the current token is still good.
    assert tokens.valid_token(SESSION, now=NOW).access_token == "access-1"
    # Expired: the network error is the answer.
    with pytest.raises(NetworkError):
        tokens.valid_token(SESSION, now=NOW + timedelta(minutes=11))


# --- refresh against the emulator ---------------------------------------------------------

EMU_SESSION = SsoSession(
    name="corp",
    start_url="https://d-9999999999.awsapps.com/start",
    region="us-east-1",
    registration_scopes=("sso:account:access",),
)


def near_expiry(token: dict[str, Any], left: timedelta = timedelta(minutes=10)) -> datetime:
    """A `now` at which `token` has `left` remaining."""
    expires: datetime = token["expiresAt"]
    return expires - left


def file_dict(session: SsoSession = EMU_SESSION) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(tokens.token_cache_file(session).read_text("utf-8"))
    return data


def test_refresh_writes_a_token_stock_botocore_accepts(
    emulator: Emulator, aws_config: WriteConfig
) -> None:
    from sso_helpers import device_login, session_config

    login = device_login(emulator, EMU_SESSION)
    now = near_expiry(login)
    token = tokens.valid_token(EMU_SESSION, now=now, login_hint="dev")

    assert settled_count(emulator, "CreateToken", 2) == 2  # the login, then our refresh
    assert token.access_token != login["accessToken"]
    assert token.expires_at == (now + timedelta(hours=1)).replace(microsecond=0)
    assert token.refresh_token and token.refresh_token != login["refreshToken"]  # rotated
    assert token.client_id == login["clientId"]
    assert file_dict() == token.to_dict()
    assert tokens.read_token(EMU_SESSION) == token
    if os.name == "posix":
        assert stat.S_IMODE(tokens.token_cache_file(EMU_SESSION).stat().st_mode) == 0o600

    # Stock boto3 uses our token as is (it has > 15 min left by the real clock), and stock
    # botocore can refresh with the refresh token and registration we wrote. In a subprocess:
    # botocore fixes its cache folders from HOME when it is first imported.
    aws_config(session_config(EMU_SESSION, "dev", "111111111111", "ReadOnly"))
    result = run_stock_botocore(
        f"""
import boto3, botocore.session, datetime, json
from botocore.tokens import SSOTokenProvider
creds = boto3.Session(profile_name="dev").get_credentials().get_frozen_credentials()
soon = datetime.datetime.fromisoformat({(token.expires_at - timedelta(minutes=5)).isoformat()!r})
provider = SSOTokenProvider(botocore.session.Session(profile="dev"), time_fetcher=lambda: soon)
print(json.dumps([creds.access_key, provider.load_token().get_frozen_token().token]))
"""
    )
    access_key, botocore_token = json.loads(result)
    assert access_key.startswith("ASIA")
    assert settled_count(emulator, "GetRoleCredentials", 1) == 1
    assert (
        settled_count(emulator, "CreateToken", 3) == 3
    )  # boto3 used ours; botocore's refresh is the 3rd
    ours = tokens.read_token(EMU_SESSION)
    assert ours is not None and ours.access_token == botocore_token != token.access_token


def test_refresh_refused_after_the_session_ended(emulator: Emulator) -> None:
    from sso_helpers import device_login

    login = device_login(emulator, EMU_SESSION)
    before = file_dict()
    emulator.advance(8 * 3600 + 60)
    later = login["expiresAt"] + timedelta(hours=7, minutes=1)
    with pytest.raises(LoginNeededError) as info:
        tokens.valid_token(EMU_SESSION, now=later, login_hint="dev")
    assert info.value.message.startswith("SSO session 'corp'")
    assert "run `aws-sso-tray login dev`" in info.value.message
    assert settled_count(emulator, "CreateToken", 2) == 2
    assert file_dict() == before


def test_refresh_refused_after_revocation_even_with_time_left(emulator: Emulator) -> None:
    from sso_helpers import device_login

    login = device_login(emulator, EMU_SESSION)
    emulator.revoke_all()
    with pytest.raises(LoginNeededError, match="login dev"):
        tokens.valid_token(EMU_SESSION, now=near_expiry(login), login_hint="dev")


def test_transient_refresh_failures(emulator: Emulator) -> None:
    from sso_helpers import device_login

    login = device_login(emulator, EMU_SESSION)
    now = near_expiry(login)
    # One 500 and one dropped connection: botocore's standard retries get through.
    emulator.inject_fault("CreateToken", "5xx")
    emulator.inject_fault("CreateToken", "drop")
    refreshed = tokens.valid_token(EMU_SESSION, now=now)
    assert refreshed.access_token != login["accessToken"]
    assert settled_count(emulator, "CreateToken", 4) == 4  # login, 500, drop, success

    # The OIDC API's throttling answer is not retried; the still-valid token is used.
    later = near_expiry({"expiresAt": refreshed.expires_at})
    emulator.inject_fault("CreateToken", "throttle")
    assert tokens.valid_token(EMU_SESSION, now=later) == refreshed
    assert file_dict() == refreshed.to_dict()


def test_never_overwrites_a_newer_token_written_during_the_refresh(emulator: Emulator) -> None:
    from aws_sso_tray.aws import clients
    from sso_helpers import device_login, save_like_botocore

    login = device_login(emulator, EMU_SESSION)
    now = near_expiry(login)
    clients.oidc_client(EMU_SESSION.region)  # created up front: timing below is the call's
    newer = {**login, "accessToken": "written-by-aws-cli", "expiresAt": now + timedelta(hours=5)}
    emulator.inject_fault("CreateToken", "latency", delay=1.0)
    writer = threading.Timer(0.4, save_like_botocore, (EMU_SESSION, newer))
    writer.start()
    try:
        token = tokens.valid_token(EMU_SESSION, now=now)
    finally:
        writer.join()
    assert settled_count(emulator, "CreateToken", 2) == 2  # our refresh did happen...
    assert token.access_token == "written-by-aws-cli"  # ...but the newer token won
    assert file_dict()["accessToken"] == "written-by-aws-cli"


def test_rereads_after_waiting_for_the_lock(emulator: Emulator) -> None:
    from sso_helpers import device_login, save_like_botocore

    login = device_login(emulator, EMU_SESSION)
    now = near_expiry(login)
    newer = {**login, "accessToken": "refreshed-elsewhere", "expiresAt": now + timedelta(hours=1)}
    result: list[Any] = []
    path = tokens.token_cache_file(EMU_SESSION)
    with atomicfile.locked(path):  # another process is refreshing
        worker = threading.Thread(
            target=lambda: result.append(tokens.valid_token(EMU_SESSION, now=now))
        )
        worker.start()
        time.sleep(0.3)  # the worker has read the old token and waits for the lock
        assert worker.is_alive()
        save_like_botocore(EMU_SESSION, newer)
    worker.join(timeout=10)
    assert result and result[0].access_token == "refreshed-elsewhere"
    assert (
        settled_count(emulator, "CreateToken", 1) == 1
    )  # the login only: no refresh needed any more


def test_invalid_grant_after_another_tool_rotated_the_refresh_token(emulator: Emulator) -> None:
    from aws_sso_tray.aws import clients
    from sso_helpers import device_login, oidc, save_like_botocore

    login = device_login(emulator, EMU_SESSION)
    now = near_expiry(login)
    clients.oidc_client(EMU_SESSION.region)

    def aws_cli_refresh() -> None:
        # The AWS CLI (no lock of ours) refreshes with the same refresh token first.
        response = oidc(EMU_SESSION.region).create_token(
            grantType="refresh_token",
            clientId=login["clientId"],
            clientSecret=login["clientSecret"],
            refreshToken=login["refreshToken"],
        )
        save_like_botocore(
            EMU_SESSION,
            {
                **login,
                "accessToken": response["accessToken"],
                "refreshToken": response["refreshToken"],
                "expiresAt": now + timedelta(hours=1),
            },
        )

    emulator.inject_fault("CreateToken", "latency", delay=1.0)  # our call waits; theirs does not
    other = threading.Timer(0.4, aws_cli_refresh)
    other.start()
    try:
        token = tokens.valid_token(EMU_SESSION, now=now)
    finally:
        other.join()
    assert token.access_token == file_dict()["accessToken"]
    assert token.access_token != login["accessToken"]


def test_no_secret_is_logged(emulator: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from sso_helpers import device_login

    caplog.set_level(logging.DEBUG, logger="aws_sso_tray")
    login = device_login(emulator, EMU_SESSION)
    refreshed = tokens.valid_token(EMU_SESSION, now=near_expiry(login))
    emulator.inject_fault("CreateToken", "5xx")
    emulator.revoke_all()
    with pytest.raises(LoginNeededError):
        tokens.valid_token(EMU_SESSION, now=refreshed.expires_at - timedelta(minutes=5))
    # Only our own records: botocore logs request bodies at DEBUG (logs.py scrubs those).
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("aws_sso_tray"))
    assert "refreshed" in ours and "refused" in ours
    secrets = emulator.issued_secrets()
    assert secrets
    for secret in secrets:
        assert secret not in ours


@pytest.mark.parametrize("code", sorted(clients.ERROR_CODES))
def test_what_a_refused_renewal_means_comes_from_the_one_table(
    monkeypatch: pytest.MonkeyPatch, code: str
) -> None:
    """Every service error code a renewal can meet is judged by clients.ERROR_CODES: the
    codes only a new login answers end the session; the others keep the still-valid token.
    A local server gives each code as AWS does (the emulator has no way to say each one)."""
    from aws_sso_tray.aws import leanclient
    from aws_sso_tray.errors import Recovery
    from canned_http import Answer, canned_server

    monkeypatch.setattr(leanclient, "sleep", lambda seconds: None)  # throttling is retried
    write_raw(SESSION, token_dict(expiresAt="2026-03-01T12:05:00Z"))
    current = tokens.read_token(SESSION)
    with canned_server() as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SSO_OIDC", server.url)
        server.play(Answer(400, b'{"message": "no"}', (("x-amzn-ErrorType", code),)))
        if clients.ERROR_CODES[code].recovery is Recovery.LOGIN:
            with pytest.raises(LoginNeededError, match="refresh refused"):
                tokens.valid_token(SESSION, now=NOW)
        else:
            assert tokens.valid_token(SESSION, now=NOW) == current
        assert server.requests and server.requests[0].path == "/token"
