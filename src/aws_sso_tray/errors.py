"""The errors a user can see, each with a title, a one-line message and an exit code.

Every failure that reaches the CLI, the tray or a notification is an `AppError`. The CLI prints
`message` on one line and exits with `exit_code`; the tray shows `title` and `message`. Exit codes
are part of the public interface: they are listed in the README and never renumbered.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1  # anything not listed below (a bug: see the log / --debug)
    USAGE = 2  # bad command-line arguments (argparse's own code)
    CONFIG = 3  # ~/.aws/config malformed, unknown profile or sso-session, missing keys
    LOGIN_NEEDED = 4  # no valid SSO token, or it expired / was revoked
    LONG_TERM_KEYS = 5  # target section holds long-term keys; use --force
    FILE_ERROR = 6  # a file we must write is read-only, a directory, or otherwise unwritable
    NETWORK = 7  # endpoint unreachable or timed out
    THROTTLED = 8  # the service kept throttling after retries
    LOGIN_DENIED = 9  # the user pressed Deny / access denied
    LOGIN_TIMEOUT = 10  # the login window or device code expired before approval
    REGISTRATION = 11  # the OIDC client registration was rejected
    SERVICE = 12  # the service answered with an error we do not handle specially
    ALREADY_RUNNING = 13  # another tray/daemon instance (or login) is running
    NO_TRAY = 14  # no usable tray backend or tray host


class AppError(Exception):
    """An error meant for a person: what happened and what to do, on one line."""

    exit_code: ExitCode = ExitCode.ERROR
    title: str = "aws-sso-tray error"

    def __init__(self, message: str, *, title: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if title is not None:
            self.title = title

    def __str__(self) -> str:
        return self.message


class UsageError(AppError):
    """The command line itself is wrong (a missing argument argparse cannot express)."""

    exit_code = ExitCode.USAGE
    title = "Bad command line"


class ConfigError(AppError):
    exit_code = ExitCode.CONFIG
    title = "AWS config problem"


class LoginNeededError(AppError):
    exit_code = ExitCode.LOGIN_NEEDED
    title = "Login needed"


class LongTermKeysError(AppError):
    exit_code = ExitCode.LONG_TERM_KEYS
    title = "Refusing to overwrite long-term keys"


class FileWriteError(AppError):
    exit_code = ExitCode.FILE_ERROR
    title = "Cannot write file"


class NetworkError(AppError):
    exit_code = ExitCode.NETWORK
    title = "Endpoint unreachable"


class ThrottledError(AppError):
    exit_code = ExitCode.THROTTLED
    title = "Throttled by AWS"


class LoginDeniedError(AppError):
    exit_code = ExitCode.LOGIN_DENIED
    title = "Login denied"


class LoginTimeoutError(AppError):
    exit_code = ExitCode.LOGIN_TIMEOUT
    title = "Login timed out"


class RegistrationError(AppError):
    exit_code = ExitCode.REGISTRATION
    title = "Client registration rejected"


class ServiceError(AppError):
    exit_code = ExitCode.SERVICE
    title = "AWS service error"


class AlreadyRunningError(AppError):
    exit_code = ExitCode.ALREADY_RUNNING
    title = "Already running"


class NoTrayError(AppError):
    exit_code = ExitCode.NO_TRAY
    title = "No system tray"
