"""Logging for every face (CLI, daemon, tray): stderr and a rotating file, secrets scrubbed.

Two defences keep secrets out of logs, because botocore logs whole request and response bodies
(tokens, client secrets, role keys) at DEBUG and `--debug` turns the root logger to DEBUG:
1. botocore's, urllib3's and boto3's loggers are capped at INFO, whatever the root level;
2. every handler we install runs `Redactor`, which masks the values of secret-bearing keys in
   any message (JSON, query strings, `key=value`, headers) and any value registered with
   `register_secret`.

The log file of the long-running faces is `logfile.PrivateFileHandler` (0600, quiet on a full
disk), imported only when a face asks for a file.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

MASK = "***"
_NOISY_LOGGERS = ("botocore", "boto3", "urllib3", "s3transfer", "asyncio", "PIL")
_SECRET_KEYS = (
    "accessToken",
    "refreshToken",
    "clientSecret",
    "secretAccessKey",
    "sessionToken",
    "SecretAccessKey",
    "SessionToken",
    "codeVerifier",
    "code_verifier",
    "deviceCode",
    "device_code",
    "code",
    "aws_secret_access_key",
    "aws_session_token",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "x-amz-sso_bearer_token",
    "Authorization",
)
_KEYS = "|".join(re.escape(k) for k in _SECRET_KEYS)
_PATTERNS = (
    # JSON / Python reprs: "accessToken": "value"  or 'accessToken': 'value'
    re.compile(rf"""(["']?(?:{_KEYS})["']?\s*[:=]\s*[b]?["'])([^"']+)(["'])""", re.IGNORECASE),
    # query strings, env lines and headers: key=value, key: value
    re.compile(rf"""(\b(?:{_KEYS})\b\s*[=:]\s*)([^\s&"',;}}]+)""", re.IGNORECASE),
)

_secrets: set[str] = set()
_secrets_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Mask this exact value wherever it appears in a log message from now on."""
    if value and len(value) >= 8:
        with _secrets_lock:
            _secrets.add(value)


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub(
            lambda m: m.group(1) + MASK + (m.group(3) if m.lastindex == 3 else ""), text
        )
    with _secrets_lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class Redactor(logging.Filter):
    """A handler filter that scrubs the rendered message (and traceback) of every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not lose the record
            message = f"{record.msg!r} {record.args!r}"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        record.exc_info = None
        return True


def setup_logging(
    *, debug: bool = False, log_file: Path | None = None, stderr_level: int | None = None
) -> None:
    """Configure the root logger once for this process (replacing earlier handlers)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    for name in _NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO if debug else logging.WARNING)

    stderr = logging.StreamHandler(sys.stderr)
    if stderr_level is None:
        stderr_level = logging.DEBUG if debug else logging.WARNING
    stderr.setLevel(stderr_level)
    stderr.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
    )
    stderr.addFilter(Redactor())
    root.addHandler(stderr)

    if log_file is not None:
        from aws_sso_tray.errors import AppError
        from aws_sso_tray.files import atomicfile
        from aws_sso_tray.files.logfile import (
            PrivateFileHandler,  # logging.handlers: not for the CLI
        )

        try:
            atomicfile.ensure_private_folder(log_file.parent)
            file_handler = PrivateFileHandler(
                log_file, maxBytes=1_000_000, backupCount=3, encoding="utf-8"
            )
        except (OSError, AppError) as exc:
            logging.getLogger(__name__).warning("cannot open log file %s: %s", log_file, exc)
        else:
            file_handler.setLevel(logging.DEBUG)
            file_handler.setFormatter(
                logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
            )
            file_handler.addFilter(Redactor())
            root.addHandler(file_handler)


_warned: set[tuple[str, str]] = set()
_warned_lock = threading.Lock()


def warn_once(logger: logging.Logger, key: tuple[str, str], message: str, *args: object) -> None:
    """A warning the first time this process sees `key` (say a file and its problem), DEBUG after.

    For a bad file the engine reads every cycle: one line in the log, not one a minute.
    """
    with _warned_lock:
        first = key not in _warned
        _warned.add(key)
    logger.log(logging.WARNING if first else logging.DEBUG, message, *args)


@contextlib.contextmanager
def warnings_forgotten_unless(kept: Callable[[], bool]) -> Iterator[None]:
    """Run the block; unless `kept()` is true afterwards, forget what `warn_once` said in it, so
    the next reader warns again as if it were the first (credential-process's lean cold fetch,
    which hands over to the full path, must not swallow the full path's warning)."""
    with _warned_lock:
        before = set(_warned)
    try:
        yield
    finally:
        if not kept():
            with _warned_lock:
                _warned.intersection_update(before)
