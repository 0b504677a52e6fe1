"""Where every file lives: the AWS files we share with the AWS CLI and SDKs, and our own.

AWS paths follow the same environment variables as botocore (`AWS_CONFIG_FILE`,
`AWS_SHARED_CREDENTIALS_FILE`) and expand `~` at call time, so tests and the demo can point
`HOME` elsewhere. Our own settings, state and logs go to the platform's user directories
(platformdirs: XDG on Linux, ~/Library on macOS, %LOCALAPPDATA% on Windows).

`AWS_SSO_TRAY_HOME` moves everything, the AWS files and caches included, under one folder:
the demo runs a complete, separate world there so it never touches the user's real ~/.aws or
settings, while the browser it opens still runs with the user's real HOME.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (credential-process)
if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

APP_NAME = "aws-sso-tray"
HOME_VARIABLE = "AWS_SSO_TRAY_HOME"


# The AWS locations are computed as strings first: credential-process's fast path reads them
# without importing pathlib (a few milliseconds of a command that runs before every AWS call).


def _expand(value: str) -> str:
    return os.path.expanduser(os.path.expandvars(value))


def aws_dir_location() -> str:
    """`~/.aws` (or `$AWS_SSO_TRAY_HOME/aws`), as a string."""
    root = os.environ.get(HOME_VARIABLE)
    return os.path.join(_expand(root), "aws") if root else _expand("~/.aws")


def aws_config_location() -> str:
    explicit = os.environ.get("AWS_CONFIG_FILE")
    return _expand(explicit) if explicit else os.path.join(aws_dir_location(), "config")


def cli_cache_location() -> str:
    return os.path.join(aws_dir_location(), "cli", "cache")


def _path(location: str) -> Path:
    from pathlib import Path

    return Path(location)


def _override() -> Path | None:
    value = os.environ.get(HOME_VARIABLE)
    return _path(_expand(value)) if value else None


def aws_dir() -> Path:
    """`~/.aws` (or `$AWS_SSO_TRAY_HOME/aws`)."""
    return _path(aws_dir_location())


def aws_config_file() -> Path:
    return _path(aws_config_location())


def aws_credentials_file() -> Path:
    explicit = os.environ.get("AWS_SHARED_CREDENTIALS_FILE")
    return _path(_expand(explicit)) if explicit else aws_dir() / "credentials"


def sso_cache_dir() -> Path:
    """The AWS CLI's SSO token cache (`~/.aws/sso/cache`)."""
    return aws_dir() / "sso" / "cache"


def cli_cache_dir() -> Path:
    """The AWS CLI's role-credential cache (`~/.aws/cli/cache`)."""
    return _path(cli_cache_location())


def config_dir() -> Path:
    """Our settings (settings.toml)."""
    root = _override()
    if root:
        return root / "config"
    from platformdirs import user_config_path

    return user_config_path(APP_NAME, appauthor=False)


def state_dir() -> Path:
    """Our state: login times, the engine snapshot, instance and login locks."""
    root = _override()
    if root:
        return root / "state"
    return user_state_dir()


def user_state_dir() -> Path:
    """The user's own state folder, whatever `AWS_SSO_TRAY_HOME` says (the demo's home is there)."""
    from platformdirs import user_state_path

    return user_state_path(APP_NAME, appauthor=False)


def config_location() -> str:
    """`config_dir()` as a string, on Linux without importing platformdirs (see `_our_location`)."""
    return _our_location("config", "XDG_CONFIG_HOME", ".config", config_dir)


def state_location() -> str:
    """`state_dir()` as a string, on Linux without importing platformdirs."""
    return _our_location("state", "XDG_STATE_HOME", ".local/state", state_dir)


