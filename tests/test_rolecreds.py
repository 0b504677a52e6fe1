"""rolecreds.py: GetRoleCredentials through the AWS CLI role-credential cache.

The cache file's name and content are checked against botocore's own SSOCredentialFetcher;
fetching runs real boto3 against the emulator over HTTP.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest

from aws_sso_tray import clock
from aws_sso_tray.aws import rolecreds
from aws_sso_tray.aws.profiles import SsoProfile, SsoSession
from aws_sso_tray.aws.rolecreds import RoleCredentials
from aws_sso_tray.errors import LoginNeededError, NetworkError, NoRoleAccessError
from sso_helpers import settled_count

if TYPE_CHECKING:
    from aws_sso_tray.emulator import Emulator

UTC = timezone.utc
START_URL = "https://d-9999999999.awsapps.com/start"
SESSION = SsoSession("corp", START_URL, "us-east-1", ("sso:account:access",))
LEGACY = SsoSession(None, START_URL, "us-east-1")
DEV = SsoProfile("dev", SESSION, "111111111111", "ReadOnly", "eu-west-1")
LEGACY_DEV = SsoProfile("legacy-dev", LEGACY, "111111111111", "ReadOnly", None)
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def botocore_fetcher(profile: SsoProfile, **kwargs: Any) -> Any:
    """botocore's SSOCredentialFetcher for `profile`, caching where the AWS CLI does."""
    from botocore.credentials import SSOCredentialFetcher
    from botocore.utils import JSONFileCache

    def no_client(*args: Any, **kw: Any) -> Any:
        raise AssertionError("botocore should have answered from the cache")

    kwargs.setdefault("client_creator", no_client)
    return SSOCredentialFetcher(
        profile.session.start_url,
        profile.session.region,
        profile.role_name,
        profile.account_id,
        # botocore-stubs says a dict; botocore takes any mapping, as the AWS CLI's JSONFileCache.
        cache=cast("dict[str, Any]", JSONFileCache(str(Path("~/.aws/cli/cache").expanduser()))),
        sso_session_name=profile.session.name,
        **kwargs,
    )


def write_cache(profile: SsoProfile, credentials: dict[str, Any], provider: str = "sso") -> Path:
    path = rolecreds.cache_file(profile)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps({"ProviderType": provider, "Credentials": credentials}), encoding="utf-8"
    )
    return path


def cached_dict(expiration: str = "2026-03-01T13:00:00Z") -> dict[str, Any]:
    return {
        "AccessKeyId": "ASIAEXAMPLE",
        "SecretAccessKey": "secret-key",
        "SessionToken": "session-token",
        "Expiration": expiration,
        "AccountId": "111111111111",
    }


# --- the cache, without the network -------------------------------------------------------


@pytest.mark.parametrize("profile", [DEV, LEGACY_DEV], ids=["sso-session", "legacy"])
def test_cache_file_name_is_botocores(profile: SsoProfile, home: Path) -> None:
    expected = botocore_fetcher(profile)._create_cache_key()
    assert rolecreds.cache_file(profile) == home / ".aws" / "cli" / "cache" / f"{expected}.json"


def test_session_and_legacy_profiles_do_not_share_a_file() -> None:
    assert rolecreds.cache_file(DEV) != rolecreds.cache_file(LEGACY_DEV)


@pytest.mark.parametrize(
    "expiration",
    ["2026-03-01T13:00:00Z", "2026-03-01T13:00:00UTC", "2026-03-01T13:00:00.000+00:00"],
)
def test_cached_credentials_are_reused_while_enough_time_is_left(expiration: str) -> None:
    write_cache(DEV, cached_dict(expiration))
    creds = rolecreds.cached_credentials(DEV, now=NOW)
    assert creds == RoleCredentials(
        "ASIAEXAMPLE",
        "secret-key",
        "session-token",
        datetime(2026, 3, 1, 13, 0, tzinfo=UTC),
        "111111111111",
    )
    # 15 min is the default margin; exactly 15 min left is not enough (botocore agrees).
    assert rolecreds.cached_credentials(DEV, now=NOW + timedelta(minutes=45)) is None
    assert rolecreds.cached_credentials(
        DEV, min_remaining=timedelta(minutes=5), now=NOW + timedelta(minutes=45)
    )


@pytest.mark.parametrize(
    "content",
    ["", "{", "[]", '{"ProviderType": "sso"}', json.dumps({"Credentials": {"AccessKeyId": "x"}})],
    ids=["empty", "broken", "list", "no-credentials", "no-secret"],
)
def test_unusable_cache_files_are_ignored(content: str, caplog: pytest.LogCaptureFixture) -> None:
    path = rolecreds.cache_file(DEV)
    path.parent.mkdir(parents=True)
    path.write_text(content, encoding="utf-8")
    assert rolecreds.cached_credentials(DEV, now=NOW) is None


def test_no_cache_file() -> None:
    assert rolecreds.cached_credentials(DEV, now=NOW) is None


