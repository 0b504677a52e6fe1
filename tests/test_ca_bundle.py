"""`ca_bundle` per profile (issue 14 §6), and the console sign-in's TLS errors: the real CLI in a
subprocess against the emulator over HTTPS from a test CA (trustme), the bundle set only in one
profile's section of the AWS config (no AWS_PROFILE, no [default] bundle).

botocore reads `ca_bundle` from the selected profile, for every call made for it (a chained
profile's source hops included); AWS_CA_BUNDLE wins over it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import test_proxy_tls
from test_proxy_tls import CONFIG, device_login, one_line

if TYPE_CHECKING:
    from aws_sso_tray.emulator import Emulator
    from fixture_types import RunCli, WriteConfig

# test_proxy_tls's fixtures: the test CA, its PEM file, the emulator over HTTPS from it
ca = test_proxy_tls.ca
ca_bundle = test_proxy_tls.ca_bundle
tls_emulator = test_proxy_tls.tls_emulator

DEPLOY = """
[profile deploy]
role_arn = arn:aws:iam::222222222222:role/Deployer
source_profile = dev
region = eu-west-1
"""


def _with_bundle(text: str, profile: str, bundle: Path | str) -> str:
    header = f"[profile {profile}]\n"
    assert header in text
    return text.replace(header, f"{header}ca_bundle = {bundle}\n")


def _keys(cli: RunCli, *args: str, env: dict[str, str] | None = None) -> str:
    done = cli("export", "--profile", *args, env=env)
    assert done.returncode == 0, done.stderr
    key = json.loads(done.stdout)["AccessKeyId"]
    assert isinstance(key, str) and key.startswith("ASIA")
    return key


@pytest.fixture
def signin_over_tls(tls_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", tls_emulator.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SIGNIN", tls_emulator.url)
    monkeypatch.delenv("AWS_CA_BUNDLE", raising=False)
    return tls_emulator


def test_the_profiles_own_ca_bundle_serves_every_call(
    signin_over_tls: Emulator, ca_bundle: Path, aws_config: WriteConfig, cli: RunCli
) -> None:
    aws_config(_with_bundle(CONFIG, "dev", ca_bundle))
    # login is for the session: the bundle its profiles agree on (dev's)
    device_login(signin_over_tls)
    _keys(cli, "dev")  # sso portal
    console = cli("console", "dev", "--federated", "--print")  # signin, without botocore
    assert console.returncode == 0, console.stderr
    assert "SigninToken=" in console.stdout
    assert signin_over_tls.count("GetRoleCredentials") == 1
    assert signin_over_tls.count("Federation") == 1


def test_a_chained_profile_uses_its_own_bundle_for_the_whole_chain(
    signin_over_tls: Emulator, ca_bundle: Path, aws_config: WriteConfig, cli: RunCli
) -> None:
    aws_config(_with_bundle(CONFIG + DEPLOY, "deploy", ca_bundle))
    device_login(signin_over_tls, {"AWS_CA_BUNDLE": str(ca_bundle)})
    # as botocore with `--profile deploy`: the source's portal call and STS use deploy's bundle
    _keys(cli, "deploy")
    assert signin_over_tls.count("GetRoleCredentials") == 1
    assert signin_over_tls.count("AssumeRole") == 1
    console = cli("console", "deploy", "--federated", "--print")
    assert console.returncode == 0, console.stderr
    # ... while dev, which sets none, is not trusted: a bundle is the selected profile's only
    for cached in (Path.home() / ".aws" / "cli" / "cache").glob("*.json"):
        cached.unlink()
    dev = cli("export", "--profile", "dev")
    assert dev.returncode == 7, dev.stderr
    assert "is not trusted" in one_line(dev)
    # AWS_CA_BUNDLE wins over the profile's, as in botocore
    missing = cli("export", "--profile", "deploy", env={"AWS_CA_BUNDLE": "/nonexistent/ca.pem"})
    assert missing.returncode == 7, missing.stderr
    assert "cannot be read" in one_line(missing)
    _keys(cli, "deploy")


def test_console_federated_with_an_untrusted_certificate_says_what_to_set(
    signin_over_tls: Emulator,
    ca_bundle: Path,
    aws_config: WriteConfig,
    cli: RunCli,
    tmp_path: Path,
) -> None:
    aws_config(CONFIG)
    device_login(signin_over_tls, {"AWS_CA_BUNDLE": str(ca_bundle)})
    _keys(cli, "dev", env={"AWS_CA_BUNDLE": str(ca_bundle)})  # credentials cached
    host = signin_over_tls.url.removeprefix("https://")
    done = cli("console", "dev", "--federated", "--print")
    assert done.returncode == 7, done.stderr  # ExitCode.NETWORK
    line = one_line(done)
    assert f"signing in to the AWS console at {host} of profile 'dev'" in line
    assert f"the TLS certificate of {host} is not trusted (" in line
    assert "set ca_bundle in the AWS config or AWS_CA_BUNDLE" in line
    aws_config(_with_bundle(CONFIG, "dev", tmp_path / "gone.pem"))
    gone = cli("console", "dev", "--federated", "--print")
    assert gone.returncode == 7, gone.stderr
    assert f"the CA bundle for {host} cannot be read" in one_line(gone)
    assert signin_over_tls.count("Federation") == 0
