"""The tray process's C allocator: fewer malloc arenas, and freed heap handed back to the OS.

glibc gives each thread that allocates its own arena (up to 8 per core), and keeps freed memory
in them. The tray runs a handful of long-lived threads (the engine's worker, the notifier's
loop, the local servers, GTK's) that each allocate a little, so `limit_arenas()` (called before
they start: MALLOC_ARENA_MAX cannot be set on a running process, mallopt can) keeps them to
two. `trim()` (malloc_trim) returns the free pages after the start-up burst and after refresh
batches. glibc only: elsewhere (macOS, Windows, musl) both are no-ops that return False.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

log = logging.getLogger(__name__)

ARENA_MAX = 2
TRIM_INTERVAL = 30.0  # trim_now_and_then() trims at most this often (seconds)
_M_ARENA_MAX = -8  # glibc's malloc.h
_libc: Any = None
_last_trim = float("-inf")


def _glibc() -> Any:
    global _libc
    if _libc is None:
        _libc = False
        if sys.platform.startswith("linux"):
            import ctypes
            import ctypes.util

            try:
                libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
                if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt"):
                    _libc = libc
            except OSError:
                pass
    return _libc


def limit_arenas(count: int = ARENA_MAX) -> bool:
    """At most `count` malloc arenas from now on; call it before threads start."""
    libc = _glibc()
    return bool(libc and libc.mallopt(_M_ARENA_MAX, count) == 1)


def trim() -> bool:
    """Give the allocator's free pages back to the OS; True if any were."""
    global _last_trim
    libc = _glibc()
    if not libc:
        return False
    _last_trim = time.monotonic()
    return bool(libc.malloc_trim(0))


def trim_now_and_then() -> bool:
    """`trim()`, unless it ran within TRIM_INTERVAL (cheap to call on every snapshot)."""
    if time.monotonic() - _last_trim < TRIM_INTERVAL:
        return False
    return trim()
