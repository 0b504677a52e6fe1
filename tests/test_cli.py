"""The real CLI in a subprocess against the emulator over HTTP, with real files in a temp HOME.

Most tests start logged in as `aws sso login` leaves it (the token written by botocore's own
cache code); the tests of `login` itself sign in through the CLI, the browser stand-in pressing
Allow.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from sso_helpers import STANDIN_BROWSER

if TYPE_CHECKING:
    from aws_sso_tray.emulator import Emulator
    from fixture_types import RunCli, WriteConfig

CONFIG = """\
# my AWS config
[default]
region = eu-west-1

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = us-east-1
sso_registration_scopes = sso:account:access

[profile dev]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = ReadOnly
region = eu-west-1

[profile dev-admin]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = Admin

[profile prod]
sso_session = corp
sso_account_id = 222222222222
sso_role_name = ReadOnly

[profile static]
region = us-west-2
"""

CREDENTIALS = """\
# keep this comment
[default]
aws_access_key_id = AKIAIOSFODNN7EXAMPLE
aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY

[static]
aws_access_key_id = AKIASTATICEXAMPLE000
aws_secret_access_key = staticsecret
"""


@pytest.fixture
def standin_env(tmp_path: Path) -> dict[str, str]:
    """$BROWSER = the emulator's browser stand-in, pressing Allow."""
    return {"BROWSER": STANDIN_BROWSER}


@pytest.fixture
def setup(home: Path, aws_config: WriteConfig, emulator: Emulator) -> Emulator:
    aws_config(CONFIG)
    creds = home / ".aws" / "credentials"
    creds.write_text(CREDENTIALS)
    creds.chmod(0o600)
    return emulator


@pytest.fixture
def logged_in(setup: Emulator) -> Emulator:
    """Logged in as `aws sso login` leaves it (botocore's own cache writer), in-process: the
    CLI's own login is tested by the tests that call `login`, and two extra Python processes
    and a device-code poll per test are most of this file's time."""
    from aws_sso_tray.aws.profiles import SsoSession
    from sso_helpers import device_login

    session = SsoSession(
        "corp", "https://corp.awsapps.com/start", "us-east-1", ("sso:account:access",)
    )
    device_login(setup, session)
    return setup


