"""`console`: the AWS console of a profile's account and role, in the browser or printed."""

from __future__ import annotations

import argparse

from aws_sso_tray import api
from aws_sso_tray.cli.common import Commands, out


def cmd_console(args: argparse.Namespace) -> int:
    where = {"destination": args.destination, "region": args.region, "federated": args.federated}
    if args.print:
        out(api.console_url(args.profile, **where) + "\n")
        return 0
    api.open_console(args.profile, **where)
    return 0


def add_commands(commands: Commands) -> None:
    p = commands.add(
        "console",
        cmd_console,
        "open the AWS console of a profile's account and role (the access portal's link)",
    )
    p.add_argument("profile", metavar="PROFILE", help="the profile whose console to open")
    p.add_argument("--print", action="store_true", help="print the URL instead of opening it")
    p.add_argument(
        "--destination",
        metavar="URL",
        help="the console page to land on, e.g. https://console.aws.amazon.com/s3/home",
    )
    p.add_argument("--region", metavar="R", help="land on the console home of region R")
    p.add_argument(
        "--federated",
        action="store_true",
        help="sign in with the profile's credentials (GetSigninToken) instead of the portal: "
        "for a browser that is not signed in to the access portal",
    )
