"""benchmarks/peers.py writes the cache entries the other tools read: the file names botocore's
SSOCredentialFetcher computes, and content its JSONFileCache and fetcher accept; and its TLS
proxy carries real botocore's calls for the AWS portal host to the emulator, and nothing else."""

from __future__ import annotations

import http.client
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from botocore.credentials import SSOCredentialFetcher
from botocore.utils import JSONFileCache

from aws_sso_tray.aws.profiles import SsoSession
from sso_helpers import device_login, settled_count

if TYPE_CHECKING:
    from aws_sso_tray.emulator import Emulator

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


# Stock botocore with no endpoint override: it calls portal.sso.us-east-1.amazonaws.com, so it
# reaches the emulator only through HTTPS_PROXY, trusting the proxy's CA through AWS_CA_BUNDLE.
ROLE_SCRIPT = """
import json, sys
import botocore.session
from botocore import UNSIGNED
from botocore.config import Config

client = botocore.session.get_session().create_client(
    "sso", region_name="us-east-1", config=Config(signature_version=UNSIGNED)
)
answer = client.get_role_credentials(
    roleName="ReadOnly", accountId="111111111111", accessToken=sys.stdin.read()
)
print(json.dumps([client.meta.endpoint_url, answer["roleCredentials"]["secretAccessKey"]]))
"""


def test_proxy_carries_botocore_to_the_emulator_and_refuses_other_hosts(
    emulator: Emulator, tmp_path: Path
) -> None:
    token = device_login(emulator, SsoSession("bench", START_URL, "us-east-1"))["accessToken"]
    with peers.TlsProxy(emulator.url, tmp_path) as proxy:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
        env.update(proxy.env())
        done = subprocess.run(
            [sys.executable, "-c", ROLE_SCRIPT],
            input=token,
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        endpoint, secret = json.loads(done.stdout)
        assert endpoint == "https://portal.sso.us-east-1.amazonaws.com"
        assert secret in emulator.issued_secrets()
        assert proxy.forwarded == 1
        proxy.check()  # nothing refused so far

        conn = http.client.HTTPConnection("127.0.0.1", int(proxy.url.rsplit(":", 1)[1]))
        conn.request("CONNECT", "example.com:443", headers={"Host": "example.com:443"})
        assert conn.getresponse().status == 403
        conn.close()
        assert proxy.refused == ["example.com:443"]
        with pytest.raises(peers.PeerError, match="refused 1"):
            proxy.check()
    assert settled_count(emulator, "GetRoleCredentials", 1) == 1
