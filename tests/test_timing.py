"""Refresh timing: pure decisions about time, tested with explicit `now` values."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from aws_sso_tray.engine import timing

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
LEAD = timedelta(minutes=10)


def test_refresh_due_only_inside_the_lead_time() -> None:
    expires = T0 + timedelta(hours=1)
    assert not timing.refresh_due(expires, T0, LEAD)
    assert not timing.refresh_due(expires, expires - LEAD - timedelta(seconds=1), LEAD)
    assert timing.refresh_due(expires, expires - LEAD, LEAD)
    assert timing.refresh_due(expires, expires + timedelta(hours=8), LEAD)


def test_never_synced_is_due_at_once() -> None:
    assert timing.refresh_due(None, T0, LEAD)
    assert timing.refresh_at(None, LEAD) is None


def test_slack_lets_a_nearly_due_refresh_join_the_batch() -> None:
    expires = T0 + LEAD + timedelta(seconds=30)
    assert not timing.refresh_due(expires, T0, LEAD)
    assert timing.refresh_due(expires, T0, LEAD, slack=timedelta(seconds=60))
    assert timing.group_slack(LEAD) == timedelta(seconds=60)
    assert timing.group_slack(timedelta(seconds=20)) == timedelta(seconds=5)


def test_short_credentials_do_not_loop() -> None:
    # 30 s credentials with a 10 min lead would be due again at once, forever.
    fetched = T0
    expires = T0 + timedelta(seconds=30)
    at = timing.refresh_at(expires, LEAD, fetched)
    assert at == T0 + timedelta(seconds=15)
    assert not timing.refresh_due(expires, T0 + timedelta(seconds=1), LEAD, fetched_at=fetched)
    # and never sooner than the minimum interval, even for nearly dead credentials
    at = timing.refresh_at(T0 + timedelta(seconds=2), LEAD, fetched)
    assert at == T0 + timing.MIN_REFRESH_INTERVAL


@given(
    lifetime=st.integers(min_value=1, max_value=12 * 3600),
    lead=st.integers(min_value=0, max_value=3600),
)
def test_refresh_is_never_planned_right_after_a_fetch(lifetime: int, lead: int) -> None:
    at = timing.refresh_at(T0 + timedelta(seconds=lifetime), timedelta(seconds=lead), T0)
    assert at is not None
    assert at - T0 >= timing.MIN_REFRESH_INTERVAL


@given(
    lifetime=st.integers(min_value=-3 * 3600, max_value=12 * 3600),
    lead=st.integers(min_value=0, max_value=3600),
    slack=st.integers(min_value=0, max_value=600),
    elapsed=st.floats(min_value=0, max_value=12 * 3600),
)
def test_batch_slack_never_brings_a_refetch_before_half_the_lifetime(
    lifetime: int, lead: int, slack: int, elapsed: float
) -> None:
    # Whatever the lifetime (negative: a portal clock behind ours), lead and slack: no refetch
    # sooner than max(lifetime / 2, 5 s) after the fetch.
    expires = T0 + timedelta(seconds=lifetime)
    now = T0 + timedelta(seconds=elapsed)
    floor = max(timedelta(seconds=lifetime) / 2, timing.MIN_REFRESH_INTERVAL)
    due = timing.refresh_due(
        expires, now, timedelta(seconds=lead), fetched_at=T0, slack=timedelta(seconds=slack)
    )
    if now - T0 < floor:
        assert not due
    at = timing.batch_at(expires, timedelta(seconds=lead), T0, timedelta(seconds=slack))
    assert at is not None and at - T0 >= floor


def test_120s_credentials_with_the_default_slack_wait_a_minute() -> None:
    slack = timing.group_slack(LEAD)  # 60 s
    expires = T0 + timedelta(seconds=120)
    assert not timing.refresh_due(
        expires, T0 + timedelta(seconds=59), LEAD, fetched_at=T0, slack=slack
    )
    assert timing.refresh_due(expires, T0 + timedelta(seconds=60), LEAD, fetched_at=T0, slack=slack)
    # a portal 2 h behind: the credentials look dead on arrival, yet 5 s pass between fetches
    behind = T0 - timedelta(hours=2) + timedelta(seconds=120)
    assert not timing.refresh_due(
        behind, T0 + timedelta(seconds=4), LEAD, fetched_at=T0, slack=slack
    )
    assert timing.refresh_due(behind, T0 + timedelta(seconds=5), LEAD, fetched_at=T0, slack=slack)


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    low = [timing.backoff_delay(n, rng=lambda: 0.0) for n in range(1, 10)]
    high = [timing.backoff_delay(n, rng=lambda: 1.0) for n in range(1, 10)]
    assert low[0] == timedelta(seconds=7.5)
    assert high[0] == timedelta(seconds=15)
    assert high[1] == timedelta(seconds=30)
    assert high[-1] == timing.BACKOFF_CAP
    assert all(a <= b for a, b in itertools.pairwise(high))
    assert all(lo < hi for lo, hi in zip(low, high, strict=True))


@given(failures=st.integers(min_value=1, max_value=100), r=st.floats(0, 1))
def test_backoff_stays_within_half_step_and_cap(failures: int, r: float) -> None:
    delay = timing.backoff_delay(failures, rng=lambda: r)
    assert timedelta(seconds=7.5) <= delay <= timing.BACKOFF_CAP


def test_next_wait_is_capped_at_a_minute_and_ignores_unknowns() -> None:
    assert timing.next_wait(T0, []) == timing.MAX_WAIT
    assert timing.next_wait(T0, [None, T0 + timedelta(hours=5)]) == timing.MAX_WAIT
    assert timing.next_wait(T0, [T0 + timedelta(seconds=12), None]) == 12
    # overdue: wake (almost) at once, never a negative wait
    assert timing.next_wait(T0, [T0 - timedelta(hours=1)]) == timing.MIN_WAIT


def test_clock_jump_detects_suspend_and_clock_set_back() -> None:
    # normal tick: both clocks advance 60 s
    assert not timing.jumped(timing.clock_jump(1000.0, 50.0, 1060.0, 110.0))
    # 8 h asleep: wall advanced 8 h, monotonic a minute
    jump = timing.clock_jump(1000.0, 50.0, 1000.0 + 8 * 3600, 110.0)
    assert timing.jumped(jump) and jump > 0
    # clock set back an hour
    jump = timing.clock_jump(1000.0, 50.0, 1000.0 - 3600 + 60, 110.0)
    assert timing.jumped(jump) and jump < 0


def test_session_warning_window() -> None:
    warn = timedelta(minutes=15)
    end = T0 + timedelta(minutes=20)
    assert not timing.session_warning_due(end, T0, warn)
    assert timing.session_warning_due(end, T0 + timedelta(minutes=5), warn)
    assert not timing.session_warning_due(end, end, warn)  # ended: that is "expired"
    assert not timing.session_warning_due(None, T0, warn)
    assert timing.session_warning_at(end, warn) == T0 + timedelta(minutes=5)


def test_graphical_session() -> None:
    assert timing.graphical_session({"DISPLAY": ":0"}, "linux")
    assert timing.graphical_session({"WAYLAND_DISPLAY": "wayland-0"}, "linux")
    assert not timing.graphical_session({}, "linux")
    assert timing.graphical_session({}, "darwin")
    assert timing.graphical_session({}, "win32")


def test_auto_login_guard() -> None:
    ok = {
        "enabled": True,
        "graphical": True,
        "already_tried": False,
        "login_waiting": False,
        "now": T0,
        "resumed_at": None,
    }
    assert timing.auto_login_allowed(**ok) == (True, "")  # type: ignore[arg-type]
    for key, value in (
        ("enabled", False),
        ("graphical", False),
        ("already_tried", True),
        ("login_waiting", True),
        ("resumed_at", T0 - timedelta(seconds=30)),
    ):
        allowed, why = timing.auto_login_allowed(**{**ok, key: value})  # type: ignore[arg-type]
        assert not allowed and why
    allowed, _ = timing.auto_login_allowed(**{**ok, "resumed_at": T0 - timedelta(minutes=2)})  # type: ignore[arg-type]
    assert allowed
