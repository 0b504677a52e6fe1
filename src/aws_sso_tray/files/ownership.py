"""The record of what we wrote into the user's AWS files, so we remove only what is ours.

Each editor of a user's file (`credfile` for credentials-file sections, `configedit` for
generated config profiles) keeps one `RecordFile`: a JSON file in `paths.state_dir()`, never
beside the user's file, shaped

    {"version": 1, "files": {"<resolved path of the user's file>": {"<section>": <entry>}}}

where an entry is whatever the editor needs to recognise its section later (a fingerprint, the
lines it wrote), turned to and from JSON by the editor's own functions.

The record may only ever make us more careful. Reading is lenient: a missing, unreadable or
malformed state file, another version, or an entry the editor does not accept reads as "no
record", which makes the section look like the user's (kept, protected), never like ours. A
record that cannot be saved is logged and dropped for the same reason: the user's file is already
written, and without the record we only treat our section as theirs. Saving is one
read-modify-write of the state file under `atomicfile.locked`, written with
`atomicfile.write_atomic`, so two processes recording different files never lose each other's.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from aws_sso_tray.errors import AppError
from aws_sso_tray.files.atomicfile import locked, read_json_object, write_atomic

log = logging.getLogger(__name__)

_VERSION = 1

Entry = TypeVar("Entry")

__all__ = ["RecordFile"]


@dataclass(frozen=True)
class RecordFile(Generic[Entry]):
    """The sections one editor created, per user file, in `paths.state_dir()/file_name`."""

    file_name: str
    what: str  # what the entries are, for the log: "credentials sections"
    entry_from_json: Callable[[object], Entry | None]  # None: not an entry we understand
    entry_to_json: Callable[[Entry], dict[str, Any]]

    def path(self) -> Path:
        from aws_sso_tray.files.paths import state_dir

        return state_dir() / self.file_name

    def load(self, target: Path) -> dict[str, Entry]:
        """The entries recorded for the user's file at `target` (a resolved path)."""
        entries = self._read().get(str(target), {})
        records: dict[str, Entry] = {}
        if isinstance(entries, dict):
            for name, raw in entries.items():
                entry = self.entry_from_json(raw)
                if entry is not None:
                    records[name] = entry
        return records

    def save(self, target: Path, changes: Mapping[str, Entry | None]) -> None:
        """Record (or, for None, forget) sections of the user's file at `target`."""
        if not changes:
            return
        path = self.path()
        try:
            with locked(path):
                files = self._read()
                entries = files.get(str(target))
                entries = dict(entries) if isinstance(entries, dict) else {}
                for name, entry in changes.items():
                    if entry is None:
                        entries.pop(name, None)
                    else:
                        entries[name] = self.entry_to_json(entry)
                if entries:
                    files[str(target)] = entries
                else:
                    files.pop(str(target), None)
                body = json.dumps({"version": _VERSION, "files": files}, indent=2, sort_keys=True)
                write_atomic(path, (body + "\n").encode("utf-8"))
        except (AppError, OSError) as exc:
            log.warning("could not record %s in %s: %s", self.what, path, exc)

    def _read(self) -> dict[str, Any]:
        data = read_json_object(self.path(), what=f"record of {self.what}")
        if data is None or data.get("version") != _VERSION:
            return {}
        files = data.get("files")
        return files if isinstance(files, dict) else {}
