"""The tray's allocator tuning: glibc's mallopt / malloc_trim, a no-op elsewhere."""

from __future__ import annotations

import sys

from aws_sso_tray.tray import allocator


def test_trimming_is_rate_limited_and_never_raises() -> None:
    linux = sys.platform.startswith("linux")
    assert allocator.limit_arenas() is linux or not linux
    allocator.trim()
    assert allocator.trim_now_and_then() is False  # trimmed just now
