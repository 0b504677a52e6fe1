"""Roles chained on SSO profiles (role_arn + source_profile): config, STS, cache, CLI, engine.

Against the emulator's STS (`AWS_ENDPOINT_URL_STS`), with the real CLI in a subprocess and stock
botocore in another, sharing the AWS CLI's assume-role cache in `~/.aws/cli/cache`.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from aws_sso_tray.aws import chained, profiles
from aws_sso_tray.aws.profiles import ChainedProfile, SsoSession
from aws_sso_tray.engine.options import EngineOptions
from aws_sso_tray.engine.worker import Engine
from aws_sso_tray.errors import ConfigError
from aws_sso_tray.files import paths, settings
from aws_sso_tray.snapshot import ProfileStatus
from sso_helpers import device_login, run_stock_botocore, session_config
from test_engine import FakeClock

if TYPE_CHECKING:
    from aws_sso_tray.emulator import Emulator
    from fixture_types import RunCli, WriteConfig

SESSION = SsoSession(
    "corp", "https://d-1234567890.awsapps.com/start", "us-east-1", ("sso:account:access",)
)
DEPLOY_ARN = "arn:aws:iam::222222222222:role/Deployer"
ADMIN_ARN = "arn:aws:iam::333333333333:role/ops/Admin"
CHAINS = f"""
[profile deploy]
role_arn = {DEPLOY_ARN}
source_profile = dev
role_session_name = alice
region = eu-west-1

[profile admin]
role_arn = {ADMIN_ARN}
source_profile = deploy
duration_seconds = 1800
external_id = shared-secret-id
region = eu-west-1

