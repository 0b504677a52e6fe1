"""benchmarks/peers.py writes the cache entries the other tools read: the file names botocore's
SSOCredentialFetcher computes, and content its JSONFileCache and fetcher accept."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from botocore.credentials import SSOCredentialFetcher
from botocore.utils import JSONFileCache

# benchmarks/ is no package and not on the path: load the one module from its file.
_SPEC = importlib.util.spec_from_file_location(
    "bench_peers", Path(__file__).resolve().parent.parent / "benchmarks" / "peers.py"
)
assert _SPEC is not None and _SPEC.loader is not None
peers: Any = importlib.util.module_from_spec(_SPEC)
sys.modules["bench_peers"] = peers  # its dataclasses look their module up there
_SPEC.loader.exec_module(peers)

START_URL = "https://d-0000000000.awsapps.com/start"


def botocore_key(role: str, account: str, session_name: str | None) -> str:
    def no_client(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a cached entry needs no client")

    fetcher = SSOCredentialFetcher(
        start_url=START_URL,
        sso_region="us-east-1",
        role_name=role,
        account_id=account,
        client_creator=no_client,
        sso_session_name=session_name,
    )
    # The private method is the thing to match: it names the AWS CLI's cache file.
    key: str = fetcher._create_cache_key()  # type: ignore[attr-defined]
    return key


@pytest.mark.parametrize("session_name", ["bench", "corp: with/odd chars", None])
def test_cache_key_is_botocores(session_name: str | None) -> None:
    ours = peers.sso_cache_key(
        "Role00", "111111111111", session_name=session_name, start_url=START_URL
    )
    assert ours == botocore_key("Role00", "111111111111", session_name)
    other = peers.sso_cache_key("Role01", "111111111111", session_name=session_name)
    assert other != ours


def test_botocore_answers_from_the_written_entry(tmp_path: Path) -> None:
    creds = peers.RoleCredentials("ASIAEXAMPLE", "secret", "token", "2099-01-02T03:04:05Z")
    key = peers.sso_cache_key("Role00", "111111111111", session_name="bench")
    path = peers.write_sso_cache_entry(tmp_path, key, creds)
    assert path.stat().st_mode & 0o777 == 0o600

    def no_client(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the entry was not used: the fetcher tried to call SSO")

    fetcher = SSOCredentialFetcher(
        start_url=START_URL,
        sso_region="us-east-1",
        role_name="Role00",
        account_id="111111111111",
        client_creator=no_client,
        # What the AWS CLI injects (awscli/customizations/sso); the stubs say only dict.
        cache=JSONFileCache(str(tmp_path / ".aws" / "cli" / "cache")),  # type: ignore[arg-type]
        sso_session_name="bench",
    )
    fetched = fetcher.fetch_credentials()
    assert fetched["access_key"] == "ASIAEXAMPLE"
    assert fetched["secret_key"] == "secret"
    assert fetched["token"] == "token"
    assert json.loads(path.read_text())["Credentials"]["Expiration"] == "2099-01-02T03:04:05Z"


def test_token_copied_for_the_start_url(tmp_path: Path) -> None:
    source = peers.token_file(tmp_path, "bench")
    source.parent.mkdir(parents=True)
    source.write_text('{"accessToken": "t"}')
    peers.copy_token_for_start_url(tmp_path, "bench", START_URL)
    assert peers.token_file(tmp_path, START_URL).read_text() == '{"accessToken": "t"}'
    with pytest.raises(peers.PeerError):
        peers.copy_token_for_start_url(tmp_path, "other", START_URL)
