"""The command line: the parser, `main`, and the one error boundary of every command.

A face only: each command module (`credentials`, `sessions`, `keepfresh`, `setup`, `run`, ...)
registers its subcommands and calls `aws_sso_tray.api`; every decision lives below it. The core
is imported inside the commands, so `credential-process`, which runs before every AWS command a
user types, loads neither boto3 nor botocore's session machinery when it can answer from the
cache.

`COMMANDS` names the module of each command: when the command line names one, only that module
is imported and registered (the tray, the daemon and every command load no other command's
code); `--help`, `--version`, no command or an unknown one build the whole parser, so help and
errors read as before. tests/test_cli_lazy.py checks the table against the modules.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from aws_sso_tray import __version__, api
from aws_sso_tray.cli.common import PROG, Commands, Handler
from aws_sso_tray.errors import report

# The command modules, in the order `--help` lists their commands.
GROUPS = ("sessions", "credentials", "exec", "console", "keepfresh", "setup", "run", "dashboard")
# command -> the module (in GROUPS) whose `add_commands` registers it
COMMANDS = {
    "list": "sessions",
    "login": "sessions",
    "logout": "sessions",
    "export": "credentials",
    "credential-process": "credentials",
    "sync": "credentials",
    "exec": "exec",
    "console": "console",
    "auto": "keepfresh",
    "configure": "setup",
    "uninstall": "setup",
    "status": "run",
    "tray": "run",
    "daemon": "run",
    "demo": "run",
    "dashboard": "dashboard",
}
_DEFAULT = "tray"  # no command: the tray, as a desktop user starting the app expects


def build_parser(groups: Sequence[str] = GROUPS) -> argparse.ArgumentParser:
    """The parser with the commands of `groups` (all of them unless told)."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Keep AWS IAM Identity Center (SSO) sessions and credentials fresh.",
        epilog="Exit codes and examples: see README.md. Run `aws-sso-tray COMMAND --help`.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("--debug", action="store_true", help="log at DEBUG and show tracebacks")
    commands = Commands(parser)
    for group in groups:
        importlib.import_module(f"aws_sso_tray.cli.{group}").add_commands(commands)
    return parser


def command_group(argv: Sequence[str]) -> str | None:
    """The module of the command `argv` names after top-level `--debug` flags (no command:
    the tray's); None when it names none we know, or asks for top-level help or the version."""
    for arg in argv:
        if arg != "--debug":
            return COMMANDS.get(arg)
    return COMMANDS[_DEFAULT]


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    group = command_group(argv)
    parser = build_parser(GROUPS if group is None else (group,))
    args = parser.parse_args(argv)
    debug_flag = bool(args.debug)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:  # no command: the tray, as a desktop user starting the app expects
        rest = [a for a in argv if a != "--debug"]
        args = parser.parse_args([_DEFAULT, *rest])
        args.debug = args.debug or debug_flag
        handler = args.handler
    debug = bool(getattr(args, "debug", False))
    api.start_logging(debug=debug)
    try:
        return handler(args)
    except (Exception, KeyboardInterrupt) as exc:  # the one error boundary of the CLI
        return report(exc, debug=debug)


def gui_main() -> int:
    """The windowless entry (Windows gui-scripts, bundles): the tray, with its flags."""
    return main(["tray", *sys.argv[1:]])
