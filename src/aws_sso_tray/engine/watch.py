"""Noticing edits to the files the engine depends on, one `stat` per path.

`FileWatcher` watches the settings, the AWS config, the credentials file and the SSO token
cache: one `stat` per path is cheap enough to run every couple of seconds on a laptop battery,
unlike re-reading and parsing them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

Signature = tuple[int, int, int, int] | None


def signature(path: Path) -> Signature:
    """(mtime_ns, ctime_ns, size, inode) of `path`, None when absent: one stat call.

    ctime too: a program that puts the old mtime back after a rewrite (`rsync -t`, `touch -r`)
    cannot set it, so such a rewrite is still a change.
    """
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino)


class FileWatcher:
    """Which of a set of named files changed since the last look (mtime, ctime, size, inode).

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


__all__ = ["FileWatcher", "Signature", "signature"]
