"""The command line: the parser, `main`, and the one error boundary of every command.

A face only: each command module (`credentials`, `sessions`, `keepfresh`, `setup`, `run`)
registers its subcommands and calls `aws_sso_tray.api`; every decision lives below it. The core
is imported inside the commands, so `credential-process`, which runs before every AWS command a
user types, loads neither boto3 nor botocore's session machinery when it can answer from the
cache.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from aws_sso_tray import __version__, api
from aws_sso_tray.cli import console, credentials, dashboard, keepfresh, run, sessions, setup
from aws_sso_tray.cli import exec as exec_command
from aws_sso_tray.cli.common import PROG, Commands, Handler
from aws_sso_tray.errors import report


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Keep AWS IAM Identity Center (SSO) sessions and credentials fresh.",
        epilog="Exit codes and examples: see README.md. Run `aws-sso-tray COMMAND --help`.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("--debug", action="store_true", help="log at DEBUG and show tracebacks")
    commands = Commands(parser)
    for group in (sessions, credentials, exec_command, console, keepfresh, setup, run, dashboard):
        group.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    debug_flag = bool(args.debug)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:  # no command: the tray, as a desktop user starting the app expects
        rest = [a for a in (argv if argv is not None else sys.argv[1:]) if a != "--debug"]
        args = parser.parse_args(["tray", *rest])
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