def test_dict_round_trip_and_repr_hides_secrets() -> None:
    creds = RoleCredentials.from_dict(cached_dict())
    assert RoleCredentials.from_dict(creds.to_dict()) == creds
    assert creds.to_dict() == cached_dict()
    assert "secret-key" not in repr(creds) and "session-token" not in repr(creds)


def test_delete_cached_credentials_only_touches_sso_files(home: Path) -> None:
    ours = write_cache(DEV, cached_dict())
    legacy = write_cache(LEGACY_DEV, cached_dict())
    assume_role = home / ".aws" / "cli" / "cache" / "assume.json"
    assume_role.write_text(json.dumps({"Credentials": cached_dict()}), encoding="utf-8")

    assert rolecreds.delete_cached_credentials([DEV]) == 1
    assert not ours.exists() and legacy.exists()
    assert rolecreds.delete_cached_credentials() == 1
    assert not legacy.exists() and assume_role.exists()
    assert rolecreds.delete_cached_credentials() == 0


def test_cache_only_path_imports_neither_boto3_nor_a_botocore_session(home: Path) -> None:
    write_cache(DEV, cached_dict("2099-01-01T00:00:00Z"))
    script = """
import json, sys
from aws_sso_tray.aws import rolecreds
from aws_sso_tray.aws.profiles import SsoProfile, SsoSession
session = SsoSession("corp", START_URL, "us-east-1")
profile = SsoProfile("dev", session, "111111111111", "ReadOnly", None)
creds = rolecreds.cached_credentials(profile)
print(json.dumps([creds.access_key_id, sorted(m for m in sys.modules if m.startswith("boto"))]))
""".replace("START_URL", repr(START_URL))
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    key, modules = json.loads(done.stdout)
    assert key == "ASIAEXAMPLE"
    heavy = {"boto3", "botocore.session", "botocore.client", "botocore.endpoint"}
    assert heavy.isdisjoint(modules), modules


# --- fetching from the emulator -----------------------------------------------------------


@pytest.fixture
def logged_in(emulator: Emulator) -> dict[str, Any]:
    from sso_helpers import device_login

    return device_login(emulator, SESSION)


def test_fetch_writes_the_cache_botocore_reads_and_reuses_it(
    emulator: Emulator, logged_in: dict[str, Any]
) -> None:
    creds = rolecreds.get_credentials(DEV)
    assert creds.access_key_id.startswith("ASIA")
    assert creds.account_id == "111111111111"
    assert creds.expiration is not None and creds.expiration.microsecond == 0
    assert timedelta(minutes=59) < creds.expiration - clock.now() <= timedelta(hours=1)
    assert settled_count(emulator, "GetRoleCredentials", 1) == 1

    path = rolecreds.cache_file(DEV)
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # Byte for byte what botocore's JSONFileCache writes for SSOCredentialFetcher's answer.
    expected = {
        "ProviderType": "sso",
        "Credentials": {
            "AccessKeyId": creds.access_key_id,
            "SecretAccessKey": creds.secret_access_key,
            "SessionToken": creds.session_token,
            "Expiration": clock.format_time(creds.expiration),
            "AccountId": "111111111111",
        },
    }
    assert path.read_text(encoding="utf-8") == json.dumps(expected)
    # botocore (as the AWS CLI runs it) answers from our cache file without calling AWS.
    from_botocore = botocore_fetcher(DEV).fetch_credentials()
    assert from_botocore["access_key"] == creds.access_key_id
    assert from_botocore["token"] == creds.session_token

    assert rolecreds.get_credentials(DEV) == creds
    assert settled_count(emulator, "GetRoleCredentials", 1) == 1


def test_force_refresh_and_expiring_credentials_call_again(
    emulator: Emulator, logged_in: dict[str, Any]
) -> None:
    first = rolecreds.get_credentials(DEV)
    forced = rolecreds.get_credentials(DEV, force_refresh=True)
    assert forced.access_key_id != first.access_key_id
    assert settled_count(emulator, "GetRoleCredentials", 2) == 2
    assert rolecreds.cached_credentials(DEV) == forced

    # Less than min_remaining left by the (injected) clock: fetched again.
    assert forced.expiration is not None
    rolecreds.get_credentials(DEV, now=forced.expiration - timedelta(minutes=10))
    assert settled_count(emulator, "GetRoleCredentials", 3) == 3


def test_reads_credentials_botocore_cached(emulator: Emulator) -> None:
    """A legacy profile logged in and fetched by botocore: we reuse its cache file."""
    import botocore.session
    from botocore.utils import JSONFileCache, SSOTokenLoader

    from sso_helpers import device_login

    device_login(emulator, LEGACY, refresh=False)
    session = botocore.session.Session()
    loader = SSOTokenLoader(JSONFileCache(str(Path("~/.aws/sso/cache").expanduser())))
    fetched = botocore_fetcher(
        LEGACY_DEV, client_creator=session.create_client, token_loader=loader
    ).fetch_credentials()
    assert settled_count(emulator, "GetRoleCredentials", 1) == 1

    creds = rolecreds.get_credentials(LEGACY_DEV)
    assert creds.access_key_id == fetched["access_key"]
    assert creds.secret_access_key == fetched["secret_key"]
    assert settled_count(emulator, "GetRoleCredentials", 1) == 1


