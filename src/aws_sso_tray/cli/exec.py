"""`exec`: run a command with one profile's credentials in its environment."""

from __future__ import annotations

import argparse

from aws_sso_tray import api
from aws_sso_tray.cli.common import PROG, Commands, add_min_remaining, err
from aws_sso_tray.errors import AppError, UsageError


def _split_command(args: argparse.Namespace) -> list[str]:
    """The command after PROFILE. argparse hands over all that follows PROFILE; flags may still
    stand between PROFILE and `--` (`exec dev --no-endpoint -- aws s3 ls`): parse them into
    `args`. argparse drops a `--` right after PROFILE; without flags there, the command starts
    right after PROFILE, any `--` of its own included."""
    rest = list(args.command)
    if not rest[:1] or not rest[0].startswith("-") or "--" not in rest:
        return rest
    cut = rest.index("--")
    flags, command = rest[:cut], rest[cut + 1 :]
    if flags:
        parser: argparse.ArgumentParser = args.exec_parser
        parser.parse_args([*flags, args.profile], namespace=args)
    return command


def cmd_exec(args: argparse.Namespace) -> int:
    command = _split_command(args)
    if not command:
        raise UsageError(f"exec: name a command: {PROG} exec {args.profile} -- COMMAND [ARGS]")
    prepared = api.exec_environment(
        args.profile, endpoint=args.endpoint, force=args.force, remaining=args.min_remaining
    )
    for note in prepared.notes:
        err(f"{PROG}: exec: {note}")
    try:
        return api.run_command(command, prepared.env)
    except AppError as exc:
        status = api.command_not_run_status(exc)
        if status is None:
            raise
        err(f"{PROG}: {exc.message}")
        return status


def add_commands(commands: Commands) -> None:
    p = commands.add(
        "exec",
        cmd_exec,
        "run a command with a profile's credentials (and no other source) in its environment",
    )
    p.add_argument("profile", metavar="PROFILE", help="the profile whose credentials it gets")
    p.add_argument(
        "command",
        nargs=argparse.REMAINDER,
        metavar="-- COMMAND [ARGS...]",
        help="the command and its arguments, after --",
    )
    p.set_defaults(exec_parser=p)
    source = p.add_mutually_exclusive_group()
    source.add_argument(
        "--endpoint",
        dest="endpoint",
        action="store_const",
        const=True,
        default=None,
        help="point it at the running tray's or daemon's credentials endpoint, so it never "
        "holds expired keys (the default when one runs)",
    )
    source.add_argument(
        "--no-endpoint",
        dest="endpoint",
        action="store_const",
        const=False,
        help="give it static keys (AWS_ACCESS_KEY_ID, ...), valid until they expire",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="run inside an `exec` for another profile all the same",
    )
    add_min_remaining(p)