def _our_location(kind: str, xdg_variable: str, xdg_default: str, full: Callable[[], Path]) -> str:
    """credential-process's fast path needs our folders, and platformdirs (with pathlib) costs as
    much as the rest of that path. On Linux its rule is the XDG one: the variable when it holds an
    absolute path, else `$HOME/<default>` (tests compare the two). Anything less plain (another
    platform, a relative or missing HOME) asks platformdirs itself."""
    root = os.environ.get(HOME_VARIABLE)
    if root:
        return os.path.join(_expand(root), kind)
    if sys.platform == "linux" and "ANDROID_DATA" not in os.environ:
        base = os.environ.get(xdg_variable, "")
        if not base.startswith("/"):
            home = os.environ.get("HOME", "")
            base = os.path.join(home, xdg_default) if home.startswith("/") else ""
        if base:
            return os.path.join(base, APP_NAME)
    return str(full())


def log_dir() -> Path:
    root = _override()
    if root:
        return root / "log"
    from platformdirs import user_log_path

    return user_log_path(APP_NAME, appauthor=False)


def log_file() -> Path:
    """The rotating log of the long-running faces (tray and daemon)."""
    return log_dir() / "aws-sso-tray.log"


# Private folders: the caches and our own folders hold tokens, keys and records that decide what
# we write. Another local user who can write into one of them could swap a cache for their own
# (we would serve their keys) or plant a symlink (our next write would replace the file it points
# at), so before a private file is read or written its folders must belong to us and be closed
# to group and others. These checks are strings and `os.stat` only: credential-process's fast
# path runs them too.


def new_owner(folder: str) -> tuple[int, int] | None:
    """(uid, gid) to give what root creates in `folder`, or None to leave it root's.

    The rule: run as root, a file or folder we create gets the owner of the folder we create it
    in. Under `sudo -E` that is the user whose HOME it is (their own runs can open and replace
    it afterwards); in a container whose ~/.aws is mounted from the host it is the host user;
    in root's own folders it stays root's.
    """
    if os.name != "posix" or os.geteuid() != 0:
        return None
    try:
        st = os.stat(folder)
    except OSError:
        return None
    return None if st.st_uid == 0 else (st.st_uid, st.st_gid)


def trusted_owners() -> set[int]:
    """Who may own a folder we keep private files in: us; for root also the owners of $HOME
    and of ~/.aws (the user of `sudo -E`, a host user whose ~/.aws is mounted in)."""
    uid = os.geteuid() if os.name == "posix" else 0
    owners = {uid}
    if uid == 0:
        for location in (os.path.expanduser("~"), aws_dir_location()):
            try:
                owner = os.stat(location).st_uid
            except OSError:
                continue
            owners.add(owner)
    return owners


def folder_problem(location: str) -> str | None:
    """Why the existing folder at `location` must not hold private files, or None when it may.

    It may when it belongs to a `trusted_owners` user and neither group nor others
    can write to it. A group-writable folder is fine when the group is the owner's private group
    (named after them, with no other member: what `umask 002` distributions give every user, and
    what the AWS CLI's folders get there). A folder that does not exist yet is no problem: we
    create it 0700.
    """
    if os.name != "posix":
        return None  # Windows: the profile folder's ACLs are the user's already
    import stat

    try:
        st = os.stat(location)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"cannot check folder {location}: {exc.strerror}"
    if not stat.S_ISDIR(st.st_mode):
        return f"{location} is not a folder: move it away and try again"
    if st.st_uid not in trusted_owners():
        return (
            f"folder {location} belongs to another user (uid {st.st_uid}): if it is yours, "
            f"run `sudo chown -R $USER {location}`, else move it away"
        )
    group_writable = st.st_mode & stat.S_IWGRP and not _private_group(st.st_uid, st.st_gid)
    if st.st_mode & stat.S_IWOTH or group_writable:
        return f"folder {location} is writable by other users: run `chmod go-w {location}`"
    return None


def _private_group(uid: int, gid: int) -> bool:
    """True when `gid` is the user private group of `uid`: their primary group, named after
    them, with no other member."""
    try:
        import grp
        import pwd

        user = pwd.getpwuid(uid)
        group = grp.getgrgid(gid)
    except (ImportError, KeyError):
        return False
    return (
        user.pw_gid == gid and group.gr_name == user.pw_name and set(group.gr_mem) <= {user.pw_name}
    )
