"""Refresh timing: pure functions of absolute UTC times and `now`.

Everything the engine decides about time lives here, so that it can be tested without waiting:
when a profile's credentials are due for a refresh, how long to back off after a failure, how
long the worker may sleep, whether the wall clock jumped (suspend/resume, NTP or a user setting
the clock), when an SSO session's end deserves a warning, and whether the engine may open a
browser by itself. No function here reads a clock, a file or the environment unless it is handed
one explicitly.

Why absolute times: `schedule` and monotonic waits both lose track across a suspend (monotonic
clocks stop, naive wall-clock schedules run late or stall when the clock goes back). Comparing
absolute UTC expiries with `now` at every tick is always right, whatever happened in between.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta

MAX_WAIT = 60.0  # never sleep longer: a monotonic wait does not count time spent suspended
MIN_WAIT = 0.05
MIN_REFRESH_INTERVAL = timedelta(seconds=5)  # no busy loop, whatever the credentials say
JUMP_TOLERANCE = 5.0  # seconds of disagreement between wall and monotonic deltas
RESUME_GRACE = timedelta(minutes=1)  # after a resume, no browser before the user is back
BACKOFF_BASE = timedelta(seconds=15)  # botocore already retried each call 4 times
BACKOFF_CAP = timedelta(minutes=10)
REPORT_AFTER = 3  # consecutive failed refreshes before a profile shows as failing


def refresh_at(
    expires_at: datetime | None, lead: timedelta, fetched_at: datetime | None = None
) -> datetime | None:
    """When credentials expiring at `expires_at` should be refreshed; None: at once.

    Normally `expires_at - lead`, but never before `earliest_refetch` (see there).
    """
    floor = earliest_refetch(expires_at, fetched_at)
    if expires_at is None:
        return floor
    planned = expires_at - lead
    return planned if floor is None else max(planned, floor)


def earliest_refetch(expires_at: datetime | None, fetched_at: datetime | None) -> datetime | None:
    """The first moment credentials fetched at `fetched_at` may be fetched again; None: any.

    Credentials living shorter than the lead (or barely longer) would be refreshed again
    straight away, forever; so never before half their lifetime, and never sooner than
    MIN_REFRESH_INTERVAL after they were fetched. The lifetime is judged by our clock at fetch
    time (`expires_at - fetched_at`): a portal whose clock is behind ours hands out
    credentials that look expired on arrival, and they must not be fetched at every tick.
    """
    if fetched_at is None:
        return None
    if expires_at is None:
        return fetched_at + MIN_REFRESH_INTERVAL
    return fetched_at + max((expires_at - fetched_at) / 2, MIN_REFRESH_INTERVAL)


def batch_at(
    expires_at: datetime | None,
    lead: timedelta,
    fetched_at: datetime | None = None,
    slack: timedelta = timedelta(0),
) -> datetime | None:
    """The first moment a refresh may run, joining a batch up to `slack` early; None: at once.

    The slack moves only the lead-based plan, never the `earliest_refetch` floor: otherwise a
    60 s slack on 120 s credentials makes every tick a refresh.
    """
    floor = earliest_refetch(expires_at, fetched_at)
    if expires_at is None:
        return floor
    planned = expires_at - lead - slack
    return planned if floor is None else max(planned, floor)


def refresh_due(
    expires_at: datetime | None,
    now: datetime,
    lead: timedelta,
    *,
    fetched_at: datetime | None = None,
    slack: timedelta = timedelta(0),
) -> bool:
    """True when credentials expiring at `expires_at` need a refresh now.

    `slack` lets a refresh that would be due shortly join the current batch, so one
    credentials-file write covers them all (never sooner than `earliest_refetch`).
    """
    when = batch_at(expires_at, lead, fetched_at, slack)
    return when is None or now >= when


def group_slack(lead: timedelta) -> timedelta:
    """How early a refresh may run to share a batch: a little, never a large part of the lead."""
    return min(timedelta(seconds=60), lead / 4)


def backoff_delay(
    failures: int,
    *,
    base: timedelta = BACKOFF_BASE,
    cap: timedelta = BACKOFF_CAP,
    rng: Callable[[], float] = random.random,
) -> timedelta:
    """Exponential backoff with jitter after `failures` consecutive failures (>= 1).

    "Equal jitter": half the exponential step is fixed, the other half random, so retries of
    many profiles (or many users behind one proxy) spread out but never come back at once.
    """
    step = min(cap.total_seconds(), base.total_seconds() * 2 ** max(0, failures - 1))
    return timedelta(seconds=step / 2 + step / 2 * rng())


def next_wait(
    now: datetime,
    moments: Iterable[datetime | None],
    *,
    max_wait: float = MAX_WAIT,
) -> float:
    """Seconds to sleep until the earliest of `moments` (None entries ignored), capped."""
    wait = max_wait
    for moment in moments:
        if moment is not None:
            wait = min(wait, (moment - now).total_seconds())
    return max(MIN_WAIT, wait)


def clock_jump(previous_wall: float, previous_mono: float, wall: float, mono: float) -> float:
    """Seconds the wall clock moved beyond the monotonic clock between two ticks.

    Positive after a suspend (monotonic clocks stop while suspended) or a clock set forward;
    negative when the clock was set back. About zero normally.
    """
    return (wall - previous_wall) - (mono - previous_mono)


def jumped(jump: float, tolerance: float = JUMP_TOLERANCE) -> bool:
    return abs(jump) > tolerance


def session_warning_due(
    session_ends_at: datetime | None, now: datetime, warn_before: timedelta
) -> bool:
    """True when the SSO session ends within `warn_before` (and has not ended yet)."""
    if session_ends_at is None:
        return False
    return now < session_ends_at <= now + warn_before


def session_warning_at(session_ends_at: datetime | None, warn_before: timedelta) -> datetime | None:
    return None if session_ends_at is None else session_ends_at - warn_before


def graphical_session(env: Mapping[str, str], platform: str | None = None) -> bool:
    """True where a browser opened by a background process reaches a person's screen.

    On Linux and the BSDs that needs DISPLAY or WAYLAND_DISPLAY; without one, `webbrowser`
    would start a text browser in the daemon's terminal. macOS and Windows always have one.
    """
    platform = sys.platform if platform is None else platform
    if platform in ("darwin", "win32", "cygwin"):
        return True
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


def auto_login_allowed(
    *,
    enabled: bool,
    graphical: bool,
    already_tried: bool,
    login_waiting: bool,
    now: datetime,
    resumed_at: datetime | None,
    grace: timedelta = RESUME_GRACE,
) -> tuple[bool, str]:
    """Whether the engine may open a browser login by itself now, and why not (one line)."""
    if not enabled:
        return False, "automatic login is turned off (auto_login = false)"
    if not graphical:
        return False, "no graphical session to open a browser in"
    if already_tried:
        return False, "a login was already opened for this expiry"
    if login_waiting:
        return False, "a login for this session is already waiting"
    if resumed_at is not None and now < resumed_at + grace:
        return False, "the computer has just resumed"
    return True, ""


__all__ = [
    "BACKOFF_BASE",
    "BACKOFF_CAP",
    "JUMP_TOLERANCE",
    "MAX_WAIT",
    "REPORT_AFTER",
    "RESUME_GRACE",
    "auto_login_allowed",
    "backoff_delay",
    "batch_at",
    "clock_jump",
    "earliest_refetch",
    "graphical_session",
    "group_slack",
    "jumped",
    "next_wait",
    "refresh_at",
    "refresh_due",
    "session_warning_at",
    "session_warning_due",
]
