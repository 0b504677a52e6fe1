"""What `exec` gives a command: its environment, the nesting rule, and the run itself.

The command gets one profile's credentials, either as static keys or as the running engine's
local endpoint (`AWS_CONTAINER_CREDENTIALS_FULL_URI` + token, which a long command asks again
and again, so it never holds expired keys), and nothing that would let its SDK pick another
source. botocore's chain (the other SDKs' is alike) asks, in order: the environment's keys,
then the profile's config (assume-role, web identity, SSO, the credentials file,
credential_process, static keys), then the container endpoint, then the instance metadata. So:

- `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_CREDENTIAL_EXPIRATION`
  are replaced (with the endpoint: removed, or they would win over it); `AWS_SECURITY_TOKEN`,
  the old name of the session token that botocore and boto2 still read, and `AWS_ACCOUNT_ID`,
  which botocore pairs with the keys, are removed: left over, they would go with our keys.
- `AWS_PROFILE`, `AWS_DEFAULT_PROFILE`: removed, or a tool would pick that profile's own source
  (any tool that passes it on as `--profile`, and every SDK once the keys are gone).
- `AWS_CONTAINER_*`: the container provider (`..._RELATIVE_URI` wins over `..._FULL_URI`, and
  `..._AUTHORIZATION_TOKEN_FILE` over the token); removed, then set again with the endpoint.
- `AWS_WEB_IDENTITY_TOKEN_FILE`, `AWS_ROLE_ARN`, `AWS_ROLE_SESSION_NAME`: web identity, which
  comes before the container endpoint in the chain: removed.
- `AWS_CREDENTIAL_FILE`: the old EC2 tools' key file, which botocore still reads: removed.
- `AWS_CONFIG_FILE`, `AWS_SHARED_CREDENTIALS_FILE` stay: they choose which files the command
  reads (its regions, its other profiles), not a source, and with static keys the environment
  comes first. With the endpoint the default profile's own credentials would win, so
  `default_profile_source` finds them and the caller falls back to static keys.
- `AWS_REGION`, `AWS_DEFAULT_REGION`: the profile's region when it has one.
- `AWS_SSO_TRAY_EXEC=PROFILE` marks the command, so an `exec` inside it for another profile
  refuses (`check_nesting`) unless forced.

`run` starts the command, forwards SIGINT, SIGTERM and SIGHUP to it, and returns its exit code
(128+N when signal N ended it, as shells report it). Tokens travel in the environment only,
never in argv.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from aws_sso_tray.errors import AppError, UsageError

MARKER = "AWS_SSO_TRAY_EXEC"
STATIC_KEYS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
)
REMOVED = (
    *STATIC_KEYS,
    "AWS_SECURITY_TOKEN",
    "AWS_ACCOUNT_ID",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_CREDENTIAL_FILE",
)
REMOVED_PREFIXES = ("AWS_CONTAINER_",)
# Keys of a profile that give it credentials of its own (config or credentials file).
_SOURCE_KEYS = (
    "aws_access_key_id",
    "role_arn",
    "web_identity_token_file",
    "sso_session",
    "sso_start_url",
    "credential_process",
)
FORWARDED = ("SIGINT", "SIGTERM", "SIGHUP")


class CommandNotRunError(AppError):
    """The command could not be started; `status` is the shell's code for it (127, 126)."""

    title = "Command not run"

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def check_nesting(environ: Mapping[str, str], profile: str, *, force: bool) -> None:
    """UsageError when this runs inside an `exec` for another profile (and not `force`)."""
    outer = environ.get(MARKER)
    if outer and outer != profile and not force:
        raise UsageError(
            f"exec: already inside `aws-sso-tray exec {outer}`; running '{profile}' in it "
            "would mix two profiles' credentials: leave that shell first, or add --force"
        )


def child_environment(
    environ: Mapping[str, str],
    profile: str,
    credentials: Mapping[str, str],
    region: str | None,
) -> dict[str, str]:
    """`environ` without any other credential source, with `credentials` (static keys or the
    endpoint's two variables), the region and the marker."""
    env = {
        name: value
        for name, value in environ.items()
        if name not in REMOVED and not name.startswith(REMOVED_PREFIXES)
    }
    env.update(credentials)
    if region:
        env["AWS_REGION"] = env["AWS_DEFAULT_REGION"] = region
    env[MARKER] = profile
    return env


def default_profile_source(config_file: Path, credentials_file: Path) -> str | None:
    """Where the default profile has credentials of its own (which SDKs take before the
    container endpoint), as 'file: key'; None when it has none. Unreadable files count as none:
    the command's SDK will not read them either."""
    import configparser

    for path, section in ((config_file, "default"), (credentials_file, "default")):
        parser = configparser.RawConfigParser(strict=False, interpolation=None)
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, OSError, UnicodeError):
            continue
        if not parser.has_section(section):
            continue
        for key in _SOURCE_KEYS:
            if parser.get(section, key, fallback="").strip():
                return f"{path.name}: {key}"
    return None


def run(command: Sequence[str], env: Mapping[str, str]) -> int:
    """Run `command` with `env`, forwarding signals; its exit code, 128+N for signal N."""
    if not command:
        raise UsageError("exec: name a command to run: aws-sso-tray exec PROFILE -- COMMAND")
    try:
        child = subprocess.Popen(list(command), env=dict(env))
    except FileNotFoundError:
        raise CommandNotRunError(f"exec: command not found: {command[0]}", 127) from None
    except PermissionError:
        raise CommandNotRunError(f"exec: permission denied: {command[0]}", 126) from None
    except OSError as exc:
        raise CommandNotRunError(f"exec: cannot run {command[0]}: {exc.strerror}", 126) from None
    previous = _forward_signals(child)
    try:
        status = child.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 128 - status if status < 0 else status


def _forward_signals(child: subprocess.Popen[bytes]) -> dict[int, Any]:
    """Pass SIGINT, SIGTERM, SIGHUP on to `child` while it runs; the handlers they replace."""
    previous: dict[int, Any] = {}

    def forward(signum: int, _frame: FrameType | None) -> None:
        if signum == signal.SIGINT and _terminal_sent_it():
            return  # Ctrl-C reached the child already: the terminal signals its whole group
        if child.poll() is None:
            child.send_signal(signum)

    for name in FORWARDED:
        signum = getattr(signal, name, None)  # no SIGHUP on Windows
        if signum is not None:
            previous[signum] = signal.signal(signum, forward)
    return previous


def _terminal_sent_it() -> bool:
    """Whether a SIGINT most likely came from our terminal's Ctrl-C: we are its foreground
    process group, which the child shares, so it got the signal too (a shell waiting for a
    command ignores Ctrl-C for the same reason). A `kill -INT` from elsewhere is forwarded."""
    if os.name != "posix":
        return False
    try:
        return os.tcgetpgrp(0) == os.getpgrp()
    except OSError:
        return False  # no terminal: nobody but a sender reached us