[profile mfa]
role_arn = {DEPLOY_ARN}
source_profile = dev
mfa_serial = arn:aws:iam::111111111111:mfa/alice
"""

# Stock botocore with the AWS CLI's caches (awscli sets the assume-role and sso providers'
# cache to ~/.aws/cli/cache): which key it gets for a profile.
BOTOCORE_SCRIPT = """
import json, os, sys, botocore.session
from botocore.utils import JSONFileCache
session = botocore.session.Session(profile=sys.argv[1] if len(sys.argv) > 1 else {profile!r})
cache = JSONFileCache(os.path.expanduser("~/.aws/cli/cache"))
resolver = session.get_component("credential_provider")
resolver.get_provider("assume-role").cache = cache
resolver.get_provider("sso").cache = cache
creds = session.get_credentials().get_frozen_credentials()
print(json.dumps([creds.access_key, creds.secret_key, creds.token]))
"""


@pytest.fixture
def chain(emulator: Emulator, aws_config: WriteConfig, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", emulator.url)
    aws_config(session_config(SESSION, "dev", "111111111111", "ReadOnly") + CHAINS)
    device_login(emulator, SESSION)
    return emulator


def botocore_keys(profile: str) -> list[str]:
    return list(json.loads(run_stock_botocore(BOTOCORE_SCRIPT.format(profile=profile))))


def process_keys(cli: RunCli, profile: str) -> list[str]:
    done = cli("credential-process", "--profile", profile)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["Version"] == 1 and data["Expiration"]
    return [data["AccessKeyId"], data["SecretAccessKey"], data["SessionToken"]]


# --- the config --------------------------------------------------------------------------------


def test_chains_are_read_as_botocore_follows_them(aws_config: WriteConfig) -> None:
    path = aws_config(
        session_config(SESSION, "dev", "111111111111", "ReadOnly")
        + CHAINS
        + "\n[profile keys]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = x\n"
        + f"\n[profile on-keys]\nrole_arn = {DEPLOY_ARN}\nsource_profile = keys\n"
        + f"\n[profile on-metadata]\nrole_arn = {DEPLOY_ARN}\n"
        + "credential_source = Ec2InstanceMetadata\n"
        + f"\n[profile long]\nrole_arn = {DEPLOY_ARN}\nsource_profile = dev\n"
        + "duration_seconds = 7200\n"
    )
    config = profiles.read_config(path)
    assert [p.name for p in config.chained] == ["deploy", "admin"]
    admin = config.find_chained("admin")
    assert isinstance(admin, ChainedProfile)
    assert admin.hops == ("dev", "deploy", "admin")
    assert (admin.account_id, admin.role_name, admin.session) == ("333333333333", "Admin", SESSION)
    assert admin.duration_seconds == 1800 and admin.external_id == "shared-secret-id"
    # keys and credential_source are botocore's to resolve, not ours
    assert config.find_chained("on-keys") is None and config.find_chained("on-metadata") is None
    with pytest.raises(ConfigError, match=r"line \d+: profile 'long' has duration_seconds"):
        config.find_chained("long")
    assert any("'long'" in p.message for p in config.problems)
    assert not any("'mfa'" in p.message for p in config.problems)  # refused, not broken


def test_cache_key_is_botocores(aws_config: WriteConfig) -> None:
    from botocore.credentials import AssumeRoleCredentialFetcher

    aws_config(session_config(SESSION, "dev", "111111111111", "ReadOnly") + CHAINS)
    for name in ("deploy", "admin"):
        profile = profiles.find_chained(name)
        assert profile is not None
        fetcher: Any = AssumeRoleCredentialFetcher(
            client_creator=None,  # type: ignore[arg-type]  # never called: the key is all we ask
            source_credentials=None,
            role_arn=profile.role_arn,
            extra_args={k: v for k, v in chained.assume_kwargs(profile).items() if k != "RoleArn"},
            cache={},
        )
        assert chained.cache_key(profile) == fetcher._create_cache_key()


# --- the CLI and botocore, sharing the cache ---------------------------------------------------


def test_credential_process_assumes_the_role_and_botocore_reuses_it(
    chain: Emulator, cli: RunCli
) -> None:
    ours = process_keys(cli, "deploy")
    assert chain.count("AssumeRole") == 1
    assert ours[0].startswith("ASIA") and ours[1] in chain.issued_secrets()
    cached = json.loads(next(paths.cli_cache_dir().glob("*.json")).read_text())
    assert cached is not None
    # stock botocore, as the AWS CLI sets it up, answers from the file we wrote
    assert botocore_keys("deploy") == ours
    assert chain.count("AssumeRole") == 1
    assert process_keys(cli, "deploy") == ours  # and so do we, again


def test_we_reuse_what_botocore_assumed(chain: Emulator, cli: RunCli) -> None:
    theirs = botocore_keys("deploy")
    assert chain.count("AssumeRole") == 1
    assert process_keys(cli, "deploy") == theirs
    assert chain.count("AssumeRole") == 1


def test_a_two_hop_chain_caches_each_hop(chain: Emulator, cli: RunCli) -> None:
    admin = process_keys(cli, "admin")
    assert chain.count("AssumeRole") == 2  # dev -> deploy -> admin
    deploy = process_keys(cli, "deploy")
    assert chain.count("AssumeRole") == 2  # the first hop came from its own cache file
    assert admin != deploy
    assert botocore_keys("admin") == admin
    assert chain.count("AssumeRole") == 2


def test_export_and_sync_write_a_chained_profile(chain: Emulator, cli: RunCli) -> None:
    from botocore.configloader import raw_config_parse

    done = cli("sync", "deploy:work", "dev")
    assert done.returncode == 0, done.stderr
    assert "deploy -> [work]" in done.stdout
    written = raw_config_parse(str(paths.aws_credentials_file()))
    key = written["work"]["aws_access_key_id"]
    assert key.startswith("ASIA") and key != written["dev"]["aws_access_key_id"]
    exported = cli("export", "--profile", "deploy", "--env")
    assert exported.returncode == 0, exported.stderr
    assert f"AWS_ACCESS_KEY_ID={key}" in exported.stdout  # from the cache: one AssumeRole
    assert chain.count("AssumeRole") == 1


def test_mfa_serial_is_refused_in_one_line(chain: Emulator, cli: RunCli) -> None:
    for command in (["credential-process", "--profile", "mfa"], ["sync", "mfa"]):
        done = cli(*command)
        assert done.returncode != 0
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert "profile 'mfa' sets mfa_serial" in lines[0] and "line " in lines[0]
    assert chain.count("AssumeRole") == 0


def test_an_sts_failure_is_one_line_naming_the_role(chain: Emulator, cli: RunCli) -> None:
    chain.inject_fault("AssumeRole", "5xx", count=10)
    done = cli("credential-process", "--profile", "deploy")
    assert done.returncode != 0
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert f"assuming role {DEPLOY_ARN} for profile 'deploy'" in done.stderr


# --- the engine --------------------------------------------------------------------------------


def test_the_engine_keeps_a_chained_role_fresh_on_its_own_hour(
    chain: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SSO credentials live 8 h here, the chained role 1 h: the plan follows each expiry."""
    chain.config.credential_ttl = 8 * 3600
    settings.add_auto_sync("dev")
    settings.add_auto_sync("deploy")
    fake = FakeClock(chain)
    engine = Engine(options=EngineOptions(clock=fake, watch_interval=0, env={}))
    engine.tick()
    snap = engine.snapshot
    dev, deploy = snap.profile("dev"), snap.profile("deploy")
    assert dev is not None and deploy is not None
    assert deploy.status == ProfileStatus.FRESH and deploy.session_key == dev.session_key
    assert (deploy.account_id, deploy.role_name) == ("222222222222", "Deployer")
    assert deploy.credentials_expire_at is not None and dev.credentials_expire_at is not None
    lifetime = deploy.credentials_expire_at - snap.taken_at
    assert timedelta(minutes=55) < lifetime <= timedelta(hours=1)
    assert deploy.next_refresh_at == deploy.credentials_expire_at - timedelta(minutes=10)
    assert dev.credentials_expire_at - snap.taken_at > timedelta(hours=7)
    assert chain.count("AssumeRole") == 1
    portal_calls = chain.count("GetRoleCredentials")

    fake.advance(51 * 60)  # past the chained role's refresh time, hours before dev's
    engine.tick()
    assert chain.count("AssumeRole") == 2
    assert chain.count("GetRoleCredentials") == portal_calls  # its source came from the cache
    again = engine.snapshot.profile("deploy")
    assert again is not None and again.credentials_expire_at is not None
    assert again.credentials_expire_at > deploy.credentials_expire_at
    section = _section("deploy")
    assert section["aws_access_key_id"] != _section("dev")["aws_access_key_id"]


