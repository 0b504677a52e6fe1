"""Uninstall: what aws-sso-tray left on this computer, said first, then removed.

    leftovers = find_leftovers()    # looks only; nothing changes
    print(leftovers.describe())     # exactly what goes, and what stays
    remove_leftovers(leftovers)     # removes it; returns one line per thing removed

What goes:
- the credentials-file sections we created (`credfile.owned_sections`): our four keys, and the
  section too when nothing else is left in it (`credfile.remove_sections` decides, under the
  file's lock, from the ownership records; a section the user had before, or whose keys someone
  replaced, stays);
- the start-at-login entry (`autostart.autostart_file()`), when it is there;
- our settings folder (`paths.config_dir()`), log folder (`paths.log_dir()`) and state folder
  (`paths.state_dir()`: login times, locks, the status snapshot, the ownership records, the
  demo world).

What stays, always: the AWS config file (profiles `configure` wrote included), the SSO token
cache and role-credential cache we share with the AWS CLI, and every credentials-file section
we did not create.

Order (why): the credentials sections first, because only the ownership records in the state
folder say which sections are ours; the state folder last. The engine lock is held while
removing (so no tray or daemon starts half way and rewrites what we just removed), which makes
a running tray or daemon a refusal (AlreadyRunningError) rather than a race; a folder holding
that lock is removed after releasing it (Windows cannot delete an open file). Everything is
idempotent: what is already gone is skipped.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from aws_sso_tray.desktop import autostart
from aws_sso_tray.engine import lock as engine_lock
from aws_sso_tray.errors import AlreadyRunningError, AppError, ConfigError, FileWriteError
from aws_sso_tray.files import credfile, paths

log = logging.getLogger(__name__)

STATE_CONTENTS = "login times, locks, the status snapshot, ownership records, the demo world"


@dataclass(frozen=True)
class Folder:
    """One of our folders, and what it holds (several labels when platforms share a folder)."""

    path: Path
    holds: str


@dataclass(frozen=True)
class Leftovers:
    """What `remove_leftovers` removes; built by `find_leftovers`, which changes nothing."""

    credentials_file: Path
    credential_sections: tuple[str, ...]  # sections we created that still hold our keys
    credentials_problem: str | None  # the credentials file could not be read: sections unknown
    autostart_entry: Path | None  # present login entry
    folders: tuple[Folder, ...]  # present folders, in removal order (settings, logs, state)
    aws_config_file: Path
    sso_cache_dir: Path
    cli_cache_dir: Path
    running_pid: int | None = None  # a tray or daemon runs (0: pid unknown): apply refuses

    @property
    def running(self) -> bool:
        return self.running_pid is not None

    @property
    def empty(self) -> bool:
        """Nothing to remove."""
        return not (self.credential_sections or self.autostart_entry or self.folders)

    def describe(self) -> str:
        """What will be removed and what will not, for a person deciding y/N."""
        lines: list[str] = []
        if self.empty:
            lines.append("aws-sso-tray has nothing to remove on this computer.")
        else:
            lines.append("aws-sso-tray uninstall will remove:")
        if self.credential_sections:
            names = ", ".join(f"[{name}]" for name in self.credential_sections)
            lines.append(
                f"  - from {self.credentials_file}, the sections it created: {names} "
                "(their four aws_* keys; a section goes only when nothing else is left in it)"
            )
        if self.autostart_entry is not None:
            lines.append(f"  - the start-at-login entry: {self.autostart_entry}")
        for folder in self.folders:
            lines.append(f"  - its {folder.holds} folder: {folder.path}")
        if self.running:
            pid = f" (pid {self.running_pid})" if self.running_pid else ""
            lines.append(
                f"aws-sso-tray is running{pid}: quit the tray or stop the daemon first; "
                "uninstall refuses while it runs."
            )
        if self.credentials_problem:
            lines.append(
                f"It cannot tell which sections of {self.credentials_file} it created: "
                f"{self.credentials_problem}. Fix that file first, then run uninstall again."
            )
        lines += [
            "It will not touch:",
            f"  - the AWS config file {self.aws_config_file}, with every profile in it"
            " (also the ones `aws-sso-tray configure` added)",
            f"  - the SSO token cache {self.sso_cache_dir} and the role-credential cache"
            f" {self.cli_cache_dir}, shared with the AWS CLI"
            " (sign out first with `aws-sso-tray logout` or `aws sso logout` if you want to)",
            f"  - any section of {self.credentials_file} it did not create"
            " (also sections that were there before it wrote into them)",
        ]
        return "\n".join(lines)


def find_leftovers() -> Leftovers:
    """Look at what is there (reads only; never raises for an unreadable credentials file)."""
    credentials = paths.aws_credentials_file()
    problem: str | None = None
    try:
        sections = tuple(sorted(credfile.owned_sections(credentials)))
        if sections:
            # owned_sections finds our sections in a file remove_sections would still refuse
            # to edit (a line botocore rejects): read_section checks that, as the edit will.
            credfile.read_section(credentials, sections[0])
    except AppError as exc:
        sections, problem = (), exc.message
    entry = autostart.autostart_file()
    running = engine_lock.engine_running()
    return Leftovers(
        credentials_file=credentials,
        credential_sections=sections,
        credentials_problem=problem,
        autostart_entry=entry if os.path.lexists(entry) else None,
        folders=_our_folders(),
        aws_config_file=paths.aws_config_file(),
        sso_cache_dir=paths.sso_cache_dir(),
        cli_cache_dir=paths.cli_cache_dir(),
        running_pid=(engine_lock.running_pid() or 0) if running else None,
    )


def _our_folders() -> tuple[Folder, ...]:
    """Settings, logs, state: present ones, merged where a platform puts two in one folder
    (macOS and Windows keep settings and state together), nested ones kept in this order."""
    wanted = [
        (paths.config_dir(), "settings"),
        (paths.log_dir(), "log"),
        (paths.state_dir(), f"state ({STATE_CONTENTS})"),
    ]
    merged: dict[Path, list[str]] = {}
    for path, holds in wanted:
        merged.setdefault(path, []).append(holds)
    folders = [Folder(path, " and ".join(holds)) for path, holds in merged.items()]
    for folder in folders:
        _check_ours(folder.path)
    # A folder holding the state folder would take the ownership records with it: last.
    state = paths.state_dir()
    folders.sort(key=lambda f: _contains(f.path, state))
    return tuple(f for f in folders if os.path.lexists(f.path))


def remove_leftovers(leftovers: Leftovers) -> list[str]:
    """Remove what `leftovers` lists; one line per thing removed.

    Raises AlreadyRunningError while a tray or daemon runs (nothing is removed), ConfigError
    when the credentials file could not be read when they were found (nothing is removed: the
    records needed to find our sections there would go with the state folder).
    """
    _refuse_unsafe(leftovers)
    done: list[str] = []
    lock_file = engine_lock.lock_file()
    # Holding the engine lock: a running engine is a refusal, and none can start meanwhile.
    state_existed = os.path.lexists(paths.state_dir())
    deferred: list[Folder] = []
    with engine_lock.InstanceLock("uninstall"):
        done.extend(_remove_files(leftovers))
        for folder in leftovers.folders:
            if _contains(folder.path, lock_file):
                deferred.append(folder)
            elif _remove_tree(folder.path):
                done.append(f"removed the {folder.holds} folder {folder.path}")
    for folder in deferred:
        if _remove_tree(folder.path):
            done.append(f"removed the {folder.holds} folder {folder.path}")
    if not state_existed:
        # Taking the lock created the state folder; it was not there before: take it away.
        _remove_tree(paths.state_dir())
    for line in done:
        log.info("uninstall: %s", line)
    return done


def _refuse_unsafe(leftovers: Leftovers) -> None:
    """Raise when removing anything now could leave our sections behind or pull files from
    under a running engine."""
    if leftovers.credentials_problem:
        raise ConfigError(
            f"{leftovers.credentials_file}: {leftovers.credentials_problem}; fix it so uninstall "
            "can find the sections it created, then run `aws-sso-tray uninstall` again"
        )
    if engine_lock.engine_running():
        pid = engine_lock.running_pid()
        raise AlreadyRunningError(
            f"aws-sso-tray is running{f' (pid {pid})' if pid else ''}: quit the tray or stop "
            "the daemon first, then run `aws-sso-tray uninstall` again"
        )


def _remove_files(leftovers: Leftovers) -> list[str]:
    """Our sections of the credentials file and the start-at-login entry; what went."""
    done: list[str] = []
    if leftovers.credential_sections:
        removed = credfile.remove_sections(
            leftovers.credentials_file, leftovers.credential_sections
        )
        if removed:
            names = ", ".join(f"[{name}]" for name in removed)
            done.append(f"removed {names} from {leftovers.credentials_file}")
    if leftovers.autostart_entry is not None and _remove_file(leftovers.autostart_entry):
        done.append(f"removed the start-at-login entry {leftovers.autostart_entry}")
    return done


def _contains(folder: Path, path: Path) -> bool:
    """True when `path` is `folder` or lies inside it."""
    folder, path = Path(folder).resolve(), Path(path).resolve()
    return path == folder or folder in path.parents


def _check_ours(folder: Path) -> None:
    """Refuse a folder whose removal would take the user's own files (a misconfigured path)."""
    home = Path("~").expanduser().resolve()
    shared = (
        paths.aws_config_file(),
        paths.aws_credentials_file(),
        paths.sso_cache_dir(),
        paths.cli_cache_dir(),
        home,
    )
    if any(_contains(folder, other) for other in shared) or folder == Path(folder.anchor):
        raise FileWriteError(
            f"refusing to remove {folder}: it holds files that are not aws-sso-tray's; "
            "remove aws-sso-tray's files there by hand"
        )


def _remove_file(path: Path) -> bool:
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise FileWriteError(f"cannot remove {path}: {exc.strerror}; remove it by hand") from exc
    return True


def _remove_tree(path: Path) -> bool:
    if not os.path.lexists(path):
        return False
    if path.is_symlink() or not path.is_dir():
        return _remove_file(path)  # a link to a folder: remove the link, not what it points at
    try:
        shutil.rmtree(path)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise FileWriteError(f"cannot remove {path}: {exc.strerror}; remove it by hand") from exc
    return True


__all__ = ["Folder", "Leftovers", "find_leftovers", "remove_leftovers"]
