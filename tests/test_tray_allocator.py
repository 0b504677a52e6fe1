"""The tray's allocator tuning: glibc's mallopt / malloc_trim, a no-op elsewhere."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from aws_sso_tray.tray import allocator
from waiting import wait_for


@pytest.fixture(autouse=True)
def no_armed_trim() -> Iterator[None]:
    """Each test starts and ends without a trim armed by another."""

    def cancel() -> None:
        pending = allocator._pending
        if pending is not None:
            pending.cancel()
            allocator._pending = None

    cancel()
    yield
    cancel()


def test_trimming_is_rate_limited_and_never_raises() -> None:
    linux = sys.platform.startswith("linux")
    assert allocator.limit_arenas() is linux or not linux
    allocator.trim()
    assert allocator.trim_now_and_then() is False  # trimmed just now


def test_a_trim_skipped_inside_the_interval_runs_at_its_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("malloc_trim is glibc's")
    monkeypatch.setattr(allocator, "TRIM_INTERVAL", 0.2)
    allocator.trim()
    first = allocator._last_trim
    assert allocator.trim_now_and_then() is False  # inside the interval: armed, not run
    assert allocator.trim_now_and_then() is False  # still one armed trim, not two
    wait_for(lambda: allocator._last_trim > first, "the trim armed for the interval's end")
    wait_for(lambda: allocator._pending is None, "the armed trim to be done")
