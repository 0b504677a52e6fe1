"""The one way tests wait: for a condition, with a generous timeout, never for a fixed time.

CI runs on a 2-core machine that may be busy (and `stress-ng --cpu 2` runs beside the suite
before a release), so a test that sleeps and then asserts, or asserts an elapsed time, fails
there. Poll the condition instead; the timeout only bounds a real hang.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

TIMEOUT = 30.0  # seconds: far beyond what any condition needs on an idle machine


def wait_for(
    condition: Callable[[], T | None],  # never None back: None is falsy, so waited past
    what: str | Callable[[], str] = "the condition",
    timeout: float = TIMEOUT,
    *,
    interval: float = 0.02,
) -> T:
    """`condition()`'s first truthy value; AssertionError naming `what` after `timeout`.

    `what` may be a function, called only at the timeout, so the message can show the state
    then (a process's output, a log). A condition that runs a program (xdotool, dunstctl) polls
    with a longer `interval`, so a busy machine is not kept busier.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            described = what() if callable(what) else what
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {described}")
        time.sleep(interval)
