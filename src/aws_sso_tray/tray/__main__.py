"""`python -m aws_sso_tray.tray [ARGS]` is `aws-sso-tray tray [ARGS]` (the desktop tests run it)."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    from aws_sso_tray.cli.main import main as cli_main

    return cli_main(["tray", *argv])


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
