"""`auto add|remove|list`: the profiles the tray or daemon keeps fresh in ~/.aws/credentials."""

from __future__ import annotations

import argparse

from aws_sso_tray import api
from aws_sso_tray.cli.common import PROG, Commands, err, out
from aws_sso_tray.errors import ExitCode


def cmd_auto_add(args: argparse.Namespace) -> int:
    for spec in args.targets:
        name, section = api.parse_target(spec)
        api.keep_fresh(name, section)
        out(f"{name} will be kept fresh in [{section}] of {api.credentials_file()}\n")
    out(
        "A running `aws-sso-tray tray` or `aws-sso-tray daemon` picks this up at once; "
        "`aws-sso-tray sync` writes it now.\n"
    )
    return 0


def cmd_auto_remove(args: argparse.Namespace) -> int:
    status = 0
    for name in args.profiles:
        if api.stop_keeping_fresh(name) is not None:
            out(f"{name} is no longer kept fresh (its credentials-file section stays)\n")
        else:
            err(f"{PROG}: {name} was not kept fresh")
            status = int(ExitCode.CONFIG)
    return status


def cmd_auto_list(args: argparse.Namespace) -> int:
    import json

    targets, warnings = api.keep_fresh_targets()
    for warning in warnings:
        err(f"{PROG}: warning: {warning}")
    if args.json:
        data = [{"profile": name, "section": section} for name, section in targets]
        out(json.dumps(data, indent=2) + "\n")
    elif not targets:
        out("No profile is kept fresh. Add one with `aws-sso-tray auto add PROFILE[:SECTION]`.\n")
    else:
        out("".join(f"{name} -> [{section}]\n" for name, section in targets))
    return 0


def add_commands(commands: Commands) -> None:
    auto = commands.sub.add_parser(
        "auto",
        help="choose the profiles kept fresh in ~/.aws/credentials",
        description="Choose the profiles whose credentials the tray or daemon keeps fresh.",
    )
    actions = auto.add_subparsers(dest="auto_command", metavar="ACTION", required=True)
    p = actions.add_parser("add", parents=[commands.common], help="keep PROFILE fresh in SECTION")
    p.add_argument(
        "targets",
        nargs="+",
        metavar="PROFILE[:SECTION]",
        help="section defaults to the profile name",
    )
    p.set_defaults(handler=cmd_auto_add)
    p = actions.add_parser("remove", parents=[commands.common], help="stop keeping PROFILE fresh")
    p.add_argument("profiles", nargs="+", metavar="PROFILE")
    p.set_defaults(handler=cmd_auto_remove)
    p = actions.add_parser("list", parents=[commands.common], help="the profiles kept fresh")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_auto_list)
