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