def test_version_and_help(cli: RunCli) -> None:
    result = cli("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("aws-sso-tray ")
    for command in ("list", "export", "credential-process", "sync", "login", "logout"):
        result = cli(command, "--help")
        assert result.returncode == 0, command
        assert "usage: aws-sso-tray" in result.stdout


def test_list_json_before_and_after_login(
    setup: Emulator, cli: RunCli, standin_env: dict[str, str]
) -> None:
    result = cli("list", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["name"] for r in rows] == ["dev", "dev-admin", "prod"]
    dev = rows[0]
    assert dev == {
        "name": "dev",
        "sso_session": "corp",
        "start_url": "https://corp.awsapps.com/start",
        "region": "us-east-1",
        "account_id": "111111111111",
        "role_name": "ReadOnly",
        "token_expires_at": None,
        "synced_section": None,
        "via": None,
    }
    login = cli("login", "prod", "--use-device-code", env=standin_env, timeout=60)
    assert login.returncode == 0, login.stderr
    assert "Logged in to corp" in login.stdout
    rows = json.loads(cli("list", "--json").stdout)
    assert all(r["token_expires_at"] and r["token_expires_at"].endswith("Z") for r in rows)
    table = cli("list").stdout
    assert table.splitlines()[0].split() == [
        "PROFILE",
        "SESSION",
        "ACCOUNT",
        "ROLE",
        "LOGIN",
        "SYNCED",
        "TO",
    ]
    assert "until" in table


def test_no_token_is_a_one_line_login_needed_error(setup: Emulator, cli: RunCli) -> None:
    for args in (
        ("export", "--profile", "dev"),
        ("credential-process", "--profile", "dev"),
        ("sync", "dev"),
    ):
        result = cli(*args)
        assert result.returncode == 4, (args, result.stderr)
        assert result.stdout == ""
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert "aws-sso-tray login dev" in lines[0]
        assert "Traceback" not in result.stderr


def test_export_formats(logged_in: Emulator, cli: RunCli) -> None:
    data = json.loads(cli("export", "--profile", "dev").stdout)
    assert data["Version"] == 1
    assert data["AccessKeyId"].startswith("ASIA")
    assert data["Expiration"].endswith("Z")
    env = cli("export", "--profile", "dev", "--env").stdout.splitlines()
    assert [line.split("=", 1)[0] for line in env] == [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_CREDENTIAL_EXPIRATION",
    ]
    exported = cli("export", "--profile", "dev", "--env-export").stdout
    assert all(line.startswith("export AWS_") for line in exported.splitlines())
    # the shell reads back what we printed
    shell = subprocess.run(
        ["bash", "-c", exported + 'printf %s "$AWS_ACCESS_KEY_ID"'],
        capture_output=True,
        text=True,
        check=True,
    )
    assert shell.stdout == data["AccessKeyId"]
    # AWS_PROFILE selects the profile, as with aws-export-credentials
    via_env = json.loads(cli("export", env={"AWS_PROFILE": "dev"}).stdout)
    assert via_env["AccessKeyId"] == data["AccessKeyId"]  # served from the role cache


def test_export_non_sso_profile_through_botocore(setup: Emulator, cli: RunCli) -> None:
    data = json.loads(cli("export", "--profile", "static").stdout)
    assert data["AccessKeyId"] == "AKIASTATICEXAMPLE000"
    assert "Expiration" not in data


def test_export_to_credentials_file_keeps_everything_else(
    logged_in: Emulator, cli: RunCli, home: Path
) -> None:
    creds_file = home / ".aws" / "credentials"
    result = cli("export", "--profile", "dev", "-c", "dev-static")
    assert result.returncode == 0, result.stderr
    text = creds_file.read_text()
    assert text.startswith(CREDENTIALS)
    assert "[dev-static]" in text
    assert (creds_file.stat().st_mode & 0o777) == 0o600
    assert "aws_credential_expiration" not in (home / ".aws" / "config").read_text()
    # stock boto3 uses the section
    import boto3

    credentials = boto3.Session(profile_name="dev-static").get_credentials()
    assert credentials is not None
    got = credentials.get_frozen_credentials()
    assert got.access_key is not None and got.access_key.startswith("ASIA")


def test_long_term_keys_are_refused_without_force(
    logged_in: Emulator, cli: RunCli, home: Path
) -> None:
    creds_file = home / ".aws" / "credentials"
    before = creds_file.read_bytes()
    result = cli("export", "--profile", "dev", "-c", "default")
    assert result.returncode == 5
    assert "--force" in result.stderr
    assert creds_file.read_bytes() == before
    result = cli("sync", "dev:default", "--force")
    assert result.returncode == 0, result.stderr
    assert "AKIAIOSFODNN7EXAMPLE" not in creds_file.read_text()


def test_credential_process_warm_cache_needs_no_boto3_and_no_request(
    logged_in: Emulator, cli: RunCli
) -> None:
    first = cli("credential-process", "--profile", "dev")
    assert first.returncode == 0, first.stderr
    calls = logged_in.count("GetRoleCredentials")
    # The entry point as installed: the fast path answers without botocore, argparse or logging;
    # the CLI module itself (cli.main) answers from the cache without boto3.
    probes = {
        "launch": "from aws_sso_tray.launch import main\nrc = main()\n",
        "cli": "from aws_sso_tray.cli.main import main\nrc = main(sys.argv[1:])\n",
    }
    for name, body in probes.items():
        code = (
            "import sys\n"
            + body
            + "heavy = sorted(m for m in ('boto3', 'botocore', 'botocore.session', 'argparse',"
            " 'logging') if m in sys.modules)\n"
            "print('HEAVY=' + ','.join(heavy), file=sys.stderr)\n"
            "raise SystemExit(rc)\n"
        )
        result = subprocess.run(
            [sys.executable, "-c", code, "credential-process", "--profile", "dev"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        heavy = result.stderr.split("HEAVY=", 1)[1].strip()
        if name == "launch":
            assert heavy == "", heavy
        else:
            assert "boto3" not in heavy and "botocore.session" not in heavy, heavy
        assert json.loads(result.stdout) == json.loads(first.stdout)
    assert logged_in.count("GetRoleCredentials") == calls


def test_credential_process_fast_path_declines_what_it_cannot_answer(
    logged_in: Emulator, cli: RunCli
) -> None:
    from aws_sso_tray.aws import warmcache

    assert cli("credential-process", "--profile", "dev").returncode == 0  # warm the cache
    assert warmcache.answer(["--profile", "dev"]) is not None
    assert warmcache.answer(["--profile", "dev", "--min-remaining", "2h"]) is None  # expiring
    assert warmcache.answer(["--profile", "prod"]) is None  # nothing cached yet
    assert warmcache.answer(["--profile", "static"]) is None  # not an SSO profile
    assert warmcache.answer(["--profile", "dev", "--debug"]) is None
    assert warmcache.answer(["--profile"]) is None
    # what it declines, the full CLI answers (fetching prod) or explains
    result = cli("credential-process", "--profile", "prod")
    assert result.returncode == 0, result.stderr
    assert warmcache.answer(["--profile=prod"]) == result.stdout


def test_credential_process_is_used_by_stock_boto3(
    logged_in: Emulator, cli: RunCli, home: Path
) -> None:
    config = home / ".aws" / "config"
    command = f"{shlex.quote(sys.executable)} -m aws_sso_tray credential-process --profile dev"
    config.write_text(
        config.read_text() + f"\n[profile via-tray]\ncredential_process = {command}\n"
    )
    import boto3

    credentials = boto3.Session(profile_name="via-tray").get_credentials()
    assert credentials is not None
    got = credentials.get_frozen_credentials()
    expected = json.loads(cli("credential-process", "--profile", "dev").stdout)
    assert got.access_key == expected["AccessKeyId"]


def test_sync_many_profiles_one_update(logged_in: Emulator, cli: RunCli, home: Path) -> None:
    result = cli("sync", "dev", "dev-admin:admin", "prod:prod-section")
    assert result.returncode == 0, result.stderr
    assert "dev -> [dev]" in result.stdout
    from botocore.configloader import raw_config_parse

    parsed = raw_config_parse(str(home / ".aws" / "credentials"))
    for section in ("dev", "admin", "prod-section"):
        assert parsed[section]["aws_access_key_id"].startswith("ASIA")
        assert parsed[section]["aws_credential_expiration"].endswith("Z")
    assert parsed["default"]["aws_access_key_id"] == "AKIAIOSFODNN7EXAMPLE"
    assert (home / ".aws" / "credentials").read_text().startswith(CREDENTIALS)


def test_sync_reports_each_failure_and_writes_the_rest(
    logged_in: Emulator, cli: RunCli, aws_config: WriteConfig, home: Path
) -> None:
    aws_config(
        CONFIG + "\n[profile nope]\nsso_session = corp\nsso_account_id = 999999999999\n"
        "sso_role_name = Ghost\n"
    )
    result = cli("sync", "dev", "nope")
    assert result.returncode != 0
    assert "nope" in result.stderr and "Traceback" not in result.stderr
    assert "[dev]" in (home / ".aws" / "credentials").read_text()


def test_sync_refuses_two_profiles_into_one_section(
    logged_in: Emulator, cli: RunCli, home: Path
) -> None:
    creds = home / ".aws" / "credentials"
    before = creds.read_bytes()
    logged_in.clear_requests()
    result = cli("sync", "dev:x", "prod:x")
    assert result.returncode == 3, result  # as `auto add` refuses the same
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "[x]" in lines[0] and "dev" in lines[0] and "prod" in lines[0]
    assert "Traceback" not in result.stderr and "->" not in result.stdout
    assert creds.read_bytes() == before
    assert logged_in.count("GetRoleCredentials") == 0
    # one profile named twice into the same section is no conflict
    again = cli("sync", "dev:x", "dev:x")
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("dev -> [x]") == 1


def test_malformed_config_is_one_line_with_the_line_number(
    setup: Emulator, cli: RunCli, aws_config: WriteConfig
) -> None:
    aws_config(CONFIG + "this is not ini\n")
    result = cli("list")
    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    bad_line = len(CONFIG.splitlines()) + 1
    assert f"line {bad_line}: 'this is not ini'" in lines[0]


def test_unknown_profile_and_missing_session(
    setup: Emulator, cli: RunCli, aws_config: WriteConfig
) -> None:
    result = cli("export", "--profile", "ghost")
    assert result.returncode == 3
    assert "ghost" in result.stderr and "Traceback" not in result.stderr
    aws_config(
        CONFIG + "\n[profile orphan]\nsso_session = nosuch\nsso_account_id = 1\nsso_role_name = R\n"
    )
    result = cli("login", "orphan")
    assert result.returncode == 3
    assert "nosuch" in result.stderr


def test_unreachable_endpoint_is_a_network_error(
    setup: Emulator, cli: RunCli, standin_env: dict[str, str]
) -> None:
    dead = "http://127.0.0.1:9"
    result = cli(
        "login",
        "dev",
        "--use-device-code",
        env={**standin_env, "AWS_ENDPOINT_URL_SSO_OIDC": dead, "AWS_ENDPOINT_URL_SSO": dead},
    )
    assert result.returncode == 7, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_logout_removes_only_our_sections(logged_in: Emulator, cli: RunCli, home: Path) -> None:
    assert cli("sync", "dev", "prod").returncode == 0
    result = cli("logout", "--remove-credentials")
    assert result.returncode == 0, result.stderr
    text = (home / ".aws" / "credentials").read_text()
    assert text == CREDENTIALS
    assert cli("export", "--profile", "dev").returncode == 4
    assert not list((home / ".aws" / "sso" / "cache").glob("*.json")) or all(
        "accessToken" not in p.read_text() for p in (home / ".aws" / "sso" / "cache").glob("*.json")
    )


def test_debug_never_prints_a_secret(
    setup: Emulator, cli: RunCli, standin_env: dict[str, str], home: Path
) -> None:
    runs = [
        cli("login", "dev", "--debug", "--use-device-code", env=standin_env, timeout=60),
        cli("export", "--profile", "dev", "--debug", "-c", "dev"),
        cli("sync", "--debug", "prod", "dev-admin"),
        cli("credential-process", "--debug", "--profile", "dev"),
    ]
    for run in runs:
        assert run.returncode == 0, run.stderr
    secrets = setup.issued_secrets()
    assert secrets
    stderr = "\n".join(r.stderr for r in runs)
    assert "DEBUG" in stderr  # --debug really logged
    leaked = [s for s in secrets if s in stderr]
    assert not leaked


def test_auto_add_list_remove(setup: Emulator, cli: RunCli, home: Path) -> None:
    assert cli("auto", "add", "dev", "prod:prod-creds").returncode == 0
    listed = json.loads(cli("auto", "list", "--json").stdout)
    assert listed == [
        {"profile": "dev", "section": "dev"},
        {"profile": "prod", "section": "prod-creds"},
    ]
    rows = {r["name"]: r for r in json.loads(cli("list", "--json").stdout)}
    assert rows["prod"]["synced_section"] == "prod-creds"
    refused = cli("auto", "add", "dev-admin:default")  # [default] holds IAM user keys
    assert refused.returncode == 5
    assert "long-term" in refused.stderr
    assert cli("auto", "add", "ghost").returncode == 3
    assert cli("auto", "remove", "dev").returncode == 0
    assert cli("auto", "remove", "dev").returncode == 3
    assert [t["profile"] for t in json.loads(cli("auto", "list", "--json").stdout)] == ["prod"]
    settings_file = home / ".config" / "aws-sso-tray" / "settings.toml"
    assert (settings_file.stat().st_mode & 0o777) == 0o600


def test_uninstall_asks_then_removes_only_what_we_created(
    logged_in: Emulator, cli: RunCli, home: Path
) -> None:
    assert cli("sync", "dev").returncode == 0
    assert cli("auto", "add", "prod").returncode == 0
    declined = cli("uninstall", input="n\n")
    assert declined.returncode == 0
    assert "[dev]" in declined.stdout and "Nothing was removed" in declined.stdout
    assert (home / ".config" / "aws-sso-tray" / "settings.toml").exists()
    done = cli("uninstall", "--yes")
    assert done.returncode == 0, done.stderr
    assert (home / ".aws" / "credentials").read_text() == CREDENTIALS
    assert not (home / ".config" / "aws-sso-tray").exists()
    assert not (home / ".local" / "state" / "aws-sso-tray").exists()
    assert (home / ".aws" / "config").read_text() == CONFIG
    assert "nothing to remove" in cli("uninstall").stdout


def _fast_path_answers(args: list[str]) -> bool:
    """Whether the installed entry point answers `credential-process ARGS` without botocore."""
    code = (
        "import sys\nfrom aws_sso_tray.launch import main\nrc = main()\n"
        "print('BOTOCORE=' + str('botocore' in sys.modules), file=sys.stderr)\n"
        "raise SystemExit(rc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, "credential-process", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return "BOTOCORE=False" in result.stderr


def test_credential_process_honours_min_remaining_from_settings(
    logged_in: Emulator, cli: RunCli, home: Path
) -> None:
    # The emulator's role credentials live 10 minutes: less than the 15m default.
    logged_in.config.credential_ttl = 600
    settings_file = home / ".config" / "aws-sso-tray" / "settings.toml"
    settings_file.parent.mkdir(parents=True)
    settings_file.write_text('min_remaining = "2m"\n', encoding="utf-8")
    first = cli("credential-process", "--profile", "dev")
    assert first.returncode == 0, first.stderr
    fetched = logged_in.count("GetRoleCredentials")
    again = cli("credential-process", "--profile", "dev")
    assert again.stdout == first.stdout  # 10 minutes left is plenty with min_remaining = 2m
    assert _fast_path_answers(["--profile", "dev"])  # and the fast path knows it too
    assert logged_in.count("GetRoleCredentials") == fetched
    # --min-remaining still wins over the settings file
    assert cli("credential-process", "--profile", "dev", "--min-remaining", "15m").returncode == 0
    assert logged_in.count("GetRoleCredentials") == fetched + 1
    # sync and export honour it as well: the fresh entry has ~10 minutes, more than 2m
    assert cli("export", "--profile", "dev").returncode == 0
    assert cli("sync", "dev").returncode == 0
    assert logged_in.count("GetRoleCredentials") == fetched + 1


def test_fast_path_follows_edits_of_the_settings_file(
    logged_in: Emulator, cli: RunCli, home: Path
) -> None:
    from aws_sso_tray.aws import warmcache

    settings_file = home / ".config" / "aws-sso-tray" / "settings.toml"
    assert warmcache.settings_min_remaining() == warmcache.DEFAULT_MIN_REMAINING  # no file
    assert cli("credential-process", "--profile", "dev").returncode == 0
    assert _fast_path_answers(["--profile", "dev"])
    # an edit the full path has not read yet: the fast path does not guess
    settings_file.parent.mkdir(parents=True)
    settings_file.write_text('min_remaining = "2h"\n', encoding="utf-8")
    assert warmcache.settings_min_remaining() is None
    assert warmcache.answer(["--profile", "dev"]) is None
    fetched = logged_in.count("GetRoleCredentials")
    assert cli("credential-process", "--profile", "dev").returncode == 0  # reads it: 1h < 2h
    assert logged_in.count("GetRoleCredentials") == fetched + 1
    assert warmcache.settings_min_remaining() == timedelta(hours=2)
    assert warmcache.answer(["--profile", "dev"]) is None  # still 1h < 2h, now from the note
    # a rewrite through our own writer notes the new value at once
    assert cli("auto", "add", "dev").returncode == 0
    assert warmcache.settings_min_remaining() == timedelta(hours=2)
    settings_file.write_text('min_remaining = "5m"\n', encoding="utf-8")
    assert warmcache.settings_min_remaining() is None
    assert cli("credential-process", "--profile", "dev").returncode == 0
    assert warmcache.settings_min_remaining() == timedelta(minutes=5)
    assert _fast_path_answers(["--profile", "dev"])


def test_login_without_a_profile_is_a_usage_error(setup: Emulator, cli: RunCli) -> None:
    result = cli("login")
    assert result.returncode == 2, result.stderr  # README: 2 is for bad arguments
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "PROFILE" in lines[0], result.stderr


def test_export_typo_lists_the_known_profiles(setup: Emulator, cli: RunCli) -> None:
    result = cli("export", "--profile", "dve")
    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "'dve'" in lines[0]
    for known in ("default", "dev", "dev-admin", "prod", "static"):
        assert known in lines[0]


def test_list_without_profiles_suggests_our_configure(cli: RunCli, aws_config: WriteConfig) -> None:
    aws_config("[default]\nregion = eu-west-1\n")
    result = cli("list")
    assert result.returncode == 0, result.stderr
    assert "aws-sso-tray configure" in result.stdout
    assert "aws configure sso" not in result.stdout


def test_logout_with_nothing_to_log_out_says_so(cli: RunCli, aws_config: WriteConfig) -> None:
    aws_config("[default]\nregion = eu-west-1\n")
    result = cli("logout")
    assert result.returncode == 0, result.stderr
    assert "Nothing to log out" in result.stdout


def test_a_portal_expiration_out_of_range_is_a_one_line_service_error(
    logged_in: Emulator, cli: RunCli
) -> None:
    logged_in.config.credential_ttl = 1e17  # GetRoleCredentials says expiration 1e20 ms
    result = cli("export", "--profile", "dev")
    assert result.returncode == 12, result.stderr  # README: AWS service error
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "expiration" in lines[0] and "'dev'" in lines[0], lines[0]
    assert "unexpected" not in lines[0] and "ValueError" not in lines[0]
    assert result.stdout == ""


def test_list_uses_the_trays_words_for_a_session_without_a_token(
    logged_in: Emulator, cli: RunCli, home: Path
) -> None:
    from aws_sso_tray import clock
    from aws_sso_tray.aws.profiles import SsoSession
    from aws_sso_tray.aws.tokens import token_cache_file
    from aws_sso_tray.login import history

    def login_column() -> set[str]:
        result = cli("list")
        assert result.returncode == 0, result.stderr
        assert "logged out" not in result.stdout, result.stdout
        return {state for state in ("not signed in", "signed out") if state in result.stdout}

    session = SsoSession(
        "corp", "https://corp.awsapps.com/start", "us-east-1", ("sso:account:access",)
    )
    token_cache_file(session).unlink()  # never signed in here (the file of another tool, gone)
    assert login_column() == {"not signed in"}
    # Our sign-in, then `aws sso logout` deletes the token file: signed out.
    history.record_login(
        session.cache_key, history.SessionRecord(clock.now(), session.start_url, "pkce")
    )
    assert login_column() == {"signed out"}
    # `aws-sso-tray logout` records it itself.
    history.clear(session.cache_key)
    assert login_column() == {"not signed in"}
    assert cli("logout", "dev").returncode == 0
    assert login_column() == {"signed out"}
