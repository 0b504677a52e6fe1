"""configure --non-interactive, name templates, --rescan and the per-session sign-in browser.

The real CLI in a subprocess against the emulator (many accounts; the browser stand-in presses
Allow), the portal changed at run time by replacing the emulator's accounts, and botocore reading
the config we wrote.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import botocore.session
import pytest

from aws_sso_tray.aws.portal import PortalRole
from aws_sso_tray.emulator import Account, EmulatorConfig
from aws_sso_tray.errors import ConfigError, ExitCode
from aws_sso_tray.files import configedit
from aws_sso_tray.setup import configure, profilenames
from sso_helpers import STANDIN_BROWSER

if TYPE_CHECKING:
    from aws_sso_tray.emulator import Emulator
    from fixture_types import RunCli

START_URL = "https://d-1234567890.awsapps.com/start"
TEMPLATE = "{account_name}-{role_name}"


def many_accounts(count: int = 20, *, grant: str | None = None, revoke: str | None = None) -> Any:
    """`count` accounts x 3 roles; `grant` adds a role to account 1, `revoke` drops one there."""
    found = []
    for i in range(1, count + 1):
        roles = ["ReadOnly", "Admin", "Deploy"]
        if i == 1:
            roles = [r for r in roles if r != revoke] + ([grant] if grant else [])
        found.append(Account(f"{i:012d}", f"Team {i}", f"t{i}@example.com", tuple(roles)))
    return tuple(found)


@pytest.fixture
def many(emulator: Emulator, home: Path, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    emulator.config = EmulatorConfig(accounts=many_accounts())
    monkeypatch.setenv("BROWSER", STANDIN_BROWSER)
    return emulator


def botocore_profiles(home: Path) -> dict[str, Any]:
    session = botocore.session.Session()
    session.set_config_variable("config_file", str(home / ".aws" / "config"))
    profiles: dict[str, Any] = session.full_config["profiles"]
    return profiles


def non_interactive(cli: RunCli, *extra: str, env: dict[str, str] | None = None) -> Any:
    return cli(
        "configure",
        "--non-interactive",
        "--start-url",
        START_URL,
        "--sso-region",
        "us-east-1",
        "--sso-session",
        "corp",
        *extra,
        env=env,
    )


# -- names -------------------------------------------------------------------------------------


def test_template_names_are_sanitised_and_unique() -> None:
    role = PortalRole("123456789012", "Büro (EU) ", "Power User")
    assert profilenames.render(TEMPLATE, role, "corp", "eu-west-1") == "Buro-EU-Power-User"
    assert (
        profilenames.render("{session}.{account_id}.{role_name}@{region}", role, "corp", "eu-1")
        == "corp.123456789012.Power-User@eu-1"
    )
    assert profilenames.render(profilenames.DEFAULT_TEMPLATE, role, "c", "r") == (
        "Power-User-123456789012"
    )
    # nothing usable left: the account id
    assert profilenames.render("{account_name}", PortalRole("1", "]]", "x"), "c", "r") == "1"
    twin = PortalRole("210987654321", "Büro (EU)", "Power User")
    names = profilenames.unique_names([role, twin], {"Buro-EU-Power-User"}, TEMPLATE, "c", "r")
    assert list(names.values()) == ["Buro-EU-Power-User-2", "Buro-EU-Power-User-3"]
    for name in names.values():
        assert configedit.check_name(name) == name
    assert profilenames.check_template(" {role_name} ") == "{role_name}"
    for bad in ("{acount}-{role_name}", "{role_name!r}", "{role_name:>9}", "fixed", "{"):
        with pytest.raises(ConfigError):
            profilenames.check_template(bad)


# -- configure --non-interactive and --rescan through the real CLI --------------------------------


def test_non_interactive_writes_every_role_with_the_template(
    many: Emulator, home: Path, cli: RunCli
) -> None:
    config = home / ".aws" / "config"
    config.write_text("# mine\n[profile hand]\nregion = eu-west-1\n")
    result = non_interactive(cli, "--name-template", TEMPLATE)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith("sso-session corp: 60 added (Team-1-Admin"), (
        result.stdout
    )
    assert len(result.stdout.strip().splitlines()) == 1
    assert "Open" in result.stderr or "sign" in result.stderr.lower()  # the sign-in was told
    profiles = botocore_profiles(home)
    assert len(profiles) == 61 and profiles["hand"] == {"region": "eu-west-1"}
    assert profiles["Team-7-Deploy"] == {
        "sso_session": "corp",
        "sso_account_id": "000000000007",
        "sso_role_name": "Deploy",
        "region": "us-east-1",
    }
    assert config.read_text().startswith("# mine\n[profile hand]\nregion = eu-west-1\n\n")
    # stock botocore gets credentials for a generated profile
    creds = botocore.session.Session(profile="Team-7-Deploy").get_credentials()
    assert creds is not None and creds.access_key.startswith("ASIA")
    # the template is remembered in our state, never in the AWS config
    assert "account_name" not in config.read_text()
    choices = configure.remembered("corp")
    assert choices is not None and choices.name_template == TEMPLATE
    # run again: nothing to add, the cached token is reused (no new sign-in)
    logins = many.count("CreateToken")
    again = non_interactive(cli)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "sso-session corp: no profile changed, 60 already in step"
    assert many.count("CreateToken") == logins


def test_rescan_adds_granted_prunes_revoked_and_keeps_hand_written(
    many: Emulator, home: Path, cli: RunCli
) -> None:
    assert non_interactive(cli, "--name-template", TEMPLATE).returncode == 0
    config = home / ".aws" / "config"
    # A hand-written profile for a role that will vanish, and a generated one edited by hand.
    section = (
        "[profile Team-10-ReadOnly]\nsso_session = corp\nsso_account_id = 000000000010\n"
        "sso_role_name = ReadOnly\nregion = us-east-1\n"
    )
    text = config.read_text()
    assert section in text
    text = text.replace(section, section + "output = json\n")
    text += (
        "\n[profile mine]\nsso_session = corp\nsso_account_id = 000000000001\n"
        "sso_role_name = Admin\n"
    )
    config.write_text(text)
    # The portal changes: account 1 gains Billing and loses Admin; account 10 loses ReadOnly.
    accounts = list(many_accounts(grant="Billing", revoke="Admin"))
    accounts[9] = Account(accounts[9].account_id, accounts[9].name, "", ("Admin", "Deploy"))
    accounts[4] = Account(accounts[4].account_id, accounts[4].name, "", ("Admin",))
    many.config = EmulatorConfig(accounts=tuple(accounts))

    result = cli("configure", "--rescan", "corp")
    assert result.returncode == 0, result.stderr
    line = result.stdout.strip()
    assert line == (
        "sso-session corp: 1 added (Team-1-Billing), "
        "3 removed (Team-1-Admin, Team-5-Deploy, Team-5-ReadOnly), 56 already in step"
    ), line
    profiles = botocore_profiles(home)
    assert "Team-1-Billing" in profiles and "Team-1-Admin" not in profiles
    assert profiles["mine"]["sso_role_name"] == "Admin"  # hand-written: never pruned
    assert profiles["Team-10-ReadOnly"]["output"] == "json"  # edited by hand: never pruned
    assert len(profiles) == 61 - 3 + 1
    # The new profile is named by the remembered template; a second rescan changes nothing.
    result = cli("configure", "--rescan", "corp")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "sso-session corp: no profile changed, 57 already in step"


def test_rescan_through_the_api_and_its_refusals(many: Emulator, home: Path, cli: RunCli) -> None:
    from aws_sso_tray import api

    assert non_interactive(cli).returncode == 0  # the default template: Role-account
    assert "ReadOnly-000000000003" in botocore_profiles(home)
    many.config = EmulatorConfig(accounts=many_accounts(grant="Billing"))
    outcome = api.rescan_session("corp")
    assert outcome.added == ("Billing-000000000001",) and outcome.removed == ()
    assert "1 added (Billing-000000000001)" in outcome.summary()

    missing = cli("configure", "--rescan", "nope")
    assert missing.returncode == ExitCode.CONFIG, missing.stderr
    assert "no [sso-session nope]" in missing.stderr and "corp" in missing.stderr
    typo = non_interactive(cli, "--name-template", "{acount_name}")
    assert typo.returncode == ExitCode.CONFIG and "{acount_name}" in typo.stderr
    usage = cli("configure", "--non-interactive", "--start-url", START_URL)
    assert usage.returncode != 0 and "--sso-region" in usage.stderr


# -- the per-session sign-in browser -------------------------------------------------------------


def test_sessions_own_browser_opens_its_sign_in(
    many: Emulator, home: Path, cli: RunCli, tmp_path: Path
) -> None:
    from aws_sso_tray.files.settings import settings_file

    log = tmp_path / "standin.jsonl"
    settings = settings_file()
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.parent.chmod(0o700)
    settings.write_text(f"[sessions.corp]\nbrowser = {json.dumps(STANDIN_BROWSER)}\n")
    # $BROWSER fails: only the session's own browser can sign this in
    result = non_interactive(cli, env={"BROWSER": "false", "STANDIN_LOG": str(log)})
    assert result.returncode == 0, result.stderr
    opened = [json.loads(line) for line in log.read_text().splitlines()]
    assert opened[0]["step"] == "launch", opened
    assert opened[0]["url"].startswith(many.url) and "/authorize?" in opened[0]["url"], opened
    assert "60 added" in result.stdout


def test_sign_in_browser_setting_is_validated(home: Path) -> None:
    from aws_sso_tray.files import settings as st

    path = home / "settings.toml"
    path.write_text('[sessions.corp]\nbrowser = "firefox -P work %s"\n[sessions.x]\nbrowser = 3\n')
    loaded, warnings = st.load_settings(path)
    assert loaded.sign_in_browser_for("corp") == "firefox -P work %s"
    assert loaded.sign_in_browser_for("x") is None and loaded.sign_in_browser_for(None) is None
    assert any("sessions.x.browser" in w for w in warnings), warnings
    st.save_settings(loaded.replace(favorites=("dev",)), path)
    again, _ = st.load_settings(path)
    assert again.sign_in_browser_for("corp") == "firefox -P work %s"
