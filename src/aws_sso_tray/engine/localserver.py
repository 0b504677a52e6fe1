"""What the engine's local servers (the credentials endpoint, the dashboard) share: the file
that publishes them to this user's other processes, and stopping them at once.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

from aws_sso_tray.errors import AppError
from aws_sso_tray.files import atomicfile

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
STOP_TIMEOUT = 5.0  # seconds a request being answered may delay the stop


def publish(path: Path, document: dict[str, object]) -> None:
    """Write `document` (with our pid, so `unpublish` knows it) to `path`: 0600, atomic."""
    data = {"pid": os.getpid(), **document}
    atomicfile.write_atomic(path, json.dumps(data).encode("utf-8"), mode=0o600)


def unpublish(path: Path) -> None:
    """Remove `path` when this process published it (a newer engine's file stays)."""
    try:
        mine = json.loads(atomicfile.read_text(path) or "null")
        if isinstance(mine, dict) and mine.get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError, AppError) as exc:
        log.warning("cannot remove %s: %s", path, exc)


def shut_down(server: ThreadingHTTPServer) -> None:
    """Stop `server`'s loop now (a connection ends its wait) and close its socket."""
    stopping = threading.Thread(target=server.shutdown, daemon=True)
    stopping.start()
    wake(server)
    stopping.join(STOP_TIMEOUT)
    server.server_close()


def wake(server: ThreadingHTTPServer) -> None:
    """Make the server loop's wait for a connection end now."""
    with contextlib.suppress(OSError):
        socket.create_connection((HOST, server.server_address[1]), timeout=1).close()