def _section(name: str) -> dict[str, Any]:
    from botocore.configloader import raw_config_parse

    found: dict[str, Any] = raw_config_parse(str(paths.aws_credentials_file()))[name]
    return found


def test_a_refused_chained_profile_kept_fresh_says_why(chain: Emulator) -> None:
    settings.add_auto_sync("mfa")
    engine = Engine(options=EngineOptions(clock=FakeClock(chain), watch_interval=0, env={}))
    engine.tick()
    assert engine.snapshot.config_error is not None
    assert "mfa_serial" in engine.snapshot.config_error
    assert chain.count("AssumeRole") == 0


# --- the emulator's STS ------------------------------------------------------------------------


def _sts(key: str, secret: str, token: str | None, url: str) -> Any:
    import boto3

    return boto3.client(
        "sts",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
    )


def test_emulator_sts_checks_signatures_with_the_secret_it_issued(chain: Emulator) -> None:
    from botocore.exceptions import ClientError

    from aws_sso_tray import api

    sso = api.sso_credentials("dev")
    ok = _sts(sso.access_key_id, sso.secret_access_key, sso.session_token, chain.url)
    first = ok.assume_role(RoleArn=DEPLOY_ARN, RoleSessionName="t1")["Credentials"]
    assert first["SecretAccessKey"] in chain.issued_secrets()
    # credentials it issued sign the next hop
    hop = _sts(first["AccessKeyId"], first["SecretAccessKey"], first["SessionToken"], chain.url)
    assert hop.assume_role(RoleArn=ADMIN_ARN, RoleSessionName="t2")["AssumedRoleUser"][
        "Arn"
    ].startswith("arn:aws:sts::333333333333:assumed-role/Admin/t2")
    cases = [
        (("ASIAUNKNOWN000000000", "x" * 40, "tok"), "InvalidClientTokenId", 403),
        ((sso.access_key_id, "wrong" * 8, sso.session_token), "SignatureDoesNotMatch", 403),
        ((sso.access_key_id, sso.secret_access_key, "other-token"), "InvalidClientTokenId", 403),
    ]
    for (key, secret, token), code, status in cases:
        with pytest.raises(ClientError) as caught:
            _sts(key, secret, token, chain.url).assume_role(
                RoleArn=DEPLOY_ARN, RoleSessionName="t3"
            )
        assert caught.value.response["Error"]["Code"] == code
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    with pytest.raises(ClientError) as too_long:
        ok.assume_role(RoleArn=DEPLOY_ARN, RoleSessionName="t4", DurationSeconds=7200)
    assert too_long.value.response["Error"]["Code"] == "ValidationError"


def test_no_secret_reaches_the_debug_log(chain: Emulator, cli: RunCli, home: Path) -> None:
    done = cli("--debug", "credential-process", "--profile", "admin")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    for secret in chain.issued_secrets():
        assert secret not in done.stderr
    assert answer["SecretAccessKey"] not in done.stderr


