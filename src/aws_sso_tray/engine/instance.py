"""One engine per user: the instance lock, the published snapshot file, and change watching.

The tray and the daemon both run the refresh engine; two engines would refresh every profile
twice and open two browser logins, so they share one lock file in our state folder
(`paths.state_dir()/engine.lock`, an OS-level lock released when the process dies, however it
dies). The holder writes its pid next to it so a second instance can say which process runs.

The running engine publishes its `Snapshot` to `snapshot.json` in the state folder (atomic
writes, so `status` never reads half a file); `read_snapshot` is how `status` and other
processes see it.

`FileWatcher` notices edits to the files the engine depends on (settings, AWS config,
credentials file, SSO token cache) with one `stat` per path: cheap enough to run every couple of
seconds on a laptop battery, unlike re-reading and parsing them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from aws_sso_tray.errors import AlreadyRunningError, AppError, FileWriteError
from aws_sso_tray.files import atomicfile, paths
from aws_sso_tray.snapshot import Snapshot

log = logging.getLogger(__name__)

LOCK_NAME = "engine.lock"
PID_NAME = "engine.pid"
SNAPSHOT_NAME = "snapshot.json"
_SNAPSHOT_VERSION = 1

Signature = tuple[int, int, int] | None


def lock_file() -> Path:
    return paths.state_dir() / LOCK_NAME


def pid_file() -> Path:
    return paths.state_dir() / PID_NAME


def snapshot_file() -> Path:
    return paths.state_dir() / SNAPSHOT_NAME


class InstanceLock:
    """The per-user engine lock: `acquire()` or AlreadyRunningError; `release()` on exit."""

    def __init__(self, what: str = "aws-sso-tray") -> None:
        self.what = what
        self._lock = atomicfile.file_lock(lock_file())

    @property
    def held(self) -> bool:
        return bool(self._lock.is_locked)

    def acquire(self) -> None:
        from filelock import Timeout

        try:
            self._lock.acquire(timeout=0)
        except Timeout:  # before OSError: filelock's Timeout is a TimeoutError
            pid = running_pid()
            which = f" (pid {pid})" if pid else ""
            raise AlreadyRunningError(
                f"aws-sso-tray is already running{which}: it keeps your profiles fresh; "
                "stop it first or use `aws-sso-tray status`"
            ) from None
        except OSError as exc:
            raise FileWriteError(f"cannot lock {lock_file()}: {exc.strerror or exc}") from exc
        try:
            atomicfile.write_atomic(pid_file(), f"{os.getpid()}\n".encode(), mode=0o600)
        except AppError as exc:
            log.warning("cannot record the engine's pid: %s", exc)

    def release(self) -> None:
        if not self.held:
            return
        with contextlib.suppress(OSError):
            pid_file().unlink()
        self._lock.release()

    def __enter__(self) -> InstanceLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def engine_running() -> bool:
    """True when another process (or this one) holds the engine lock."""
    from filelock import Timeout

    path = lock_file()
    if not path.exists():
        return False
    probe = atomicfile.file_lock(path)
    try:
        probe.acquire(timeout=0)
    except Timeout:
        return True
    probe.release()
    return False


def running_pid() -> int | None:
    """The pid the engine recorded, if any (meaningful only while the lock is held)."""
    try:
        return int((atomicfile.read_text(pid_file()) or "").strip())
    except (OSError, ValueError):
        return None


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


def signature(path: Path) -> Signature:
    """(mtime_ns, size, inode) of `path`, None when absent: one stat call."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


class FileWatcher:
    """Which of a set of named files changed since the last look (mtime, size, inode).

    `paths` is called at every look, so paths that depend on the environment or on the current
    config (token cache files of the sessions in use) follow along. A folder's signature changes
    when a file in it is created, deleted or atomically replaced.
    """

    def __init__(self, paths: Callable[[], Mapping[str, Iterable[Path]]]) -> None:
        self._paths = paths
        self._seen: dict[str, tuple[Signature, ...]] = {}

    def changed(self) -> set[str]:
        """Names whose files changed (all names on the first call)."""
        changes = set()
        current: dict[str, tuple[Signature, ...]] = {}
        for name, group in self._paths().items():
            sig = tuple(signature(p) for p in group)
            current[name] = sig
            if self._seen.get(name, ()) != sig or name not in self._seen:
                changes.add(name)
        self._seen = current
        return changes


__all__ = [
    "FileWatcher",
    "InstanceLock",
    "clear_snapshot",
    "engine_running",
    "lock_file",
    "read_snapshot",
    "running_pid",
    "signature",
    "snapshot_file",
    "write_snapshot",
]
