"""What every command module shares: the terminal, the flags' argument types, and `Commands`,
through which each module registers its subcommands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import datetime, timedelta

PROG = "aws-sso-tray"

Handler = Callable[[argparse.Namespace], int]


class Commands:
    """The subcommands being built: `add` makes one with the flags every command shares."""

    def __init__(self, parser: argparse.ArgumentParser) -> None:
        self.common = argparse.ArgumentParser(add_help=False)
        # SUPPRESS: a subcommand's unset --debug must not undo `aws-sso-tray --debug COMMAND`.
        self.common.add_argument(
            "--debug",
            action="store_true",
            default=argparse.SUPPRESS,
            help="log at DEBUG and show tracebacks",
        )
        self.sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(self, name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        p = self.sub.add_parser(name, parents=[self.common], help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        return p


def out(text: str) -> None:
    """Write `text` to stdout as is (commands end their own lines)."""
    sys.stdout.write(text)
    sys.stdout.flush()


def err(text: str) -> None:
    """Write one message to stderr, ending it with exactly one newline."""
    sys.stderr.write(text.rstrip("\n") + "\n")
    sys.stderr.flush()


def local_time(when: datetime | None) -> str:
    """A moment as the user's local HH:MM, or "unknown"."""
    return when.astimezone().strftime("%H:%M") if when else "unknown"


def duration(text: str) -> timedelta:
    """argparse type for 90s, 10m, 1h... (the one parser of durations on the command line)."""
    from aws_sso_tray import api

    try:
        return api.parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_min_remaining(parser: argparse.ArgumentParser) -> None:
    """The --min-remaining flag of the commands that hand out credentials."""
    parser.add_argument(
        "--min-remaining",
        type=duration,
        metavar="DURATION",
        help="reuse cached role credentials only with at least this much left "
        "(default: min_remaining in settings, 15m)",
    )
