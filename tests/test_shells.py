"""Every shell's export lines (aws/shells.py, `export --format`): the AWS CLI's output for role
credentials, and values that shells would expand or run read back exactly, by the real bash,
sh and fish where they are installed, and against exact strings for PowerShell and cmd."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from aws_sso_tray.aws import shells

if TYPE_CHECKING:
    from aws_sso_tray.emulator import Emulator
    from fixture_types import RunCli, WriteConfig

KEY = "ASIAEXAMPLEKEY000001"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLE+KEY="
EXPIRES = "2026-11-25T23:42:31Z"
ROLE = {
    "AWS_ACCESS_KEY_ID": KEY,
    "AWS_SECRET_ACCESS_KEY": SECRET,
    "AWS_CREDENTIAL_EXPIRATION": EXPIRES,
}

# Values no role credential holds, that a careless format would let the shell expand or run.
NASTY = [
    "it's",
    'say "hi"',
    "$HOME and ${HOME}",
    "`touch pwned`",
    "$(touch pwned)",
    "100% %PATH% %%",
    "two  spaces ",
    "back\\slash\\",
    "a;b|c&d>e<f",
    "line\nbreak",
    "fish (touch pwned) {a,b} * ~",
    "\u2018curly\u2019 \u201cquotes\u201d",
    "",
]


def test_role_credentials_read_as_the_aws_cli_writes_them() -> None:
    # The AWS CLI's export-credentials lines, character for character (its formatters).
    assert shells.variable_lines(ROLE, "env") == (
        f"export AWS_ACCESS_KEY_ID={KEY}\nexport AWS_SECRET_ACCESS_KEY={SECRET}\n"
        f"export AWS_CREDENTIAL_EXPIRATION={EXPIRES}\n"
    )
    assert shells.variable_lines(ROLE, "env-no-export") == (
        f"AWS_ACCESS_KEY_ID={KEY}\nAWS_SECRET_ACCESS_KEY={SECRET}\n"
        f"AWS_CREDENTIAL_EXPIRATION={EXPIRES}\n"
    )
    assert shells.variable_lines(ROLE, "powershell") == (
        f'$Env:AWS_ACCESS_KEY_ID="{KEY}"\n$Env:AWS_SECRET_ACCESS_KEY="{SECRET}"\n'
        f'$Env:AWS_CREDENTIAL_EXPIRATION="{EXPIRES}"\n'
    )
    assert shells.variable_lines(ROLE, "windows-cmd") == (
        f"set AWS_ACCESS_KEY_ID={KEY}\nset AWS_SECRET_ACCESS_KEY={SECRET}\n"
        f"set AWS_CREDENTIAL_EXPIRATION={EXPIRES}\n"
    )
    assert shells.variable_lines(ROLE, "fish") == (
        f'set -gx AWS_ACCESS_KEY_ID "{KEY}"\nset -gx AWS_SECRET_ACCESS_KEY "{SECRET}"\n'
        f'set -gx AWS_CREDENTIAL_EXPIRATION "{EXPIRES}"\n'
    )


def _read_back(argv: list[str], cwd: str) -> list[str]:
    done = subprocess.run(argv, capture_output=True, timeout=60, check=False, cwd=cwd)
    assert done.returncode == 0, done.stderr
    return done.stdout.decode().split("\0")[:-1]


def _variables() -> dict[str, str]:
    return {f"V{i}": value for i, value in enumerate(NASTY)}


@pytest.mark.parametrize(
    ("shell", "fmt"), [("bash", "env"), ("bash", "env-no-export"), ("sh", "env")]
)
def test_posix_shells_read_back_every_value(shell: str, fmt: str, tmp_path: Path) -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    variables = _variables()
    script = shells.variable_lines(variables, fmt)
    script += "".join(f"printf '%s\\0' \"${name}\"\n" for name in variables)
    assert _read_back([shell, "-c", script], str(tmp_path)) == NASTY
    assert not (tmp_path / "pwned").exists()


def test_fish_reads_back_every_value(tmp_path: Path) -> None:
    if shutil.which("fish") is None:
        pytest.skip("fish is not installed (Debian: apt-get install fish)")
    variables = _variables()
    script = shells.variable_lines(variables, "fish")
    script += "".join(f"printf '%s\\0' \"${name}\"\n" for name in variables)
    assert _read_back(["fish", "--no-config", "-c", script], str(tmp_path)) == NASTY
    assert not (tmp_path / "pwned").exists()
    # Exported (-gx): a child of fish sees them.
    env_script = shells.variable_lines({"V": "x'y"}, "fish") + "env | grep '^V='"
    done = subprocess.run(
        ["fish", "--no-config", "-c", env_script], capture_output=True, text=True, check=False
    )
    assert done.stdout == "V=x'y\n"


def test_powershell_quotes_verbatim_what_it_would_expand() -> None:
    # Not in Debian: the exact strings, by PowerShell's quoting rules (a single-quoted string
    # is verbatim; its quote, typographic ones too, is escaped by doubling it).
    assert shells.powershell_quote("plain+/=") == '"plain+/="'
    assert shells.powershell_quote("it's") == "'it''s'"
    assert shells.powershell_quote('$HOME `n "x"') == "'$HOME `n \"x\"'"
    assert shells.powershell_quote("\u2018a\u2019") == "'\u2018\u2018a\u2019\u2019'"
    assert shells.powershell_quote("100% %PATH%") == "'100% %PATH%'"
    assert shells.variable_lines({"V": "$(rm x)"}, "powershell") == "$Env:V='$(rm x)'\n"


def test_cmd_escapes_operators_and_percent() -> None:
    # Not on Linux: the exact strings, by cmd's rules at the prompt (carets escape operators;
    # `%^NAME%` names no variable, so it is left, and the caret goes).
    assert shells.cmd_value("plain+/=") == "plain+/="
    assert shells.cmd_value("a&b|c<d>e(f)^g") == "a^&b^|c^<d^>e^(f^)^^g"
    assert shells.cmd_value('say "hi"') == 'say ^"hi^"'
    assert shells.cmd_value("%PATH%") == "%^PATH%"
    assert shells.cmd_value("100%") == "100%"
    assert shells.cmd_value("%%") == "%^%"
    assert shells.cmd_value("%&") == "%^&"  # the caret after % escapes the operator
    assert shells.cmd_value("!x!") == "^!x^!"
    with pytest.raises(ValueError, match="line break"):
        shells.cmd_value("a\nb")


def test_a_value_no_shell_can_hold_is_refused_not_mangled() -> None:
    for fmt in shells.SHELL_FORMATS:
        with pytest.raises(ValueError, match="NUL"):
            shells.variable_lines({"V": "a\0b"}, fmt)
    with pytest.raises(ValueError, match="variable name"):
        shells.variable_lines({"A; rm -rf /": "x"}, "env")


# --- `export --format` through the real CLI against the emulator -----------------------------


@pytest.fixture
def logged_in(emulator: Emulator, aws_config: WriteConfig) -> Emulator:
    from aws_sso_tray.aws.profiles import SsoSession
    from sso_helpers import device_login, session_config

    session = SsoSession(
        "corp", "https://corp.awsapps.com/start", "us-east-1", ("sso:account:access",)
    )
    aws_config(session_config(session, "dev", "111111111111", "ReadOnly"))
    device_login(emulator, session)
    return emulator


def test_export_formats_through_the_cli(logged_in: Emulator, cli: RunCli, tmp_path: Path) -> None:
    process = cli("export", "--profile", "dev", "--format", "process")
    assert process.returncode == 0, process.stderr
    data = json.loads(process.stdout)
    assert cli("export", "--profile", "dev").stdout == process.stdout  # the default
    assert cli("export", "--profile", "dev", "--json").stdout == process.stdout
    assert cli("export", "--profile", "dev", "--format", "json").stdout == process.stdout
    # The old flags are aliases, with the same output.
    assert (
        cli("export", "--profile", "dev", "--env").stdout
        == cli("export", "--profile", "dev", "--format", "env-no-export").stdout
    )
    env = cli("export", "--profile", "dev", "--env-export").stdout
    assert env == cli("export", "--profile", "dev", "--format", "env").stdout
    wanted = [
        data["AccessKeyId"],
        data["SecretAccessKey"],
        data["SessionToken"],
        data["Expiration"],
    ]
    names = [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_CREDENTIAL_EXPIRATION",
    ]
    show = "".join(f"printf '%s\\0' \"${n}\"\n" for n in names)
    assert _read_back(["bash", "-c", env + show], str(tmp_path)) == wanted
    if shutil.which("fish"):
        fish = cli("export", "--profile", "dev", "--format", "fish").stdout
        assert _read_back(["fish", "--no-config", "-c", fish + show], str(tmp_path)) == wanted
    powershell = cli("export", "--profile", "dev", "--format", "powershell").stdout
    assert powershell.splitlines()[0] == f'$Env:AWS_ACCESS_KEY_ID="{data["AccessKeyId"]}"'
    cmd = cli("export", "--profile", "dev", "--format", "windows-cmd").stdout
    assert cmd.splitlines()[-1] == f"set AWS_CREDENTIAL_EXPIRATION={data['Expiration']}"
    both = cli("export", "--profile", "dev", "--env", "--format", "fish")
    assert both.returncode == 2 and "not allowed with" in both.stderr
