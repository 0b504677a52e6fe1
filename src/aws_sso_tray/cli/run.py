"""`tray`, `daemon`, `demo` and `status`: start the long-running faces, or ask what they see.

The one module of the command line that imports other faces: it starts them (and asks the
daemon face to render the engine's status); tests/test_architecture.py allows exactly this.
"""

from __future__ import annotations

import argparse

from aws_sso_tray import api
from aws_sso_tray.cli.common import Commands, duration, out


def _log_to_file(args: argparse.Namespace) -> None:
    """The long-running faces also log to a rotating file in the platform's log folder."""
    api.start_logging(debug=bool(getattr(args, "debug", False)), to_file=True)


def cmd_tray(args: argparse.Namespace) -> int:
    from aws_sso_tray.tray import run_tray

    _log_to_file(args)
    return run_tray(autostart=bool(getattr(args, "autostart", False)))


def cmd_daemon(args: argparse.Namespace) -> int:
    from aws_sso_tray.daemon import run_daemon

    _log_to_file(args)
    return run_daemon(args.refresh_before, args.warn_before)


def cmd_status(args: argparse.Namespace) -> int:
    from aws_sso_tray.daemon import status

    out(status(json=args.json))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from aws_sso_tray import demo

    if args.env:
        out(demo.env_lines())
        return 0
    # The demo sets up its logging itself, once its world (and log folder) exists.
    from aws_sso_tray.tray import run_tray

    return demo.run_demo(
        run_tray=None if args.no_tray else run_tray,
        auto_approve=args.auto_approve,
        port=args.port,
        debug=bool(args.debug),
    )


def add_commands(commands: Commands) -> None:
    p = commands.add("status", cmd_status, "every profile's state, from the running tray or daemon")
    p.add_argument("--json", action="store_true")

    p = commands.add("tray", cmd_tray, "run the tray icon (the default when no command is given)")
    p.add_argument(
        "--autostart",
        action="store_true",
        help="started at login: wait for the panel, never prompt",
    )

    p = commands.add(
        "daemon", cmd_daemon, "keep credentials fresh without a tray (servers, WSL, tiling WMs)"
    )
    p.add_argument(
        "--refresh-before",
        type=duration,
        metavar="DURATION",
        help="refresh role credentials this long before they expire (default: "
        "settings, 10m); e.g. 90s, 10m, 1h",
    )
    p.add_argument(
        "--warn-before",
        type=duration,
        metavar="DURATION",
        help="warn this long before an SSO session ends (default: settings, 15m)",
    )

    p = commands.add(
        "demo",
        cmd_demo,
        "try everything against a local Identity Center emulator (no AWS account needed)",
    )
    p.add_argument(
        "--no-tray",
        action="store_true",
        help="run headless: sign in, then keep the demo profile fresh in the terminal",
    )
    p.add_argument(
        "--auto-approve",
        action="store_true",
        help="press Allow on the emulator's sign-in page for you (no browser needed)",
    )
    p.add_argument("--port", type=int, default=0, help="emulator port (default: any free one)")
    p.add_argument(
        "--env",
        action="store_true",
        help="print the shell lines that put another terminal into the running demo's world: "
        'eval "$(aws-sso-tray demo --env)"',
    )
