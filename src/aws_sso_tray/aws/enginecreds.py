"""Asking the running engine for role credentials: the client side of the local endpoint.

While the tray or the daemon runs, it serves the container-credentials protocol on 127.0.0.1
(`engine/endpoint.py`) and publishes where, with one random token per profile, in a private
file of our state folder. This module reads that file and asks the endpoint, for two callers:

- `credential-process`'s cold path (`answer`, called by `launch.py` when the warm cache misses):
  the engine's process has botocore loaded and a client ready, so asking it costs one local
  request instead of importing botocore here (about 180 ms). Standard library only, and a raw
  HTTP/1.0 request on a socket rather than `http.client`, whose `email` and `ssl` imports alone
  cost as much as the rest of this path. It answers only when everything is plain: the file is
  a regular 0600 file of ours in a folder closed to others, the engine lock is held, by the pid
  the file names, and the endpoint answers 200 with usable credentials that have more than
  `min_remaining` left. Anything else returns None and the CLI takes the full path, which gives
  the same answer or explains the error.
- `export --format container` (`published`): the two variables the SDKs read.

The token authorises one profile's path; it is sent in a header, never in argv or a log.
"""

from __future__ import annotations

import json
import os
from types import SimpleNamespace

from aws_sso_tray import clock
from aws_sso_tray.aws import warmcache
from aws_sso_tray.files import paths

ENDPOINT_FILE = "endpoint.json"
LOCK_FILE = "engine.lock"  # engine/lock.py's names: the lock and the pid of its holder
PID_FILE = "engine.pid"
HOST = "127.0.0.1"
PATH_PREFIX = "/profiles/"
TIMEOUT = 30.0  # seconds: the engine may have to call GetRoleCredentials (and renew the token)
MAX_ANSWER = 64 * 1024
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


class Published:
    """What the running engine published: its pid, port and the token of each profile."""

    def __init__(self, pid: int, port: int, tokens: dict[str, str]) -> None:
        self.pid = pid
        self.port = port
        self.tokens = tokens

    def url(self, profile: str) -> str:
        """The profile's `AWS_CONTAINER_CREDENTIALS_FULL_URI`."""
        return f"http://{HOST}:{self.port}{profile_path(profile)}"


def endpoint_location() -> str:
    return os.path.join(paths.state_location(), ENDPOINT_FILE)


def profile_path(profile: str) -> str:
    """The URL path that serves `profile` (percent-encoded: a name may hold any character)."""
    quoted = "".join(chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in profile.encode())
    return PATH_PREFIX + quoted


def published() -> Published | None:
    """The running engine's endpoint, or None when no engine runs or its file is not safe."""
    state = paths.state_location()
    if paths.folder_problem(state):
        return None
    data = read_private_json(os.path.join(state, ENDPOINT_FILE))
    if data is None:
        return None
    pid, port, tokens = data.get("pid"), data.get("port"), data.get("profiles")
    if type(pid) is not int or type(port) is not int or not 0 < port < 65536:
        return None
    if not isinstance(tokens, dict):
        return None
    usable = {
        name: token
        for name, token in tokens.items()
        if isinstance(name, str) and isinstance(token, str) and _header_safe(token)
    }
    # A file left by an engine that died names a port anyone may have bound since: trust it
    # only while the engine lock is held, by the process that wrote it.
    if not _engine_running(state) or _engine_pid(state) != pid:
        return None
    return Published(pid, port, usable)


def answer(args: list[str]) -> str | None:
    """The credential_process JSON for `credential-process ARGS` from the running engine, or
    None to take the full path."""
    parsed = warmcache.parse_args(args)
    if parsed is None:
        return None
    profile, min_remaining_us = parsed
    if not os.path.exists(endpoint_location()):
        return None  # no engine: the common case costs one stat
    from datetime import timedelta

    if min_remaining_us is not None:
        min_remaining: timedelta | None = timedelta(microseconds=min_remaining_us)
    else:
        min_remaining = warmcache.settings_min_remaining()
    if min_remaining is None:
        return None
    found = published()
    token = found.tokens.get(profile) if found is not None else None
    if found is None or token is None:
        return None
    path = f"{profile_path(profile)}?min_remaining={int(min_remaining.total_seconds())}"
    try:
        body = _get(found.port, path, token)
        values = _credentials(json.loads(body)) if body is not None else None
    except (OSError, ValueError, UnicodeError):
        return None
    if values is None or values.expiration - clock.now() <= min_remaining:
        return None
    from aws_sso_tray.aws.formats import process_json

    return process_json(values)


def _credentials(data: object) -> SimpleNamespace | None:
    """The endpoint's answer as the four attributes `formats` reads; None when not usable."""
    if not isinstance(data, dict):
        return None
    key, secret, token = data.get("AccessKeyId"), data.get("SecretAccessKey"), data.get("Token")
    if not (warmcache.usable_key_text(key) and warmcache.usable_key_text(secret)):
        return None
    if token is not None and not warmcache.usable_key_text(token):
        return None
    try:
        expiration = clock.parse_time(data["Expiration"])
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    return SimpleNamespace(
        access_key_id=key,
        secret_access_key=secret,
        session_token=token or None,
        expiration=expiration,
    )


def _get(port: int, path: str, token: str) -> bytes | None:
    """The body of a 200 answer to GET `path`, or None for any other status."""
    import socket

    request = (
        f"GET {path} HTTP/1.0\r\nHost: {HOST}:{port}\r\nAuthorization: {token}\r\n"
        "Accept: application/json\r\n\r\n"
    ).encode("ascii")
    received: list[bytes] = []
    size = 0
    with socket.create_connection((HOST, port), timeout=TIMEOUT) as conn:
        conn.sendall(request)
        while chunk := conn.recv(65536):
            received.append(chunk)
            size += len(chunk)
            if size > MAX_ANSWER:
                return None
    head, blank, body = b"".join(received).partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0].split()
    if not blank or len(status) < 2 or not status[0].startswith(b"HTTP/") or status[1] != b"200":
        return None
    return body


def read_private_json(location: str) -> dict[str, object] | None:
    """The JSON object in `location` when it is a regular file of ours that only we can read
    (what a running engine publishes: this endpoint's file, and the dashboard's)."""
    import stat

    try:
        fd = os.open(location, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    with open(fd, encoding="utf-8") as handle:
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                return None
            if os.name == "posix" and (st.st_uid != os.geteuid() or st.st_mode & 0o077):
                return None
            data = json.load(handle)
        except (OSError, ValueError):
            return None
    return data if isinstance(data, dict) else None


def _engine_running(state: str) -> bool:
    """Whether the engine lock is held (the probe engine/lock.py's filelock would make, without
    importing it). False where there is no flock: the full path then answers."""
    try:
        import fcntl
    except ImportError:
        return False
    try:
        fd = os.open(os.path.join(state, LOCK_FILE), os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # closing also drops the shared lock the probe may have taken
    return False


def _engine_pid(state: str) -> int | None:
    try:
        fd = os.open(os.path.join(state, PID_FILE), os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with open(fd, encoding="utf-8") as handle:
            return int(handle.read(32).strip())
    except (OSError, ValueError):
        return None


def _header_safe(token: str) -> bool:
    """A token from `secrets.token_urlsafe`: nothing that could end a header line."""
    return bool(token) and token.isascii() and token.replace("-", "").replace("_", "").isalnum()
