"""The rotating log file of the tray and the daemon: private, and quiet when the disk is full.

The file is 0600 (the files rotation creates too, whatever the umask) and never opened through a
symlink. A record that cannot be written (a full disk, a vanished folder) costs one line on
stderr, then silence until a record gets through again: a long-running engine must neither
print "--- Logging error ---" and a traceback for every record nor stop keeping credentials fresh
because its log cannot grow.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any

from aws_sso_tray.files.atomicfile import give_to_folder_owner


class PrivateFileHandler(RotatingFileHandler):
    """A rotating log file that is 0600 and degrades quietly when it cannot be written."""

    def __init__(self, filename: Path, **kwargs: Any) -> None:
        self.failing = False  # the last record could not be written (said once on stderr)
        self._failed_now = False
        super().__init__(filename, **kwargs)

    def _open(self) -> io.TextIOWrapper:
        # O_NOFOLLOW: a symlink planted in place of the log must not get our records appended
        # to whatever it points at; the mode applies to files rotation creates as well.
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        existed = os.path.lexists(self.baseFilename)
        fd = os.open(self.baseFilename, flags, 0o600)
        try:
            if sys.platform != "win32":
                os.fchmod(fd, 0o600)
            if not existed:  # root's daemon must not leave the user a log they cannot open
                give_to_folder_owner(fd, Path(self.baseFilename))
            return open(fd, "a", encoding=self.encoding, errors=self.errors)
        except BaseException:
            os.close(fd)
            raise

    def emit(self, record: logging.LogRecord) -> None:
        self._failed_now = False
        super().emit(record)  # calls handleError on any failure
        if self.failing and not self._failed_now:
            self.failing = False

    def close(self) -> None:
        # Closing flushes: on a full disk that raises, and a face replacing its handlers (or
        # exiting) must not fail for a log line it could not keep. The descriptor is closed
        # all the same.
        with contextlib.suppress(OSError):
            super().close()

    def handleError(self, record: logging.LogRecord) -> None:
        self._failed_now = True
        if self.failing:
            return
        self.failing = True
        error = sys.exc_info()[1]
        reason = (error.strerror if isinstance(error, OSError) else None) or error
        try:
            sys.stderr.write(
                f"aws-sso-tray: cannot write the log file {self.baseFilename}: {reason}; "
                "logging to it pauses until it can write again\n"
            )
            sys.stderr.flush()
        except (OSError, ValueError, AttributeError):
            pass  # no stderr either: stay silent
