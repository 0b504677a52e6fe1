"""Timestamps: the one place that parses and formats the times AWS tools write.

All times inside the app are timezone-aware UTC `datetime`s. Files written by the AWS CLI,
botocore, the SDKs and other tools use several ISO 8601 forms (`Z`, `+00:00`, milliseconds,
`UTC`), so parsing is lenient; writing always uses `%Y-%m-%dT%H:%M:%SZ`, the AWS CLI's form.

Parsing is also where values out of range stop: a timestamp outside `EARLIEST`..`LATEST` (say
`9999-12-31T23:59:59-01:00`, `1e20`, `Infinity` in a cache file) and a duration outside
`MIN_DURATION`..`MAX_DURATION` (`99999999999999d`) raise ValueError, never OverflowError, so
every caller's "unusable value" path handles them, and what passes leaves room for the
arithmetic done on it (expiry minus lead, now plus duration).
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone

UTC = timezone.utc
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
MIN_DURATION = timedelta(seconds=1)
MAX_DURATION = timedelta(days=365)
DURATION_RANGE = "from 1s to 365d"
_ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


class OutOfRangeError(ValueError):
    """A well-formed timestamp or duration too large or too small to use."""


def now() -> datetime:
    """The current time, timezone-aware UTC (tests inject their own `now` instead)."""
    return datetime.now(UTC)


def parse_time(value: str | int | float | datetime) -> datetime:
    """Parse an ISO 8601 timestamp (or epoch seconds) into an aware UTC datetime.

    Raises ValueError on anything that is not a timestamp, or one outside EARLIEST..LATEST.
    """
    try:
        parsed = _parse_time(value)
    except (OverflowError, OSError):  # OSError: the platform's gmtime refused the number
        raise OutOfRangeError(f"timestamp out of range: {value!r}") from None
    if not EARLIEST <= parsed <= LATEST:
        raise OutOfRangeError(f"timestamp out of range: {value!r}")
    return parsed


def _parse_time(value: str | int | float | datetime) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise ValueError(f"not a timestamp: {value!r}")
        return datetime.fromtimestamp(value, UTC)
    if not isinstance(value, str):
        raise ValueError(f"not a timestamp: {value!r}")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    elif text.upper().endswith("UTC"):
        text = text[:-3].rstrip() + "+00:00"
    # Python 3.10's fromisoformat wants exactly 3 or 6 fraction digits: normalise to 6.
    match = re.match(r"^(.*T\d{2}:\d{2}:\d{2})\.(\d+)(.*)$", text)
    if match:
        head, frac, tail = match.groups()
        text = f"{head}.{(frac + '000000')[:6]}{tail}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an ISO 8601 timestamp: {value!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_time(value: datetime) -> str:
    """Format as the AWS CLI does: `2026-11-25T23:42:31Z` (UTC, whole seconds)."""
    return parse_time(value).strftime(_ISO_FORMAT)


def parse_duration(value: str | int | float) -> timedelta:
    """Parse `90s`, `10m`, `1h`, `2d` or plain seconds (a number too) into a timedelta.

    Raises ValueError on anything else, or a duration outside MIN_DURATION..MAX_DURATION.
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = _DURATION.match(value) if isinstance(value, str) else None
        if not match:
            raise ValueError(f"not a duration: {value!r} (use e.g. 90s, 10m, 1h)")
        number, unit = match.groups()
        seconds = float(number) * _UNITS[unit.lower()]
    if not MIN_DURATION.total_seconds() <= seconds <= MAX_DURATION.total_seconds():
        # also NaN, and the infinities float() makes of a number with hundreds of digits
        raise OutOfRangeError(f"duration out of range: {value!r} (allowed: {DURATION_RANGE})")
    return timedelta(seconds=seconds)


def format_remaining(delta: timedelta) -> str:
    """A short human form of a time span: `6 h 12 m`, `14 m`, `40 s`, `expired`."""
    seconds = int(delta.total_seconds())
    if seconds <= 0:
        return "expired"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} m"
    if minutes:
        return f"{minutes} m"
    return f"{secs} s"