def test_parallel_callers_make_one_portal_call(
    emulator: Emulator, logged_in: dict[str, Any]
) -> None:
    emulator.inject_fault("GetRoleCredentials", "latency", delay=0.3)
    results: list[RoleCredentials] = []
    workers = [
        threading.Thread(target=lambda: results.append(rolecreds.get_credentials(DEV)))
        for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    assert len(results) == 4 and len(set(results)) == 1
    assert settled_count(emulator, "GetRoleCredentials", 1) == 1


def test_no_login_names_the_profile(emulator: Emulator) -> None:
    with pytest.raises(LoginNeededError, match=r"aws-sso-tray login dev"):
        rolecreds.get_credentials(DEV)
    assert emulator.count("GetRoleCredentials") == 0


def test_revoked_session_means_login_needed(emulator: Emulator, logged_in: dict[str, Any]) -> None:
    emulator.revoke_all()
    with pytest.raises(LoginNeededError) as info:
        rolecreds.get_credentials(DEV)
    assert "profile 'dev'" in info.value.message
    assert "run `aws-sso-tray login dev`" in info.value.message


@pytest.mark.parametrize("answer", ["ForbiddenException", "ResourceNotFoundException"])
def test_role_without_access(emulator: Emulator, logged_in: dict[str, Any], answer: str) -> None:
    emulator.config.missing_role_error = answer
    profile = SsoProfile("prod-admin", SESSION, "222222222222", "Admin", None)
    with pytest.raises(NoRoleAccessError) as info:
        rolecreds.get_credentials(profile)
    assert info.value.message.startswith("you have no access to role Admin in account 222222222222")
    assert not rolecreds.cache_file(profile).exists()


def test_transient_faults_are_retried(emulator: Emulator, logged_in: dict[str, Any]) -> None:
    emulator.inject_fault("GetRoleCredentials", "5xx")
    emulator.inject_fault("GetRoleCredentials", "throttle")
    emulator.inject_fault("GetRoleCredentials", "drop")
    assert rolecreds.get_credentials(DEV).access_key_id.startswith("ASIA")
    assert settled_count(emulator, "GetRoleCredentials", 4) == 4


def test_endpoint_that_keeps_dropping_is_a_network_error(
    emulator: Emulator, logged_in: dict[str, Any]
) -> None:
    emulator.inject_fault("GetRoleCredentials", "drop", count=10)
    with pytest.raises(NetworkError) as info:
        rolecreds.get_credentials(DEV)
    assert "profile 'dev'" in info.value.message
    assert not rolecreds.cache_file(DEV).exists()


@pytest.mark.parametrize("ttl", [1e17, -1e12])  # expiration 1e20 ms; before 1970
def test_an_expiration_out_of_range_is_a_one_line_service_error(
    emulator: Emulator, logged_in: dict[str, Any], ttl: float
) -> None:
    from aws_sso_tray.errors import ExitCode, Recovery, ServiceError

    emulator.config.credential_ttl = ttl
    with pytest.raises(ServiceError) as info:
        rolecreds.get_credentials(DEV)
    assert info.value.exit_code == ExitCode.SERVICE
    assert info.value.recovery is Recovery.RETRY  # the engine backs off and asks again
    message = info.value.message
    assert "profile 'dev'" in message and "expiration" in message, message
    assert "\n" not in message
    assert not rolecreds.cache_file(DEV).exists()
    emulator.config.credential_ttl = 3600
    assert rolecreds.get_credentials(DEV).access_key_id.startswith("ASIA")


def test_a_burst_of_credential_process_calls_makes_one_fetch(
    emulator: Any, logged_in: dict[str, Any], aws_config: Any, cli: Any
) -> None:
    """20 SDK workers started at once on a cold cache: the first fetches, the others wait for
    its lock and answer from the cache it wrote (benchmarks/burst.py measures the CPU)."""
    aws_config(
        f"[sso-session corp]\nsso_start_url = {START_URL}\nsso_region = us-east-1\n"
        "sso_registration_scopes = sso:account:access\n\n[profile dev]\nsso_session = corp\n"
        "sso_account_id = 111111111111\nsso_role_name = ReadOnly\n"
    )
    assert cli("list").returncode == 0  # makes our state folders, as any earlier run has
    emulator.inject_fault("GetRoleCredentials", "latency", delay=0.5)
    command = [sys.executable, "-m", "aws_sso_tray", "credential-process", "--profile", "dev"]
    procs = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(20)
    ]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * 20, outputs[0][1]
    assert len({out for out, _ in outputs}) == 1
    assert json.loads(outputs[0][0])["AccessKeyId"].startswith("ASIA")
    assert settled_count(emulator, "GetRoleCredentials", 1) == 1
