"""The headless face of the engine: `aws-sso-tray daemon` and `aws-sso-tray status`.

`run_daemon` runs the same engine the tray runs (`api.run_headless`), without a tray (servers,
WSL, tiling window managers): logs go to stderr and to a rotating file in the user log folder,
notices to the desktop when one exists (else to the log), one instance per user (a second
raises AlreadyRunningError), and SIGTERM / SIGINT end it within a second or two.

`status` renders the running engine's published snapshot, or, with no engine running, a snapshot
built from the files alone (no network call).

`python -m aws_sso_tray.daemon [ARGS]` is `aws-sso-tray daemon [ARGS]`.
"""

from __future__ import annotations

import json as jsonlib
import sys
from datetime import datetime, timedelta
from pathlib import Path

from aws_sso_tray import api
from aws_sso_tray.snapshot import Snapshot

TYPE_CHECKING = False
if TYPE_CHECKING:
    from aws_sso_tray.api import Notice


def log_file() -> Path:
    return api.log_file()


def run_daemon(
    refresh_before: timedelta | None = None,
    warn_before: timedelta | None = None,
    *,
    notice: Notice | None = None,
) -> int:
    """Run the engine until SIGTERM / SIGINT; returns the exit code (0).

    Raises AlreadyRunningError when a tray or daemon already runs for this user. Logging is the
    caller's (`aws-sso-tray daemon` logs to stderr and the log file).
    """
    return api.run_headless(refresh_before, warn_before, notice=notice)


# --- status -----------------------------------------------------------------------------------


def status(json: bool = False) -> str:
    """`aws-sso-tray status [--json]`: every profile's state, as text or JSON."""
    snapshot, running = api.running_snapshot()
    if json:
        data = {"engine_running": running, **snapshot.to_dict()}
        return jsonlib.dumps(data, indent=2) + "\n"
    return render(snapshot, running, api.now())


def _when(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "-"
    local = moment.astimezone().strftime("%H:%M")
    left = api.format_remaining(moment - now)
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
            ("PROFILE", "ROLE", "STATUS", "SECTION", "CREDENTIALS EXPIRE", "NEXT REFRESH", "ERROR")
        ]
        for p in snapshot.profiles:
            profile_rows.append(
                (
                    p.name,
                    # a role chained on SSO says what it is assumed with, as `list` does
                    f"{p.role_name} via {p.via}" if p.via else p.role_name,
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


def main(argv: list[str] | None = None) -> int:
    """`aws-sso-tray daemon ARGS`: the CLI's flags, logging and error boundary."""
    from aws_sso_tray.cli.main import main as cli_main

    return cli_main(["daemon", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
