"""The process entry point (`aws-sso-tray`, `python -m aws_sso_tray`).

`credential-process` is answered from the warm cache first (`aws/warmcache`, no botocore), before
the CLI package and its argparse, logging and typing imports load; on a cold cache a running tray
or daemon answers (`aws/enginecreds`, still no botocore); every other command, and every case
both decline, goes to `cli.main`. Without an engine, the fast path first waits for
the role's lock and asks the cache again (another caller may just have fetched); when it still
has no answer, this process keeps that lock while it fetches, so callers started at once wait
for this one fetch instead of each loading the full path. The fetch is `aws/coldfetch` (one
GetRoleCredentials without botocore, argparse or the CLI) in the plain case, else the CLI's.
"""

from __future__ import annotations

import sys


def main() -> int:
    args = sys.argv[1:]
    role_lock = None
    if args[:1] == ["credential-process"]:
        from aws_sso_tray.aws import warmcache

        output = warmcache.answer(args[1:])
        if output is None:  # a cold cache: the running engine answers without botocore here
            from aws_sso_tray.aws.enginecreds import answer as ask_engine

            output = ask_engine(args[1:])
        if output is None:  # no engine: wait for the role's lock, another caller may fetch
            output, role_lock = warmcache.answer_or_lock(args[1:])
        if output is None and role_lock is not None:  # fetch here, holding it, if it is plain
            from aws_sso_tray.aws import coldfetch

            output = coldfetch.answer(args[1:])
            if output is not None:
                warmcache.release(role_lock)
                role_lock = None
        if output is not None:
            try:
                sys.stdout.write(output)
                sys.stdout.flush()
            except BrokenPipeError:
                pass
            return 0
    from aws_sso_tray.cli.main import main as cli_main

    try:
        return cli_main(args)
    finally:
        if role_lock is not None:
            warmcache.release(role_lock)
