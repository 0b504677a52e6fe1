"""`python -m aws_sso_tray.tray [--autostart] [--debug]`: the tray without the CLI around it."""

from __future__ import annotations

import sys

from aws_sso_tray.errors import AppError


def main(argv: list[str]) -> int:
    from aws_sso_tray.files import paths
    from aws_sso_tray.logs import setup_logging
    from aws_sso_tray.tray import run_tray

    setup_logging(debug="--debug" in argv, log_file=paths.log_file())
    try:
        return run_tray(autostart="--autostart" in argv)
    except AppError as exc:
        print(f"aws-sso-tray: {exc.message}", file=sys.stderr)
        return int(exc.exit_code)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
