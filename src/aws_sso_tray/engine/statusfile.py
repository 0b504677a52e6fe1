"""The status file: the running engine's latest `Snapshot`, for `status` and other processes.

The running engine publishes its snapshot to `snapshot.json` in the state folder (atomic
writes, so `status` never reads half a file); `read_snapshot` is how `status` and other
processes see it.
"""

from __future__ import annotations

import contextlib
import json
import logging
from pathlib import Path
from typing import Any

from aws_sso_tray.errors import AppError
from aws_sso_tray.files import atomicfile, paths
from aws_sso_tray.snapshot import Snapshot

log = logging.getLogger(__name__)

SNAPSHOT_NAME = "snapshot.json"
_SNAPSHOT_VERSION = 1


def snapshot_file() -> Path:
    return paths.state_dir() / SNAPSHOT_NAME


def write_snapshot(snapshot: Snapshot) -> None:
    """Publish `snapshot` for `status` (atomic; never raises: a failed write is only logged)."""
    data = {"version": _SNAPSHOT_VERSION, "snapshot": snapshot.to_dict()}
    try:
        atomicfile.write_atomic(snapshot_file(), json.dumps(data).encode("utf-8"), mode=0o600)
    except (AppError, OSError) as exc:
        log.warning("cannot write the status file: %s", exc)


def read_snapshot() -> Snapshot | None:
    """The last published snapshot, or None when there is none or it is unreadable."""
    try:
        text = atomicfile.read_text(snapshot_file())
        if not text:
            return None
        data: Any = json.loads(text)
        return Snapshot.from_dict(data["snapshot"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.debug("no usable snapshot file: %s", exc)
        return None


def clear_snapshot() -> None:
    with contextlib.suppress(OSError):
        snapshot_file().unlink()


__all__ = ["clear_snapshot", "read_snapshot", "snapshot_file", "write_snapshot"]
