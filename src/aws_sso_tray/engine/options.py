"""How an engine is tuned and what it talks to: one frozen `EngineOptions` value.

The defaults are what the tray and the daemon run with; tests hand in a fake clock, a recording
browser opener, an empty environment and a watch interval of 0 (look at the files every tick).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from aws_sso_tray import clock

MAX_WORKERS = 6  # the portal throttles: 5-8 GetRoleCredentials at a time
WATCH_INTERVAL = 2.0  # seconds between stat()s of the files we depend on

Opener = Callable[
    [str], Any
]  # opens a URL in the browser (desktop.browser.launch_browser by default)


class Clock(Protocol):
    """Where the engine reads time: aware UTC wall clock, and a monotonic clock in seconds."""

    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...


class SystemClock:
    def now(self) -> datetime:
        return clock.now()

    def monotonic(self) -> float:
        return time.monotonic()


@dataclass(frozen=True)
class EngineOptions:
    """The engine's tunables; None means "from the settings" (or the real thing)."""

    clock: Clock = field(default_factory=SystemClock)
    refresh_before: timedelta | None = None  # None: the settings' refresh_before
    warn_before: timedelta | None = None  # None: the settings' warn_before
    opener: Opener | None = None  # None: desktop.browser.launch_browser
    env: Mapping[str, str] | None = None  # None: os.environ (is there a display, $BROWSER)
    platform: str | None = None  # None: sys.platform
    publish_file: bool = True  # write the status file `status` reads
    max_workers: int = MAX_WORKERS
    watch_interval: float = WATCH_INTERVAL  # 0: stat the files at every tick


__all__ = ["MAX_WORKERS", "WATCH_INTERVAL", "Clock", "EngineOptions", "Opener", "SystemClock"]
