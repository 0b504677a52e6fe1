"""The tray menu for hundreds of profiles: how long `tray.menu.build_menu` takes.

    python benchmarks/menu.py [--runs 200] [--quick]

Builds one snapshot of 500 profiles (100 accounts x 5 roles, over 3 SSO sessions, the accounts
named as the portal names them), with 5 favourites, 10 recent profiles, 20 kept fresh and 3
failing, and times `build_menu(snapshot, settings)` `--runs` times in this process (after 5
warm-up runs). Reported: the median and the 95th percentile, and how many entries the menu
holds. Target: the median under 50 ms. Not part of the tests.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone

from aws_sso_tray.files.settings import Settings, SyncTarget
from aws_sso_tray.snapshot import (
    ProfileState,
    ProfileStatus,
    SessionState,
    SessionStatus,
    Snapshot,
)
from aws_sso_tray.tray.menu import MenuEntry, build_menu

TARGET_MS = 50.0
ACCOUNTS, ROLES, SESSIONS = 100, 5, 3
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


def world() -> tuple[Snapshot, Settings]:
    sessions = tuple(
        SessionState(
            key=f"s{i}",
            name=f"org{i}",
            start_url=f"https://org{i}.awsapps.com/start",
            status=SessionStatus.LOGGED_IN,
            token_expires_at=NOW + timedelta(minutes=50),
            session_ends_at=NOW + timedelta(hours=7),
        )
        for i in range(SESSIONS)
    )
    profiles: list[ProfileState] = []
    kept: list[SyncTarget] = []
    for a in range(ACCOUNTS):
        for r in range(ROLES):
            name = f"team{a:03d}-role{r}"
            status, extra = ProfileStatus.IDLE, {}
            if len(kept) < 20 and r == 0 and a % 5 == 0:
                status = ProfileStatus.FRESH
                extra = {
                    "synced_section": name,
                    "credentials_expire_at": NOW + timedelta(minutes=40),
                    "next_refresh_at": NOW + timedelta(minutes=30),
                }
                kept.append(SyncTarget(name, name))
            elif r == 1 and a % 33 == 0:
                status, extra = ProfileStatus.ERROR, {"last_error": "AccessDenied: no role"}
            profiles.append(
                ProfileState(
                    name=name,
                    session_key=f"s{a % SESSIONS}",
                    account_id=f"{100000000000 + a}",
                    role_name=f"Role{r}",
                    status=status,
                    account_name=f"Team {a:03d}",
                    label="PROD" if a % 10 == 0 else None,
                    **extra,  # type: ignore[arg-type]
                )
            )
    settings = Settings(
        auto_sync=tuple(kept),
        favorites=tuple(profiles[i * 50].name for i in range(5)),
        recent=tuple(profiles[i * 37 + 3].name for i in range(10)),
    )
    return Snapshot(taken_at=NOW, sessions=sessions, profiles=tuple(profiles)), settings


def count(entries: tuple[MenuEntry, ...]) -> int:
    return sum(1 + count(e.children) for e in entries)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="timed builds (default 200)")
    parser.add_argument("--quick", action="store_true", help="20 runs")
    args = parser.parse_args(argv)
    runs = 20 if args.quick else args.runs
    snapshot, settings = world()
    for _ in range(5):
        entries = build_menu(snapshot, settings, tz=timezone.utc)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        build_menu(snapshot, settings, tz=timezone.utc)
        times.append((time.perf_counter() - start) * 1000)
    median = statistics.median(times)
    p95 = sorted(times)[max(0, round(len(times) * 0.95) - 1)]
    print(
        f"{len(snapshot.profiles)} profiles ({ACCOUNTS} accounts x {ROLES} roles, {SESSIONS} "
        f"sessions); {count(entries)} menu entries; {runs} builds in one process\n"
    )
    print("| | median | 95th percentile | target |")
    print("|---|---|---|---|")
    verdict = "met" if median < TARGET_MS else "NOT met"
    print(f"| `build_menu` | {median:.1f} ms | {p95:.1f} ms | < {TARGET_MS:.0f} ms: {verdict} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
