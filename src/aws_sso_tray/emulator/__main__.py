"""`python -m aws_sso_tray.emulator`: run the emulator in the foreground until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from aws_sso_tray.emulator import Emulator, EmulatorConfig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m aws_sso_tray.emulator",
        description="A local IAM Identity Center (SSO OIDC + portal + login pages) on 127.0.0.1.",
    )
    parser.add_argument("--port", type=int, default=0, help="port to bind (default: any free one)")
    parser.add_argument(
        "--credential-ttl",
        type=float,
        default=3600,
        metavar="S",
        help="role credential lifetime in seconds (default 3600)",
    )
    parser.add_argument(
        "--access-token-ttl",
        type=float,
        default=3600,
        metavar="S",
        help="access token lifetime in seconds (default 3600)",
    )
    parser.add_argument(
        "--session-ttl",
        type=float,
        default=8 * 3600,
        metavar="S",
        help="SSO session lifetime in seconds (default 28800)",
    )
    parser.add_argument(
        "--latency",
        type=float,
        default=0.0,
        metavar="S",
        help="seconds added to every API call (default 0)",
    )
    args = parser.parse_args(argv)

    config = EmulatorConfig(
        credential_ttl=args.credential_ttl,
        access_token_ttl=args.access_token_ttl,
        session_ttl=args.session_ttl,
        latency=args.latency,
    )
    emulator = Emulator(config)
    try:
        url = emulator.start(args.port)
    except OSError as error:
        print(
            f"emulator: cannot listen on 127.0.0.1:{args.port}: {error.strerror}", file=sys.stderr
        )
        return 1
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    # Ctrl-C and SIGTERM only set the event: a KeyboardInterrupt could land anywhere, even
    # before the try block below, and kill the process with a traceback.
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    print(url)
    print(f"export AWS_ENDPOINT_URL_SSO={url}")
    print(f"export AWS_ENDPOINT_URL_SSO_OIDC={url}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
