"""The command line: parses flags, calls the core, prints results and one-line errors."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from aws_sso_tray import __version__

    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--version"]:
        print(f"aws-sso-tray {__version__}")
        return 0
    print("aws-sso-tray: not implemented yet", file=sys.stderr)
    return 1


def gui_main() -> int:
    return main(["tray"])
