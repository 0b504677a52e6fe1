"""credential-process's fast path for roles chained on SSO (aws/warmchained.py).

The warm answer must be the full path's, byte for byte, come without botocore or AssumeRole,
and decline (leaving the full path to explain) on anything the full path might read otherwise.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import aws_sso_tray
from aws_sso_tray import clock
from aws_sso_tray.aws import chained, profiles, warmcache, warmchained
from aws_sso_tray.aws.rolecreds import RoleCredentials
from aws_sso_tray.files import paths
from sso_helpers import device_login, run_stock_botocore, session_config
from test_chained import BOTOCORE_SCRIPT, CHAINS, SESSION
from test_warmcache import IMPORT_BUDGET, launch_credential_process

if TYPE_CHECKING:
    from aws_sso_tray.emulator import Emulator
    from fixture_types import RunCli, WriteConfig

ROOT = session_config(SESSION, "dev", "111111111111", "ReadOnly")


@pytest.fixture
def chain(emulator: Emulator, aws_config: WriteConfig, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", emulator.url)
    aws_config(ROOT + CHAINS)
    device_login(emulator, SESSION)
    return emulator


def _process(cli: RunCli, profile: str, *, full: bool = False) -> str:
    # `--debug` before the command: launch.py takes no fast path, the CLI answers.
    args = ("--debug",) if full else ()
    done = cli(*args, "credential-process", "--profile", profile)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("name", ["deploy", "admin"])
def test_the_warm_answer_is_the_full_paths(chain: Emulator, cli: RunCli, name: str) -> None:
    first = _process(cli, name)  # cold: the full path assumes the role(s) and caches them
    calls = chain.count("AssumeRole")
    assert calls in (1, 2)
    warm = warmchained.answer(["--profile", name])
    assert warm is not None  # the cache holds it: the fast path answers, in this process too
    assert warm == first == _process(cli, name) == _process(cli, name, full=True)
    assert chain.count("AssumeRole") == calls


def test_a_cache_the_aws_cli_wrote_is_answered_warm(chain: Emulator, cli: RunCli) -> None:
    keys = json.loads(run_stock_botocore(BOTOCORE_SCRIPT.format(profile="deploy")))
    # botocore's JSONFileCache writes the time as ...UTC: read here as the full path reads it
    texts = [p.read_text() for p in paths.cli_cache_dir().glob("*.json")]
    assert any('UTC"' in t for t in texts), texts
    warm = warmchained.answer(["--profile", "deploy"])
    assert warm is not None and json.loads(warm)["AccessKeyId"] == keys[0]
    assert warm == _process(cli, "deploy", full=True)
    assert chain.count("AssumeRole") == 1


def _write(profile: str, expires_in: timedelta) -> None:
    found = profiles.find_chained(profile)
    assert found is not None
    expiration = (clock.now() + expires_in).replace(microsecond=0)
    creds = RoleCredentials("ASIAWARM", "secret", "token", expiration)
    chained.write_cached(found, creds, {"Arn": found.role_arn, "AssumedRoleId": "X:y"})


def test_expiring_or_unknown_profiles_decline(aws_config: WriteConfig) -> None:
    aws_config(ROOT + CHAINS)
    _write("deploy", timedelta(minutes=10))
    assert warmchained.answer(["--profile", "deploy", "--min-remaining", "5m"]) is not None
    assert warmchained.answer(["--profile", "deploy", "--min-remaining", "15m"]) is None
    assert warmchained.answer(["--profile", "deploy"]) is None  # the default 15 min
    assert warmchained.answer(["--profile", "dev"]) is None  # an SSO profile: warmcache's
    assert warmchained.answer(["--profile", "mfa"]) is None  # refused by the full path
    assert warmchained.answer(["--profile", "nobody"]) is None
    assert warmchained.answer(["--profile", "deploy", "--debug"]) is None


@pytest.mark.parametrize(
    "extra",
    [
        "credential_source = Environment",
        "aws_access_key_id = AKIAX\naws_secret_access_key = s",
        "sso_account_id = 111111111111",
        "duration_seconds = 7200",
        "duration_seconds = 12x",
    ],
)
def test_a_link_the_full_path_reads_otherwise_declines(aws_config: WriteConfig, extra: str) -> None:
    aws_config(ROOT + CHAINS)
    _write("deploy", timedelta(hours=1))
    assert warmchained.answer(["--profile", "deploy"]) is not None
    aws_config(
        ROOT + CHAINS.replace("role_session_name = alice", f"role_session_name = alice\n{extra}")
    )
    assert warmchained.answer(["--profile", "deploy"]) is None


def test_the_other_warm_paths_use_only_warmcache_public_helpers() -> None:
    """warmchained and enginecreds read the request, the settings note and the config through
    warmcache's documented interface, never its private helpers."""
    folder = Path(aws_sso_tray.__file__).parent / "aws"
    for module in ("warmchained.py", "enginecreds.py"):
        assert "warmcache._" not in (folder / module).read_text(encoding="utf-8"), module


