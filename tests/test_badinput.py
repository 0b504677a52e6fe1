"""Hostile machines and bad input: files botocore cannot parse, values out of range, odd names.

The real CLI in a subprocess against the emulator, with real files in a temporary HOME.
"""

from __future__ import annotations

import configparser
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest

CONFIG = """\
[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = us-east-1
sso_registration_scopes = sso:account:access

[profile dev]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = ReadOnly
"""

# Files botocore refuses (ConfigParseError), and what `sync dev:dev` does with each: the exit
# code, and for 3 the line the one-line error names.
BROKEN_CREDENTIALS = {
    # a duplicated section of the user's: left as it is (credfile), our section is written
    "duplicate-other": ("[other]\naws_access_key_id = AKIAOTHER\n[other]\nregion = x\n", 0),
    # the documented repair: an empty earlier copy of the target section is dropped
    "duplicate-target": ("[dev]\n\n[static]\nregion = x\n[dev]\nregion = y\n", 0),
    # a BOM is set aside and written back by our editor
    "bom": ("\ufeff[static]\naws_access_key_id = AKIASTATIC\naws_secret_access_key = s\n", 0),
    # a line that is no option: we cannot tell whose it is, so we refuse, naming it
    "stray": ("[static]\naws_access_key_id = AKIASTATIC\nthis is a stray line\n", 3),
}


@pytest.fixture
def standin_env() -> dict[str, str]:
    return {"BROWSER": f"{shlex.quote(sys.executable)} -m aws_sso_tray.emulator.browser %s"}


@pytest.fixture
def setup(home: Path, aws_config: Any, emulator: Any) -> Any:
    aws_config(CONFIG)
    return emulator


def _one_line(result: Any) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return str(lines[0])


# -- 4. our unsigned clients do not depend on the credentials file -------------------------------


@pytest.mark.parametrize("kind", sorted(BROKEN_CREDENTIALS))
def test_broken_credentials_file_does_not_break_login_sync_logout(
    setup: Any, cli: Any, home: Path, standin_env: dict[str, str], kind: str
) -> None:
    creds = home / ".aws" / "credentials"
    text, expected = BROKEN_CREDENTIALS[kind]
    creds.write_text(text, encoding="utf-8")
    before = creds.read_bytes()

    login = cli("login", "dev", "--use-device-code", env=standin_env, timeout=60)
    assert login.returncode == 0, login.stderr

    sync = cli("sync", "dev:dev")  # the role cache is cold: GetRoleCredentials is needed
    assert sync.returncode == expected, sync.stderr
    if expected == 3:
        line = _one_line(sync)
        assert f"{creds} line 3:" in line, line
        assert creds.read_bytes() == before
    else:
        assert setup.count("GetRoleCredentials") == 1
        written = configparser.RawConfigParser(strict=False)
        written.read_string(creds.read_text(encoding="utf-8-sig"))
        assert written.get("dev", "aws_access_key_id").startswith("ASIA")
    if kind == "duplicate-target":
        # the repair made the file readable for botocore again
        import botocore.configloader

        parsed = botocore.configloader.raw_config_parse(str(creds))
        assert parsed["dev"]["region"] == "y"

    logout = cli("logout", "dev")
    assert logout.returncode == 0, logout.stderr
    assert setup.count("Logout") == 1


@pytest.mark.parametrize("legacy", [False, True], ids=["sso-session", "legacy"])
@pytest.mark.parametrize("command", [("login", "dev", "--use-device-code"), ("sync", "dev")])
def test_sso_region_with_spaces_is_a_config_error(
    home: Path, aws_config: Any, emulator: Any, cli: Any, legacy: bool, command: tuple[str, ...]
) -> None:
    if legacy:
        config = (
            "[profile dev]\nsso_start_url = https://corp.awsapps.com/start\n"
            "sso_region = us east 1\nsso_account_id = 111111111111\nsso_role_name = ReadOnly\n"
        )
    else:
        config = CONFIG.replace("sso_region = us-east-1", "sso_region = us east 1")
    aws_config(config)
    result = cli(*command, timeout=60)
    assert result.returncode == 3, result.stderr
    line = _one_line(result)
    assert "config line 1:" in line and "'us east 1', which is not an AWS region" in line
    assert emulator.requests == []


def test_aws_profile_of_the_credentials_file_only_still_logs_in(
    setup: Any, cli: Any, home: Path, standin_env: dict[str, str]
) -> None:
    # Our clients no longer see the credentials file, so AWS_PROFILE naming one of its
    # sections must not turn into botocore's ProfileNotFound.
    creds = home / ".aws" / "credentials"
    creds.write_text("[static]\naws_access_key_id = AKIASTATIC\naws_secret_access_key = s\n")
    env = {**standin_env, "AWS_PROFILE": "static"}
    login = cli("login", "dev", "--use-device-code", env=env, timeout=60)
    assert login.returncode == 0, login.stderr
