"""The headless face of the engine: `aws-sso-tray daemon` and `aws-sso-tray status`.

`run_daemon` runs the same `Engine` the tray runs, without a tray (servers, WSL, tiling window
managers): logs go to stderr and to a rotating file in the user log folder, notices to the
desktop when one exists (else to the log), one instance per user (a second raises
AlreadyRunningError), and SIGTERM / SIGINT end it within a second or two. The main thread only
waits for a signal; the engine works on its own thread.

`status` renders the running engine's published snapshot, or, with no engine running, a snapshot
built from the files alone (no network call).

Run without the CLI: `python -m aws_sso_tray.daemon [--refresh-before 10m] [--warn-before 15m]
[--debug]` (the tests do).
"""

from __future__ import annotations

import argparse
import json as jsonlib
import logging
import signal
import sys
import threading
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType

from aws_sso_tray import clock
from aws_sso_tray.errors import AppError
from aws_sso_tray.files import paths
from aws_sso_tray.snapshot import Snapshot

TYPE_CHECKING = False
if TYPE_CHECKING:
    from aws_sso_tray.desktop.notify import Notice

log = logging.getLogger(__name__)

SHUTDOWN_TIMEOUT = 1.5


def log_file() -> Path:
    return paths.log_file()


def run_daemon(
    refresh_before: timedelta | None = None,
    warn_before: timedelta | None = None,
    *,
    debug: bool = False,
    setup_logs: bool = True,
    notice: Notice | None = None,
) -> int:
    """Run the engine until SIGTERM / SIGINT; returns the exit code (0).

    Raises AlreadyRunningError when a tray or daemon already runs for this user.
    `setup_logs=False` leaves logging as the caller set it up (the CLI may do it itself).
    """
    from aws_sso_tray import logs
    from aws_sso_tray.desktop.notify import Notifier
    from aws_sso_tray.engine import lock as engine_lock
    from aws_sso_tray.engine import statusfile
    from aws_sso_tray.engine.options import EngineOptions
    from aws_sso_tray.engine.worker import Engine
    from aws_sso_tray.files.settings import load_settings

    if setup_logs:
        logs.setup_logging(debug=debug, log_file=log_file(), stderr_level=None if debug else 20)
    lock = engine_lock.InstanceLock("daemon")
    lock.acquire()  # AlreadyRunningError: the caller prints it and exits 13
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s: stopping", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    notifier: Notifier | None = None
    engine: Engine | None = None
    try:
        settings, _warnings = load_settings()
        notifier = Notifier(enabled=settings.notifications)
        notifier.start()
        if notice is not None:  # e.g. the tray saying why it runs without an icon
            notifier.send(notice)
        options = EngineOptions(refresh_before=refresh_before, warn_before=warn_before)
        engine = Engine(notifier=notifier, options=options)
        notifier.on_action = engine.handle_action
        engine.start()
        log.info(
            "daemon running (pid %d); logs in %s; notifications: %s",
            _pid(),
            log_file(),
            "desktop" if notifier.available else f"log only ({notifier.unavailable_reason})",
        )
        # Wake up now and then: on some platforms a signal is only handled between waits.
        while not stop.wait(1.0):
            pass
    finally:
        if engine is not None and not engine.stop(SHUTDOWN_TIMEOUT):
            log.warning("the engine did not stop in time (a request is still running)")
        if notifier is not None:
            notifier.stop()
        statusfile.clear_snapshot()
        lock.release()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        log.info("daemon stopped")
    return 0


def _pid() -> int:
    import os

    return os.getpid()


# --- status -----------------------------------------------------------------------------------


def current_snapshot() -> tuple[Snapshot, bool]:
    """The running engine's snapshot (True), or one built from the files alone (False)."""
    from aws_sso_tray.engine import lock, statusfile

    if lock.engine_running():
        published = statusfile.read_snapshot()
        if published is not None:
            return published, True
    return offline_snapshot(), False


def offline_snapshot() -> Snapshot:
    """What the files say, without an engine and without any network call."""
    from aws_sso_tray.engine.options import EngineOptions
    from aws_sso_tray.engine.worker import Engine

    engine = Engine(options=EngineOptions(publish_file=False, watch_interval=0))
    return engine.offline_snapshot()


def status(json: bool = False) -> str:
    """`aws-sso-tray status [--json]`: every profile's state, as text or JSON."""
    snapshot, running = current_snapshot()
    if json:
        data = {"engine_running": running, **snapshot.to_dict()}
        return jsonlib.dumps(data, indent=2) + "\n"
    return render(snapshot, running, clock.now())


def _when(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "-"
    local = moment.astimezone().strftime("%H:%M")
    left = clock.format_remaining(moment - now)
    return f"{local} ({left})" if left != "expired" else f"{local} (expired)"


def render(snapshot: Snapshot, running: bool, now: datetime) -> str:
    lines: list[str] = []
    if running:
        lines.append(f"engine: running (pid {snapshot.pid})")
    else:
        lines.append("engine: not running (start the tray or `aws-sso-tray daemon`)")
    if snapshot.config_error:
        lines.append(f"problem: {snapshot.config_error}")
    if snapshot.sessions:
        rows: list[tuple[str, ...]] = [
            ("SESSION", "STATUS", "TOKEN EXPIRES", "SESSION ENDS", "ERROR")
        ]
        for s in snapshot.sessions:
            rows.append(
                (
                    s.name,
                    s.status.value.replace("_", " "),
                    _when(s.token_expires_at, now),
                    _when(s.session_ends_at, now),
                    s.last_error or "",
                )
            )
        lines += ["", *_table(rows)]
        for s in snapshot.sessions:
            # A sign-in waiting in the browser: where, and why no browser showed it.
            if s.login_url and s.browser_error:
                lines.append(
                    f"sign in to {s.name}: no browser could show the page ({s.browser_error}); "
                    f"open {s.login_url}"
                )
            elif s.login_url:
                lines.append(f"sign in to {s.name}: waiting for the page {s.login_url}")
    if snapshot.profiles:
        profile_rows: list[tuple[str, ...]] = [
            ("PROFILE", "STATUS", "SECTION", "CREDENTIALS EXPIRE", "NEXT REFRESH", "ERROR")
        ]
        for p in snapshot.profiles:
            profile_rows.append(
                (
                    p.name,
                    p.status.value.replace("_", " "),
                    p.synced_section or "-",
                    _when(p.credentials_expire_at, now),
                    _when(p.next_refresh_at, now) if running else "-",
                    p.last_error or "",
                )
            )
        lines += ["", *_table(profile_rows)]
    else:
        lines += ["", "no SSO profiles in the AWS config"]
    return "\n".join(lines) + "\n"


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(widths[i]) for i, c in enumerate(row)).rstrip() for row in rows]


# --- python -m aws_sso_tray.daemon ------------------------------------------------------------


def _duration(text: str) -> timedelta:
    try:
        return clock.parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aws_sso_tray.daemon")
    parser.add_argument("--refresh-before", type=_duration, metavar="DURATION")
    parser.add_argument("--warn-before", type=_duration, metavar="DURATION")
    parser.add_argument("--debug", action="store_true")
    parser.add_argument("--status", action="store_true", help="print the status and exit")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    try:
        if args.status:
            sys.stdout.write(status(json=args.json))
            return 0
        return run_daemon(args.refresh_before, args.warn_before, debug=args.debug)
    except AppError as exc:
        sys.stderr.write(f"aws-sso-tray: error: {exc.message}\n")
        return int(exc.exit_code)


if __name__ == "__main__":
    sys.exit(main())