def test_the_tray_shows_a_chained_role_under_the_session_it_comes_from(
    chain: Emulator, aws_config: WriteConfig
) -> None:
    from aws_sso_tray import api
    from aws_sso_tray.files.settings import Settings
    from aws_sso_tray.tray.menu import build_menu

    other = SsoSession("other", "https://d-0987654321.awsapps.com/start", "eu-west-1", ())
    aws_config(
        session_config(SESSION, "dev", "111111111111", "ReadOnly")
        + CHAINS
        + "\n"
        + session_config(other, "ext", "333333333333", "Admin")
    )
    snap = api.offline_snapshot()
    deploy, dev = snap.profile("deploy"), snap.profile("dev")
    assert deploy is not None and dev is not None and deploy.session_key == dev.session_key
    entries = build_menu(snap, Settings())
    corp = next(e for e in entries if e.label.startswith("corp"))
    under_corp = [c.label.split(" ")[0] for c in corp.children]
    assert {"dev", "deploy", "admin"} <= set(under_corp)
    ext = next(e for e in entries if e.label.startswith("other"))
    assert "deploy" not in [c.label.split(" ")[0] for c in ext.children]


def test_logout_removes_the_sections_written_for_its_chained_roles(
    chain: Emulator, cli: RunCli
) -> None:
    from botocore.configloader import raw_config_parse

    assert cli("sync", "deploy").returncode == 0
    assert "deploy" in raw_config_parse(str(paths.aws_credentials_file()))
    done = cli("logout", "dev", "--remove-credentials")
    assert done.returncode == 0, done.stderr
    assert "deploy" not in raw_config_parse(str(paths.aws_credentials_file()))


# --- exec and console --federated get chained roles through `api.credentials` -------------------


def test_exec_runs_a_command_with_the_chained_roles_keys(chain: Emulator, cli: RunCli) -> None:
    import sys

    ours = process_keys(cli, "deploy")
    show = "import os; print(os.environ['AWS_ACCESS_KEY_ID'], os.environ['AWS_REGION'])"
    done = cli("exec", "deploy", "--no-endpoint", "--", sys.executable, "-c", show)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [ours[0], "eu-west-1"]  # the cached role, its own region
    assert chain.count("AssumeRole") == 1


def test_console_federated_signs_in_as_the_chained_role(
    chain: Emulator, cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_console import follow

    monkeypatch.setenv("AWS_ENDPOINT_URL_SIGNIN", chain.url)
    done = cli("console", "deploy", "--federated", "--print")
    assert done.returncode == 0, done.stderr
    _landed, page = follow(done.stdout.strip())
    assert "Signed in to account 222222222222 as role Deployer" in page
    portal = cli("console", "deploy", "--print")  # the portal link is an SSO role's only
    assert portal.returncode != 0 and "use --federated" in portal.stderr


def test_list_shows_chained_roles_under_their_roots_session(
    chain: Emulator, cli: RunCli, aws_config: WriteConfig
) -> None:
    other = SsoSession("other", "https://d-0987654321.awsapps.com/start", "eu-west-1", ())
    aws_config(
        session_config(SESSION, "dev", "111111111111", "ReadOnly")
        + "\n"
        + session_config(other, "ext", "333333333333", "Admin")
        + CHAINS
    )
    done = cli("list", "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    # config order, each chained role right after the last profile of its root's session
    assert [r["name"] for r in rows] == ["dev", "deploy", "admin", "ext"]
    by_name = {r["name"]: r for r in rows}
    assert by_name["deploy"]["via"] == "dev" and by_name["admin"]["via"] == "deploy"
    assert by_name["dev"]["via"] is None and by_name["ext"]["via"] is None
    assert by_name["admin"]["account_id"] == "333333333333"
    assert by_name["admin"]["role_name"] == "Admin"
    assert by_name["admin"]["sso_session"] == "corp"
    # the root's login state: signed in to corp (device_login), not to other
    assert by_name["dev"]["token_expires_at"]
    assert by_name["admin"]["token_expires_at"] == by_name["dev"]["token_expires_at"]
    assert by_name["ext"]["token_expires_at"] is None
    assert "mfa" not in by_name  # refused: a warning, not a row
    table = cli("list").stdout.splitlines()
    admin = next(line.split() for line in table if line.startswith("admin "))
    assert admin[:6] == ["admin", "corp", "333333333333", "Admin", "via", "deploy"]
    assert "until" in admin
