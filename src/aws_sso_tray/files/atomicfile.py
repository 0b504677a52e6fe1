"""Safe writes to files other programs read: atomic replace, 0600, and an inter-process lock.

Every file we write (the credentials file, the AWS config, token and role-credential caches,
settings, state) goes through `write_atomic`: a temp file in the same folder, fsync, `os.replace`,
fsync of the folder. A reader therefore sees the old file or the new one, never a half-written one.
A symlink is written through to its target (dotfile managers link ~/.aws/credentials), and
read-only files and folders are refused explicitly, because `os.replace` would happily replace a
read-only file in a writable folder and root ignores mode bits altogether.

`locked(path)` is the inter-process lock held across a read-modify-write. Lock files live in our
state folder, not beside the user's file, so ~/.aws gets no litter and a read-only ~/.aws still
gives a clear error from the writability check rather than from the lock.

Private files are the ones in our private folders (`private_folders`: the SSO token cache, the
role-credential cache, our state, log and config folders). Before one is read or written, its
folders are checked (`check_private_folder`: ours, closed to group and others), and it is
replaced as a file, never written through a symlink; only the user's own files (credentials,
config) follow symlinks. Every folder we create is 0700, whatever the umask. Run as root, what
we create gets the owner of the folder we create it in (`paths.new_owner`): under `sudo -E`, the
user whose HOME it is.

A writer waiting for the lock waits longer the bigger the file (`lock_timeout_for`), so it outlasts
a legitimate edit of a big file instead of failing while the holder is still at work.

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

from aws_sso_tray.errors import FileWriteError, UnsafeFolderError
from aws_sso_tray.files import paths

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


def check_writable(path: Path, *, follow_symlinks: bool | None = None) -> Path:
    """Raise FileWriteError unless `path` (after symlinks) can be replaced; return the target.

    By default a private file is its own target: a symlink in its place is replaced, never
    followed. `follow_symlinks=True` is for a file the user may link from a dotfiles folder.
    """
    follow = private_root(path) is None if follow_symlinks is None else follow_symlinks
    target = resolve_target(path) if follow else Path(path).expanduser().absolute()
    folder = target.parent
    if not follow and target.is_symlink():
        pass  # replaced by a file; the folder checks below still apply
    elif target.is_dir():
        raise FileWriteError(f"{target} is a directory, not a file: move it away and try again")
    if not folder.exists():
        return target  # created by write_atomic
    if not folder.is_dir():
        raise FileWriteError(f"{folder} is not a directory: cannot write {target.name} there")
    if target.exists() and not target.is_symlink() and not _owner_may_write(target):
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
    follow_symlinks: bool | None = None,
    unchanged_since: FileStamp | None = None,
) -> None:
    """Replace the file at `path` with `data`, atomically, with `mode`.

    A symlink at `path` is written through to its target, except for private files (see the
    module docstring), whose symlink is replaced; `follow_symlinks` overrides that choice.
    `data` may come in chunks, so a big file need not be held twice in memory. With
    `unchanged_since`, FileChangedError (and nothing replaced) when the file is no longer the
    one read then.
    """
    target = check_writable(path, follow_symlinks=follow_symlinks)
    folder = target.parent
    if private_root(target) is not None:
        ensure_private_folder(folder)
    else:
        make_folders(folder)
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
        st = target.lstat()
    except OSError:
        give_to_folder_owner(tmp, target)  # a new file
        return
    if stat.S_ISLNK(st.st_mode):
        give_to_folder_owner(tmp, target)  # a private file replacing a symlink: a new file
    elif (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
        os.chown(tmp, st.st_uid, st.st_gid)


def give_to_folder_owner(created: Path | int, where: Path) -> None:
    """As root: hand what we just created at `where` (a path, or its open fd) to the owner of
    the folder it is in (`paths.new_owner`)."""
    owner = paths.new_owner(str(Path(where).parent))
    if owner is None:
        return
    if isinstance(created, int):
        os.fchown(created, *owner)
    else:
        os.chown(created, *owner, follow_symlinks=False)


def make_folders(folder: Path) -> None:
    """Create `folder` and its missing parents, each 0700 (whatever the umask), given to the
    owner of the folder they are made in when root makes them. FileWriteError on failure.

    `Path.mkdir(parents=True, mode=0o700)` would not do: the parents get the umask's default
    (0777 under `umask 000`), and a folder others can write to lets them swap what is inside.
    """
    missing: list[Path] = []
    current = Path(folder)
    while not os.path.lexists(current) and current.parent != current:
        missing.append(current)
        current = current.parent
    for created in reversed(missing):
        try:
            created.mkdir(mode=0o700)
        except FileExistsError:
            continue  # another process made it at the same moment
        except OSError as exc:
            raise FileWriteError(f"cannot create folder {created}: {exc.strerror}") from exc
        try:
            if sys.platform != "win32":
                created.chmod(0o700)  # a umask like 0o277 takes owner bits away too
            give_to_folder_owner(created, created)
        except OSError as exc:
            raise FileWriteError(f"cannot set up folder {created}: {exc.strerror}") from exc
    if not Path(folder).is_dir():
        raise FileWriteError(f"{folder} is not a folder: move it away and try again")


def private_folders() -> tuple[Path, ...]:
    """The folders whose files are private: caches of tokens and keys, and our own folders."""
    return (
        paths.sso_cache_dir(),
        paths.cli_cache_dir(),
        paths.state_dir(),
        paths.log_dir(),
        paths.config_dir(),
    )


def private_root(path: Path) -> Path | None:
    """The outermost private folder that holds the file at `path`, or None for a user's file."""
    location = Path(path).expanduser().absolute()
    found: Path | None = None
    for root in private_folders():
        top = root.absolute()
        inside = location != top and location.is_relative_to(top)
        if inside and (found is None or len(top.parts) < len(found.parts)):
            found = top
    return found


