"""The process entry point (`aws-sso-tray`, `python -m aws_sso_tray`).

`credential-process` is answered from the warm cache first (`aws/warmcache`, no botocore), before
the CLI package and its argparse, logging and typing imports load; every other command, and every
case the warm cache declines, goes to `cli.main`.
"""

from __future__ import annotations

import sys


def main() -> int:
    args = sys.argv[1:]
    if args[:1] == ["credential-process"]:
        from aws_sso_tray.aws.warmcache import answer

        output = answer(args[1:])
        if output is None:  # a cold cache: the running engine answers without botocore here
            from aws_sso_tray.aws.enginecreds import answer as ask_engine

            output = ask_engine(args[1:])
        if output is not None:
            try:
                sys.stdout.write(output)
                sys.stdout.flush()
            except BrokenPipeError:
                pass
            return 0
    from aws_sso_tray.cli.main import main as cli_main

    return cli_main(args)
