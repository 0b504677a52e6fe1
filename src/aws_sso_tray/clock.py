"""Timestamps: the one place that parses and formats the times AWS tools write.

All times inside the app are timezone-aware UTC `datetime`s. Files written by the AWS CLI,
botocore, the SDKs and other tools use several ISO 8601 forms (`Z`, `+00:00`, milliseconds,
`UTC`), so parsing is lenient; writing always uses `%Y-%m-%dT%H:%M:%SZ`, the AWS CLI's form.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

UTC = timezone.utc
_ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def now() -> datetime:
    """The current time, timezone-aware UTC (tests inject their own `now` instead)."""
    return datetime.now(UTC)


def parse_time(value: str | int | float | datetime) -> datetime:
    """Parse an ISO 8601 timestamp (or epoch seconds) into an aware UTC datetime.

    Raises ValueError on anything that is not a timestamp.
    """
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
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


def parse_duration(text: str) -> timedelta:
    """Parse `90s`, `10m`, `1h`, `2d` or plain seconds into a timedelta."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"not a duration: {text!r} (use e.g. 90s, 10m, 1h)")
    number, unit = match.groups()
    return timedelta(seconds=float(number) * _UNITS[unit.lower()])


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