def test_the_key_is_chained_cache_key(aws_config: WriteConfig) -> None:
    aws_config(ROOT + CHAINS)
    sections = warmcache.config_sections()
    assert sections is not None
    for name in ("deploy", "admin"):
        found = profiles.find_chained(name)
        assert found is not None
        assert warmchained.cache_key_for(sections, name) == chained.cache_key(found)


_arn_part = st.text(alphabet="abc09/-_+=,.@:*ZÄ \x7f", max_size=10)


@given(_arn_part, _arn_part, st.sampled_from(["aws", "aws-cn", "aws-us-gov", "awsX", "aws1"]))
@example("", "Admin", "aws")
@example("ops/", "Admin", "aws")
@example("/", "Admin", "aws")
@example("a//", "Admin", "aws")
@example("", "A" * 65, "aws")
def test_the_role_arn_check_agrees_with_profiles(path: str, name: str, partition: str) -> None:
    arn = f"arn:{partition}:iam::123456789012:role/{path}{name}"
    if warmchained.plain_role_arn(arn):  # it may decline more, never accept more
        assert profiles._ROLE_ARN_RE.match(arn)
    if arn.isascii() and name.isalnum() and "/" not in name and not path:
        assert warmchained.plain_role_arn(arn) == bool(profiles._ROLE_ARN_RE.match(arn))


def test_the_chained_fast_path_stays_within_the_import_budget(aws_config: WriteConfig) -> None:
    aws_config(ROOT + CHAINS)
    _write("admin", timedelta(hours=1))
    answer, loaded = launch_credential_process("admin")
    assert answer["AccessKeyId"] == "ASIAWARM"
    budget = IMPORT_BUDGET | {"aws_sso_tray.aws.warmchained"}
    assert loaded <= budget, sorted(loaded - budget)


def test_a_cold_cache_asks_the_running_engine_without_botocore(chain: Emulator) -> None:
    from aws_sso_tray.aws import enginecreds, formats
    from test_daemon import start_daemon
    from test_endpoint import Daemon, _credential_process
    from waiting import wait_for

    running = Daemon(start_daemon("--debug"))
    try:
        wait_for(
            lambda: (
                ((found := enginecreds.published()) is not None and "admin" in found.tokens)
                or running.proc.poll() is not None
            ),
            "the daemon's endpoint, serving the chained profile",
        )
        assert running.proc.poll() is None
        admin = profiles.find_chained("admin")
        assert admin is not None and not chained.cache_file(admin).exists()
        output, without_botocore = _credential_process("--profile", "admin")
        assert without_botocore  # the engine assumed the roles: not this process
        assert chain.count("AssumeRole") == 2
        cached = chained.read_cached(admin)
        assert cached is not None
        assert output == formats.process_json(cached)
        warm, without_botocore = _credential_process("--profile", "admin")
        assert warm == output and without_botocore
        assert chain.count("AssumeRole") == 2
    finally:
        running.stop()
    assert running.proc.returncode == 0, running.stderr
