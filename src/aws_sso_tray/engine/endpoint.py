"""The local credentials endpoint: the engine's process serves role credentials on 127.0.0.1.

While the tray or the daemon runs (`api.Service`), `CredentialsEndpoint` answers the
container-credentials protocol the AWS SDKs and the AWS CLI speak
(`AWS_CONTAINER_CREDENTIALS_FULL_URI` + `AWS_CONTAINER_AUTHORIZATION_TOKEN`): a GET on
`/profiles/NAME` with the profile's token in the `Authorization` header answers
`{"AccessKeyId", "SecretAccessKey", "Token", "Expiration"}`. The credentials are the AWS CLI role
cache's while they have more than `min_remaining` left (settings.toml, or the `min_remaining`
query parameter `credential-process` sends), else fresh ones from GetRoleCredentials
(`rolecreds.get_credentials`: this process has botocore and a client ready); so a client is
never handed credentials about to expire.

Who may ask: the server binds 127.0.0.1 only, and each SSO profile gets its own random token
for this run (`secrets.token_urlsafe(32)`, compared with `hmac.compare_digest`), so a container
given one profile's token gets nothing else. A wrong or missing token, or a Host that is not
ours (DNS rebinding), is 403 and logged, without the token. Tokens and the port are published
for this user only, in a 0600 file of our 0700 state folder (`endpoint.json`, read by
`aws/enginecreds.py`), removed when the engine stops; new profiles of the AWS config get a token
when the engine's snapshot first shows them. Neither tokens nor credentials are ever logged.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import threading
from collections.abc import Callable, Iterable
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

from aws_sso_tray import clock
from aws_sso_tray.aws import enginecreds
from aws_sso_tray.engine import localserver
from aws_sso_tray.errors import AppError, ConfigError
from aws_sso_tray.files import paths

if TYPE_CHECKING:
    from aws_sso_tray.aws.rolecreds import RoleCredentials
    from aws_sso_tray.snapshot import Snapshot

log = logging.getLogger(__name__)

THREAD_NAME = "credentials-endpoint"
IDLE_POLL = 60.0  # seconds between the server loop's idle wake-ups; `stop` wakes it at once
Fetch = Callable[[str, "timedelta | None"], "RoleCredentials"]


def endpoint_file() -> Path:
    return paths.state_dir() / enginecreds.ENDPOINT_FILE


def fetch_credentials(name: str, min_remaining: timedelta | None) -> RoleCredentials:
    """Role credentials of SSO profile `name` with more than `min_remaining` left (None: the
    settings' value), from the AWS CLI cache or GetRoleCredentials."""
    from aws_sso_tray.aws import chained, profiles
    from aws_sso_tray.files.settings import load_min_remaining

    needed = min_remaining if min_remaining is not None else load_min_remaining()
    profile = profiles.find_chained(name) or profiles.get_profile(name)  # chained: AssumeRole
    return chained.credentials_of(profile, min_remaining=needed)


def container_answer(creds: RoleCredentials) -> bytes:
    """The container-credentials document for `creds` (what botocore's provider reads)."""
    document = {
        "AccessKeyId": creds.access_key_id,
        "SecretAccessKey": creds.secret_access_key,
        "Token": creds.session_token,
        "Expiration": clock.format_time(creds.expiration) if creds.expiration else None,
    }
    return json.dumps(document).encode("utf-8")


class CredentialsEndpoint:
    """The endpoint of this engine: `start(profiles)`, `serve(names)` as profiles appear,
    `stop()` at exit (which removes the published file)."""

    def __init__(self, fetch: Fetch = fetch_credentials) -> None:
        self._fetch = fetch
        self._tokens: dict[str, str] = {}  # replaced whole, never changed: handlers read it
        self._changes = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._port: int | None = None  # kept after stop(): a request accepted as it stops
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self._port is not None, "start the endpoint first"
        return self._port

    def token_for(self, name: str) -> str | None:
        return self._tokens.get(name)

    def credentials(self, name: str, min_remaining: timedelta | None) -> RoleCredentials:
        return self._fetch(name, min_remaining)

    def start(self, names: Iterable[str] = ()) -> None:
        """Bind an ephemeral port on 127.0.0.1, serve on a thread, publish the file."""
        server = ThreadingHTTPServer((enginecreds.HOST, 0), _Handler)
        server.daemon_threads = True
        server.endpoint = self  # type: ignore[attr-defined]
        self._server = server
        self._port = int(server.server_address[1])
        self._thread = threading.Thread(
            target=server.serve_forever, args=(IDLE_POLL,), name=THREAD_NAME, daemon=True
        )
        self._thread.start()
        self.serve(names, publish=True)
        log.info("credentials endpoint on %s:%d", enginecreds.HOST, self.port)

    def serve(self, names: Iterable[str], *, publish: bool = False) -> None:
        """Give each new profile name a token, and republish when one was added. Tokens are
        never taken back during a run: a profile that leaves the config is refused by name."""
        with self._changes:
            new = [name for name in dict.fromkeys(names) if name not in self._tokens]
            if not new and not publish:
                return
            tokens = dict(self._tokens)
            tokens.update((name, secrets.token_urlsafe(32)) for name in new)
            self._tokens = tokens
            self._publish()

    def serve_snapshot(self, snapshot: Snapshot) -> None:
        """An engine subscriber: serve the profiles the engine shows."""
        self.serve(p.name for p in snapshot.profiles)

    def _publish(self) -> None:
        if self._server is None:
            return  # stopped: a late snapshot must not publish a file for a closed port
        localserver.publish(endpoint_file(), {"port": self.port, "profiles": self._tokens})

    def stop(self) -> None:
        """Stop serving and remove the published file (when it is still ours)."""
        server, self._server = self._server, None
        if server is None:
            return
        localserver.unpublish(endpoint_file())
        localserver.shut_down(server)


class _Handler(BaseHTTPRequestHandler):
    server_version = "aws-sso-tray"
    sys_version = ""

    def do_GET(self) -> None:
        from urllib.parse import unquote, urlsplit

        endpoint: CredentialsEndpoint = self.server.endpoint  # type: ignore[attr-defined]
        url = urlsplit(self.path)
        name = None
        if url.path.startswith(enginecreds.PATH_PREFIX):
            try:
                name = unquote(url.path[len(enginecreds.PATH_PREFIX) :], errors="strict")
            except UnicodeDecodeError:
                name = None
        expected = endpoint.token_for(name) if name else None
        given = self.headers.get("Authorization") or ""
        # compare_digest even for an unknown profile: the time says nothing about which exist.
        matches = hmac.compare_digest(given.encode(), (expected or "\0").encode())
        if expected is None or not matches or not self._our_host(endpoint.port):
            log.warning(
                "credentials endpoint: refused GET %s from %s (%s)",
                url.path[:200],
                self.client_address[0],
                "wrong or missing token" if expected is None or not matches else "foreign Host",
            )
            self._answer(403, _error("AccessDenied", "wrong or missing authorization token"))
            return
        assert name is not None
        try:
            creds = endpoint.credentials(name, _min_remaining(url.query))
        except AppError as exc:
            code = 404 if isinstance(exc, ConfigError) else 503
            log.warning("credentials endpoint: profile %s: %s", name, exc.message)
            self._answer(code, _error(type(exc).__name__, exc.message))
            return
        except Exception:
            log.exception("credentials endpoint: profile %s failed", name)
            self._answer(500, _error("InternalError", "see the aws-sso-tray log"))
            return
        self._answer(200, container_answer(creds))

    def _our_host(self, port: int) -> bool:
        host = self.headers.get("Host")
        return host in (f"{enginecreds.HOST}:{port}", f"localhost:{port}")

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        # The request line names a path (a profile), never a token: debug only.
        log.debug("credentials endpoint: " + format, *args)


def _min_remaining(query: str) -> timedelta | None:
    from urllib.parse import parse_qs

    values = parse_qs(query).get("min_remaining")
    if not values:
        return None
    try:
        seconds = float(values[0])
    except ValueError:
        return None
    return timedelta(seconds=seconds) if 0 < seconds < 12 * 3600 else None


def _error(code: str, message: str) -> bytes:
    return json.dumps({"code": code, "message": message}).encode("utf-8")
