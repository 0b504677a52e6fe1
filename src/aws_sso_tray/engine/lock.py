"""One engine per user: the instance lock, and the pid of the process that holds it.

The tray and the daemon both run the refresh engine; two engines would refresh every profile
twice and open two browser logins, so they share one lock file in our state folder
(`paths.state_dir()/engine.lock`, an OS-level lock released when the process dies, however it
dies). The holder writes its pid next to it so a second instance can say which process runs.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

from aws_sso_tray.errors import AlreadyRunningError, AppError, FileWriteError
from aws_sso_tray.files import atomicfile, paths

log = logging.getLogger(__name__)

LOCK_NAME = "engine.lock"
PID_NAME = "engine.pid"


def lock_file() -> Path:
    return paths.state_dir() / LOCK_NAME


def pid_file() -> Path:
    return paths.state_dir() / PID_NAME


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
    path = lock_file()
    return path.exists() and atomicfile.lock_held(path)


def running_pid() -> int | None:
    """The pid the engine recorded, if any (meaningful only while the lock is held)."""
    try:
        return int((atomicfile.read_text(pid_file()) or "").strip())
    except (OSError, ValueError):
        return None


__all__ = ["InstanceLock", "engine_running", "lock_file", "pid_file", "running_pid"]
