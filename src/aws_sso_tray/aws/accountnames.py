"""The portal's account names, remembered in our state folder so the faces can show them.

The AWS config knows an SSO profile's account id only; the name is the portal's (ListAccounts).
Every listing of the accounts (`portal.list_accounts`: configure, its rescan) records
id -> name here, in `account-names.json` in the state folder, and the engine puts the names
into each snapshot (`ProfileState.account_name`) for the tray menu and the dashboard. An
account never listed on this computer shows its id alone.

Best effort both ways: a file that cannot be read or written only means ids without names. The
file is JSON (`{"111122223333": "Sandbox", ...}`), 0600, written atomically under its lock;
`known()` re-reads it only when its modification time or size changed, so the engine can ask
for it on every snapshot.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from pathlib import Path

FILE_NAME = "account-names.json"

_cache: tuple[tuple[str, int, int], dict[str, str]] | None = None


def location() -> Path:
    from aws_sso_tray.files import paths

    return paths.state_dir() / FILE_NAME


def known() -> dict[str, str]:
    """account id -> name, as the portal last listed them here ({} when nothing is known)."""
    global _cache
    path = location()
    try:
        stat = path.stat()
    except OSError:
        return {}
    stamp = (str(path), stat.st_mtime_ns, stat.st_size)
    if _cache is not None and _cache[0] == stamp:
        return _cache[1]
    names = _read(path)
    _cache = (stamp, names)
    return names


def _read(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str) and v}


def remember(names: Mapping[str, str]) -> None:
    """Add or rename these accounts (other accounts' names stay: another session's, say)."""
    names = {k: v for k, v in names.items() if k and v}
    if not names:
        return
    from aws_sso_tray.errors import AppError
    from aws_sso_tray.files.atomicfile import locked, write_atomic

    path = location()
    with contextlib.suppress(OSError, AppError):  # a locked or unsafe folder: ids only
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with locked(path):
            current = _read(path)
            merged = {**current, **names}
            if merged != current:
                write_atomic(path, json.dumps(merged, indent=1, sort_keys=True).encode() + b"\n")


__all__ = ["FILE_NAME", "known", "location", "remember"]
