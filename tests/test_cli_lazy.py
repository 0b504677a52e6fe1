"""The lazy command line: cli/main's command -> module table matches what the modules register,
and a command loads only its own module (the tray and the daemon carry no other command's code)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from aws_sso_tray.cli import main
from aws_sso_tray.cli.common import Commands


def registered(group: str) -> list[str]:
    module = __import__(f"aws_sso_tray.cli.{group}", fromlist=["add_commands"])
    commands = Commands(argparse.ArgumentParser())
    module.add_commands(commands)
    return list(commands.sub.choices)


def test_the_table_names_every_command_of_every_module_and_no_other() -> None:
    found = {name: group for group in main.GROUPS for name in registered(group)}
    assert found == main.COMMANDS


@pytest.mark.parametrize(
    ("argv", "group"),
    [
        ([], "run"),
        (["--debug"], "run"),
        (["tray", "--autostart"], "run"),
        (["--debug", "list", "--json"], "sessions"),
        (["credential-process", "--profile", "dev"], "credentials"),
        (["exec", "dev", "--", "list"], "exec"),
        (["--help"], None),
        (["-h"], None),
        (["--version"], None),
        (["--debug", "--help"], None),
        (["--deb", "list"], None),  # an abbreviated flag: the whole parser reads it as before
        (["lst"], None),  # unknown: the whole parser says which commands there are
    ],
)
def test_command_group(argv: list[str], group: str | None) -> None:
    assert main.command_group(argv) == group


def test_the_parser_of_one_module_reads_its_command_as_the_whole_one_does() -> None:
    argv = ["--debug", "login", "dev", "--no-browser", "--timeout", "90s"]
    whole = vars(main.build_parser().parse_args(argv))
    one = vars(main.build_parser(["sessions"]).parse_args(argv))
    assert whole == one


def loaded_cli_modules(argv: list[str]) -> list[str]:
    """The cli.* modules loaded when `main(argv)` has parsed and is about to run the command."""
    code = (
        "import json, sys\n"
        "from aws_sso_tray.cli import main\n"
        "parsed = main.build_parser(\n"
        "    main.GROUPS if (g := main.command_group(sys.argv[1:])) is None else (g,)\n"
        ").parse_args(sys.argv[1:])\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('aws_sso_tray.cli.'))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, text=True, check=True
    )
    return list(json.loads(done.stdout))


def test_a_command_loads_only_its_own_module() -> None:
    assert loaded_cli_modules(["tray"]) == [
        "aws_sso_tray.cli.common",
        "aws_sso_tray.cli.main",
        "aws_sso_tray.cli.run",
    ]
    assert "aws_sso_tray.cli.setup" not in loaded_cli_modules(["list"])


def test_help_still_lists_every_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "aws_sso_tray", "--help"], capture_output=True, text=True, check=True
    )
    for name in main.COMMANDS:
        assert name in done.stdout


def test_an_unknown_command_is_refused_with_the_list_of_commands() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "aws_sso_tray", "lst"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2
    assert "invalid choice: 'lst'" in done.stderr and "credential-process" in done.stderr
