"""`dashboard`: the running tray's or daemon's page of every session and profile."""

from __future__ import annotations

import argparse

from aws_sso_tray import api
from aws_sso_tray.cli.common import Commands, out


def cmd_dashboard(args: argparse.Namespace) -> int:
    if args.print:
        out(api.dashboard_link() + "\n")
        return 0
    api.open_dashboard()
    return 0


def add_commands(commands: Commands) -> None:
    p = commands.add(
        "dashboard",
        cmd_dashboard,
        "open the dashboard of the running tray or daemon: search every profile, act on it",
    )
    p.add_argument(
        "--print",
        action="store_true",
        help="print a single-use link (it works once, for 2 minutes) instead of opening it",
    )
