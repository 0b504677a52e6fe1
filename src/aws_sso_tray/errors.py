"""The errors a user can see, each with a title, a one-line message and an exit code.

Every failure that reaches the CLI, the tray or a notification is an `AppError`. The CLI prints
`message` on one line and exits with `exit_code`; the tray shows `title` and `message`. Exit codes
are part of the public interface: they are listed in the README and never renumbered.

Each class also says what to do next (`recovery`), which is how the refresh engine decides
between waiting for a login, backing off and retrying, and stopping a profile until the user
fixes a file. `aws.clients.ERROR_CODES` maps the services' error codes onto these classes.
"""

from __future__ import annotations

from enum import Enum, IntEnum


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


class Recovery(Enum):
    """What gets a failed operation going again."""

    LOGIN = "login"  # a new SSO login: wait for the user (or open the login once)
    RETRY = "retry"  # transient (network, throttling, 5xx): back off with jitter and retry
    FIX = "fix"  # the user must fix a file or a permission: retrying cannot help


class AppError(Exception):
    """An error meant for a person: what happened and what to do, on one line."""

    exit_code: ExitCode = ExitCode.ERROR
    title: str = "aws-sso-tray error"
    recovery: Recovery = Recovery.RETRY

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
    recovery = Recovery.FIX


class LoginNeededError(AppError):
    exit_code = ExitCode.LOGIN_NEEDED
    title = "Login needed"
    recovery = Recovery.LOGIN


class LongTermKeysError(AppError):
    exit_code = ExitCode.LONG_TERM_KEYS
    title = "Refusing to overwrite long-term keys"
    recovery = Recovery.FIX


class FileWriteError(AppError):
    exit_code = ExitCode.FILE_ERROR
    title = "Cannot write file"
    # A chmod or a freed disk changes no content we watch: keep retrying (without refetching).
    recovery = Recovery.RETRY


class UnsafeFolderError(FileWriteError):
    """A folder that holds tokens, keys or our records belongs to another user or is writable
    by others: we neither read nor write there (exit code 6, as for an unwritable file)."""

    title = "Unsafe folder"


class NetworkError(AppError):
    exit_code = ExitCode.NETWORK
    title = "Endpoint unreachable"


class ThrottledError(AppError):
    exit_code = ExitCode.THROTTLED
    title = "Throttled by AWS"


class LoginDeniedError(AppError):
    exit_code = ExitCode.LOGIN_DENIED
    title = "Login denied"
    recovery = Recovery.LOGIN


class LoginTimeoutError(AppError):
    exit_code = ExitCode.LOGIN_TIMEOUT
    title = "Login timed out"
    recovery = Recovery.LOGIN


class RegistrationError(AppError):
    exit_code = ExitCode.REGISTRATION
    title = "Client registration rejected"
    recovery = Recovery.LOGIN


class ServiceError(AppError):
    exit_code = ExitCode.SERVICE
    title = "AWS service error"


class AlreadyRunningError(AppError):
    exit_code = ExitCode.ALREADY_RUNNING
    title = "Already running"


class NoTrayError(AppError):
    exit_code = ExitCode.NO_TRAY
    title = "No system tray"
    recovery = Recovery.FIX


class NoRoleAccessError(ServiceError):
    """The portal says this user may not use the profile's role in its account."""

    title = "No access to role"
    recovery = Recovery.FIX


class RequestRejectedError(ServiceError):
    """The service refused the request itself (a malformed account id, say): not transient."""

    title = "Request rejected by AWS"
    recovery = Recovery.FIX


# --- the one translation of a failure into what a person sees ------------------------------

PROG = "aws-sso-tray"


def describe(exc: BaseException) -> tuple[str, int]:
    """The one line a user sees for any failure, and the exit code that goes with it.

    Every entry point (the CLI, the tray, the daemon, configure) ends a failed run here, so the
    same failure reads and exits the same from each of them."""
    if isinstance(exc, AppError):
        return f"{PROG}: error: {exc.message}", int(exc.exit_code)
    if isinstance(exc, KeyboardInterrupt):
        return f"{PROG}: interrupted", 130
    # A bug: one line for the user; the traceback goes to the log and to --debug.
    return (
        f"{PROG}: unexpected error: {type(exc).__name__}: {exc} (rerun with --debug)",
        int(ExitCode.ERROR),
    )


def report(exc: BaseException, *, debug: bool = False) -> int:
    """Print `describe(exc)`'s line on stderr (the traceback first with `debug`, and into the
    log for a bug) and return the exit code. A closed stdout (`... | head`) is not a failure."""
    import sys

    if isinstance(exc, BrokenPipeError):
        return 0
    if not isinstance(exc, AppError | KeyboardInterrupt):
        import logging

        logging.getLogger(__name__).debug("unexpected error", exc_info=exc)
    if debug:
        import traceback

        traceback.print_exception(exc)
    line, code = describe(exc)
    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):  # no stderr left to tell (a closed terminal)
        pass
    return code
