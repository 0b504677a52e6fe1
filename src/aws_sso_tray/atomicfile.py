"""Safe writes to files other programs read: atomic replace, 0600, and an inter-process lock.

Every file we write (the credentials file, the AWS config, token and role-credential caches,
settings, state) goes through `write_atomic`: a temp file in the same folder, fsync, `os.replace`,
fsync of the folder. A reader therefore sees the old file or the new one, never a half-written one.
A symlink is written through to its target (dotfile managers link ~/.aws/credentials), and
read-only files and folders are refused explicitly, because `os.replace` would happily replace a
read-only file in a writable folder and root ignores mode bits altogether.

`locked(path)` is the inter-process lock held across a read-modify-write. Lock files live in our
state folder, not beside the user's file, so ~/.aws gets no litter and a read-only ~/.aws still
gives a clear error from the writability check rather than from the lock. A writer waiting for it
waits longer the bigger the file (`lock_timeout_for`), so it outlasts a legitimate edit of a big
file instead of failing while the holder is still at work.

Other programs write ~/.aws/credentials without our lock (appending in place, or rewriting it).
`read_stamped` notes what we read (device, inode, size, mtime in ns, and a SHA-256 of the bytes,
because mtime alone is too coarse on many filesystems), and `write_atomic(..., unchanged_since=)`
checks it again as the very last step before `os.replace`: when the file changed, nothing is
replaced and `FileChangedError` tells the caller to read it again and redo its edit.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_sso_tray.errors import FileWriteError

TEMP_SUFFIX = ".aws-sso-tray.tmp"
STALE_TEMP_SECONDS = 60.0
LOCK_TIMEOUT_SECONDS = 30.0
LOCK_SECONDS_PER_MB = 1.0  # on top: a 50 MB credentials file edits in a few seconds; be generous
_READ_CHUNK = 1 << 20
_STAMP_READS = 5  # reads of a file that changes while we read it
_REPLACE_RETRIES = 20  # Windows: os.replace fails while another process has the file open


def resolve_target(path: Path) -> Path:
    """Follow symlinks (also chains and relative links) to the file that is really written."""
    path = Path(path).expanduser()
    try:
        return Path(os.path.realpath(path))
    except OSError:
        return path.absolute()


def check_writable(path: Path) -> Path:
    """Raise FileWriteError unless `path` (after symlinks) can be replaced; return the target."""
    target = resolve_target(path)
    folder = target.parent
    if target.is_dir():
        raise FileWriteError(f"{target} is a directory, not a file: move it away and try again")
    if not folder.exists():
        return target  # created by write_atomic
    if not folder.is_dir():
        raise FileWriteError(f"{folder} is not a directory: cannot write {target.name} there")
    if target.exists() and not _owner_may_write(target):
        raise FileWriteError(
            f"{target} is read-only: make it writable (chmod u+w) or choose another file"
        )
    if not _owner_may_write(folder) or not os.access(folder, os.W_OK | os.X_OK):
        raise FileWriteError(
            f"folder {folder} is read-only: cannot write {target.name} (chmod u+w the folder)"
        )
    return target


def _owner_may_write(path: Path) -> bool:
    # Mode bits first: root's os.access says yes to everything, but a user who made a file
    # read-only meant it, whoever runs us.
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    if sys.platform != "win32" and not mode & stat.S_IWUSR:
        return False
    return os.access(path, os.W_OK)


def write_atomic(
    path: Path,
    data: bytes | Iterable[bytes],
    *,
    mode: int = 0o600,
    unchanged_since: FileStamp | None = None,
) -> None:
    """Replace the file at `path` (through symlinks) with `data`, atomically, with `mode`.

    `data` may come in chunks, so a big file need not be held twice in memory. With
    `unchanged_since`, FileChangedError (and nothing replaced) when the file is no longer the
    one read then.
    """
    target = check_writable(path)
    folder = target.parent
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise FileWriteError(f"cannot create folder {folder}: {exc.strerror}") from exc
    sweep_stale_temps(target)
    prefix = f".{target.name}.{os.getpid()}."
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=prefix, suffix=TEMP_SUFFIX, dir=folder)
    except OSError as exc:
        raise FileWriteError(f"cannot write in {folder}: {exc.strerror}") from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.writelines([data] if isinstance(data, bytes) else data)
            handle.flush()
            os.fsync(handle.fileno())
        if sys.platform != "win32":
            tmp.chmod(mode)
            _keep_owner(tmp, target)
        if unchanged_since is not None:
            check_unchanged(target, unchanged_since)
        _replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise FileWriteError(f"cannot write {target}: {exc.strerror or exc}") from exc
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_folder(folder)


class FileChangedError(FileWriteError):
    """The file changed after we read it (another program wrote it): read it again, redo."""


@dataclass(frozen=True)
class FileStamp:
    """What we read of a file: compared again right before we replace it."""

    identity: tuple[int, int, int, int] | None  # st_dev, st_ino, st_size, st_mtime_ns; None: absent
    digest: bytes  # SHA-256 of the bytes (b"" when absent)


def _identity(path: Path) -> tuple[int, int, int, int] | None:
    try:
        st = Path(path).stat()
    except FileNotFoundError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def read_stamped(path: Path) -> tuple[bytes | None, FileStamp]:
    """The bytes of the file at `path` (None when absent) and the stamp of what was read.

    OSErrors other than a missing file propagate. A file that changed while we read it is read
    again (a few times: after that the stamp describes what is there now, so the check before
    the rename fails and the caller's own bounded retry takes over).
    """
    for _ in range(_STAMP_READS):
        before = _identity(path)
        try:
            data = Path(path).read_bytes()
        except FileNotFoundError:
            data = None
        after = _identity(path)
        if after == before and (data is None) == (before is None):
            break
    digest = hashlib.sha256(data).digest() if data is not None else b""
    return data, FileStamp(after, digest)


def check_unchanged(path: Path, stamp: FileStamp) -> None:
    """FileChangedError unless the file at `path` is still the one `stamp` describes."""
    # The identity last too: a writer appending after the bytes were hashed changes the size,
    # which this last look, right before os.replace, sees.
    if (
        _identity(path) != stamp.identity
        or _digest(path) != stamp.digest
        or _identity(path) != stamp.identity
    ):
        raise FileChangedError(f"{path} changed while we were editing it")


def _digest(path: Path) -> bytes:
    hasher = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(_READ_CHUNK):
                hasher.update(chunk)
    except FileNotFoundError:
        return b""
    return hasher.digest()


def _keep_owner(tmp: Path, target: Path) -> None:
    # root (`sudo -E`, a root cron job) replacing a user's file must not hand it to root: the
    # user could no longer read their own credentials. Others cannot chown, and need not.
    if sys.platform == "win32" or os.geteuid() != 0:
        return
    try:
        st = target.stat()
    except OSError:
        return  # a new file: owned by whoever creates it
    if (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
        os.chown(tmp, st.st_uid, st.st_gid)


def _replace(tmp: Path, target: Path) -> None:
    for attempt in range(_REPLACE_RETRIES):
        try:
            tmp.replace(target)
            return
        except PermissionError:
            if sys.platform != "win32" or attempt == _REPLACE_RETRIES - 1:
                raise
            time.sleep(0.05)


def _fsync_folder(folder: Path) -> None:
    if sys.platform == "win32":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def sweep_stale_temps(target: Path) -> None:
    """Delete temp files that writers of `target` left behind when they were killed."""
    prefix = f".{target.name}."
    cutoff = time.time() - STALE_TEMP_SECONDS
    with contextlib.suppress(OSError):
        for entry in os.scandir(target.parent):
            name = entry.name
            if not (name.startswith(prefix) and name.endswith(TEMP_SUFFIX)):
                continue
            pid_text = name[len(prefix) :].split(".", 1)[0]
            dead = pid_text.isdigit() and not _pid_alive(int(pid_text))
            with contextlib.suppress(OSError):
                if dead or entry.stat().st_mtime < cutoff:
                    Path(entry.path).unlink()


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if sys.platform == "win32":
        return True  # no cheap check; the age cutoff sweeps them instead
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError as exc:
        return exc.errno == errno.EPERM
    return True


def lock_path_for(path: Path) -> Path:
    from aws_sso_tray.paths import state_dir

    digest = hashlib.sha1(str(resolve_target(path)).encode(), usedforsecurity=False).hexdigest()
    return state_dir() / "locks" / f"{digest[:16]}.lock"


# Lock files this thread already holds, with a depth: filelock's flock() is per open file, so
# a second FileLock on the same path in the same thread would wait for itself until the timeout.
_held = threading.local()


def lock_timeout_for(path: Path) -> float:
    """How long a writer waits for the lock of `path`: longer than an edit of it can take.

    An edit reads, parses and rewrites the whole file, so it takes time in proportion to its
    size: 30 s plus 1 s per MB (80 s for a 50 MB file, which edits in a few seconds).
    """
    try:
        size = resolve_target(path).stat().st_size
    except OSError:
        size = 0
    return LOCK_TIMEOUT_SECONDS + LOCK_SECONDS_PER_MB * size / 1e6


@contextlib.contextmanager
def locked(path: Path, *, timeout: float | None = None) -> Iterator[None]:
    """Hold the inter-process lock for the file at `path` (re-entrant within a thread).

    `timeout` defaults to `lock_timeout_for(path)`.
    """
    from filelock import FileLock, Timeout

    if timeout is None:
        timeout = lock_timeout_for(path)

    lock_file = lock_path_for(path)
    depths: dict[str, int] = _held.__dict__.setdefault("depths", {})
    key = str(lock_file)
    if depths.get(key):
        depths[key] += 1
        try:
            yield
        finally:
            depths[key] -= 1
        return
    try:
        lock_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise FileWriteError(f"cannot create lock folder {lock_file.parent}: {exc}") from exc
    lock = FileLock(str(lock_file), mode=0o600)
    try:
        lock.acquire(timeout=timeout)
    except Timeout as exc:
        raise FileWriteError(
            f"{path} is locked by another aws-sso-tray process (waited {timeout:.0f} s)"
        ) from exc
    depths[key] = 1
    try:
        yield
    finally:
        del depths[key]
        lock.release()


def read_text(path: Path) -> str | None:
    """The file's text, or None when it does not exist."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def read_json_object(path: Path, *, what: str) -> dict[str, Any] | None:
    """The JSON object stored in a cache or state file, or None when there is none.

    A file that cannot be read, is not JSON or not an object is logged as a warning naming
    `what` and the path, never its content (token and credential caches hold secrets), and
    treated as absent: the caller rewrites it.
    """
    import json
    import logging

    log = logging.getLogger(__name__)
    try:
        text = read_text(path)
    except OSError as exc:
        log.warning("cannot read %s %s: %s", what, path, exc.strerror or exc)
        return None
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        log.warning("ignoring unreadable %s %s", what, path)
        return None
    if not isinstance(data, dict):
        log.warning("ignoring unreadable %s %s (not a JSON object)", what, path)
        return None
    return data