def _guarded_folders(folder: Path, root: Path) -> list[Path]:
    """`folder` and each folder above it up to `root`; for the AWS caches also the folder we
    create around them (`~/.aws/sso`, `~/.aws/cli`): whoever can write there can swap the cache."""
    chain: list[Path] = []
    current = Path(folder).absolute()
    while True:
        chain.append(current)
        if current == root or current.parent == current:
            break
        current = current.parent
    caches = (paths.sso_cache_dir(), paths.cli_cache_dir())
    if root in {cache.absolute() for cache in caches}:
        chain.append(root.parent)
    return chain


def check_private_folder(folder: Path) -> None:
    """UnsafeFolderError unless `folder` may hold private files (see `paths.folder_problem`)."""
    root = private_root(Path(folder) / "_")
    if root is None:
        return
    for guarded in _guarded_folders(folder, root):
        problem = paths.folder_problem(str(guarded))
        if problem is not None:
            raise UnsafeFolderError(problem)


def ensure_private_folder(folder: Path) -> None:
    """Create `folder` (0700, see `make_folders`) and check it may hold private files."""
    check_private_folder(folder)  # before creating anything inside a folder that is not ours
    make_folders(folder)
    check_private_folder(folder)


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
    from aws_sso_tray.files.paths import state_dir

    digest = hashlib.sha1(str(resolve_target(path)).encode(), usedforsecurity=False).hexdigest()
    return state_dir() / "locks" / f"{digest[:16]}.lock"


def file_lock(lock_file: Path) -> Any:
    """A `filelock.FileLock` on `lock_file`, in a checked private folder, openable by us.

    The lock file is created here (0600, no symlink followed, given to the folder's owner when
    root creates it), so that a lock file we cannot open is one clear FileWriteError naming it,
    not a PermissionError from inside filelock.
    """
    from filelock import FileLock

    ensure_private_folder(lock_file.parent)
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        existed = os.path.lexists(lock_file)
        fd = os.open(lock_file, flags, 0o600)
    except OSError as exc:
        raise FileWriteError(_lock_problem(lock_file, exc)) from exc
    try:
        if not existed:
            give_to_folder_owner(fd, lock_file)
    except OSError as exc:
        raise FileWriteError(f"cannot set up lock file {lock_file}: {exc.strerror}") from exc
    finally:
        os.close(fd)
    return FileLock(str(lock_file), mode=0o600)


def lock_held(lock_file: Path) -> bool:
    """True when some process (this one too) holds `lock_file` now: a probe takes it without
    waiting and frees it at once. The file is created (as `file_lock` does) when missing."""
    from filelock import Timeout

    probe = file_lock(lock_file)
    try:
        probe.acquire(timeout=0)
    except Timeout:
        return True
    probe.release()
    return False


def _lock_problem(lock_file: Path, exc: OSError) -> str:
    return _unopenable(lock_file, exc, what="lock file")


def _unopenable(path: Path, exc: OSError, *, what: str) -> str:
    """The one line for a private file we cannot open: which file, why, and the fix."""
    try:
        st = path.lstat()
    except OSError:
        return f"cannot open {what} {path}: {exc.strerror or exc}"
    if stat.S_ISLNK(st.st_mode):
        return f"{what} {path} is a symlink: remove it (`rm {path}`) and try again"
    if sys.platform != "win32" and st.st_uid != os.geteuid():
        return (
            f"cannot open {what} {path}: it belongs to another user (uid {st.st_uid}, "
            f"left by `sudo`?): run `sudo chown $USER {path}` or remove it"
        )
    return f"cannot open {what} {path}: {exc.strerror or exc}"


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
    from filelock import Timeout

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
    lock = file_lock(lock_file)
    try:
        lock.acquire(timeout=timeout)
    except Timeout as exc:
        raise FileWriteError(
            f"{path} is locked by another aws-sso-tray process (waited {timeout:.0f} s)"
        ) from exc
    except OSError as exc:
        raise FileWriteError(_lock_problem(lock_file, exc)) from exc
    depths[key] = 1
    try:
        yield
    finally:
        del depths[key]
        lock.release()


def read_text(path: Path) -> str | None:
    """The file's text, or None when it does not exist.

    A private file is read only from a checked folder (UnsafeFolderError otherwise) and never
    through a symlink (an OSError, as for any unreadable file: the next write replaces it).
    """
    path = Path(path)
    if private_root(path) is not None:
        check_private_folder(path.parent)
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(path, flags)
        except FileNotFoundError:
            return None
        with os.fdopen(fd, encoding="utf-8") as handle:
            return handle.read()
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def read_json_object(path: Path, *, what: str) -> dict[str, Any] | None:
    """The JSON object stored in a cache or state file, or None when there is none.

    A file that cannot be read, is not JSON or not an object is logged as a warning naming
    `what` and the path, never its content (token and credential caches hold secrets), and
    treated as absent: the caller rewrites it. A private file we may not open (root's, left by
    `sudo`) is a FileWriteError naming it and the fix instead: treated as absent, a token
    cache would turn into a misleading "login needed".
    """
    import json
    import logging

    log = logging.getLogger(__name__)
    try:
        text = read_text(path)
    except PermissionError as exc:
        if private_root(path) is None:
            log.warning("cannot read %s %s: %s", what, path, exc.strerror or exc)
            return None
        raise FileWriteError(_unopenable(Path(path), exc, what=what)) from exc
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
