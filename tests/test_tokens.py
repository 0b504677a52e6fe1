"""tokens.py: the AWS CLI SSO token cache, read and written as botocore does, and silent refresh.

File tests use real files in the temp HOME and botocore's own cache classes as the reference;
refresh tests drive real boto3 against the emulator over HTTP.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from aws_sso_tray import tokens
from aws_sso_tray.errors import LoginNeededError, NetworkError
from aws_sso_tray.profiles import SsoSession

UTC = timezone.utc
START_URL = "https://d-1234567890.awsapps.com/start"
NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)

SESSION = SsoSession(name="corp", start_url=START_URL, region="eu-west-1")
LEGACY = SsoSession(name=None, start_url=START_URL, region="eu-west-1")


def botocore_cache(folder: Path) -> Any:
    """botocore's own token cache object, as SSOTokenProvider builds it."""
    from botocore.tokens import _sso_json_dumps
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
        loader._generate_cache_key(START_URL, "corp") + ".json"
    )
    assert tokens.token_cache_file(LEGACY) == cache / (
        loader._generate_cache_key(START_URL, None) + ".json"
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
        START_URL, saved, session_name="corp"
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
    from botocore.tokens import _sso_json_dumps

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
