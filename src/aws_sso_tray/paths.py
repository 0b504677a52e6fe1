"""Where every file lives: the AWS files we share with the AWS CLI and SDKs, and our own.

AWS paths follow the same environment variables as botocore (`AWS_CONFIG_FILE`,
`AWS_SHARED_CREDENTIALS_FILE`) and expand `~` at call time, so tests and the demo can point
`HOME` elsewhere. Our own settings, state and logs go to the platform's user directories
(platformdirs: XDG on Linux, ~/Library on macOS, %LOCALAPPDATA% on Windows).
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "aws-sso-tray"


def _expand(value: str) -> Path:
    return Path(os.path.expandvars(os.path.expanduser(value)))


def aws_config_file() -> Path:
    return _expand(os.environ.get("AWS_CONFIG_FILE") or "~/.aws/config")


def aws_credentials_file() -> Path:
    return _expand(os.environ.get("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials")


def sso_cache_dir() -> Path:
    """The AWS CLI's SSO token cache (`~/.aws/sso/cache`)."""
    return _expand("~/.aws/sso/cache")


def cli_cache_dir() -> Path:
    """The AWS CLI's role-credential cache (`~/.aws/cli/cache`)."""
    return _expand("~/.aws/cli/cache")


def config_dir() -> Path:
    """Our settings (settings.toml)."""
    from platformdirs import user_config_path

    return user_config_path(APP_NAME, appauthor=False)


def state_dir() -> Path:
    """Our state: login times, the engine snapshot, instance and login locks, the demo's files."""
    from platformdirs import user_state_path

    return user_state_path(APP_NAME, appauthor=False)


def log_dir() -> Path:
    from platformdirs import user_log_path

    return user_log_path(APP_NAME, appauthor=False)
