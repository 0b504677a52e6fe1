"""The emulator's HTTP face: routes, wire format, faults, latency and the request log.

One `ThreadingHTTPServer` on 127.0.0.1 (HTTPS when given an `ssl_context`) answers the sso-oidc
API, the sso portal API and the browser pages; paths, methods, status codes and error shapes
follow botocore's models so that a stock boto3 client pointed here with AWS_ENDPOINT_URL_SSO /
AWS_ENDPOINT_URL_SSO_OIDC cannot tell it from AWS. The service logic lives in `state.py`, the
HTML in `pages.py`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import ssl
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from aws_sso_tray.emulator import pages, signin, sts
from aws_sso_tray.emulator.state import ApiError, EmulatorConfig, IdentityCenter, IssuedLogin

log = logging.getLogger("aws_sso_tray.emulator")

OIDC_OPS = frozenset({"RegisterClient", "StartDeviceAuthorization", "CreateToken"})
PORTAL_OPS = frozenset({"GetRoleCredentials", "ListAccounts", "ListAccountRoles", "Logout"})
API_OPS = OIDC_OPS | PORTAL_OPS | sts.OPS
FAULT_KINDS = frozenset({"5xx", "throttle", "latency", "drop", "hold"})

# (method, path) -> operation name, as botocore's models name them.
_ROUTES: dict[tuple[str, str], str] = {
    ("POST", "/client/register"): "RegisterClient",
    ("POST", "/device_authorization"): "StartDeviceAuthorization",
    ("POST", "/token"): "CreateToken",
    ("GET", "/federation/credentials"): "GetRoleCredentials",
    ("GET", "/assignment/accounts"): "ListAccounts",
    ("GET", "/assignment/roles"): "ListAccountRoles",
    ("POST", "/logout"): "Logout",
    ("POST", "/"): sts.ROUTE,  # STS (emulator/sts.py): the form body's Action names the operation
    ("GET", "/"): "page:/",
    ("GET", "/authorize"): "page:/authorize",
    ("POST", "/authorize/decision"): "page:/authorize/decision",
    ("GET", "/device"): "page:/device",
    ("POST", "/device/decision"): "page:/device/decision",
    ("GET", "/federation"): "Federation",  # signin.py: GetSigninToken and Action=login
    ("GET", "/console"): "page:/console",
}
_BEARER_HEADER = "x-amz-sso_bearer_token"
# AWS sends the error type with a namespace suffix; botocore keeps the part before ':'.
_ERROR_TYPE_SUFFIX = ":http://internal.amazon.com/coral/com.amazon.switchboard.portal/"
_MAX_BODY = 1 << 20


@dataclass(frozen=True)
class RequestRecord:
    """One request: botocore operation name (or `page:/path`), the real wall time it arrived
    (before any latency), the answer's status and the path (never the query string).

    `status` is 0 when no answer was sent (a "drop" fault, or stop() during a slow answer). A
    request is logged before its answer leaves, so it is in the log once the caller has it.
    """

    op: str
    time: float
    status: int
    path: str


@dataclass
class _Fault:
    op: str | None
    kind: str
    remaining: int
    delay: float


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Never wait for idle keep-alive connections on close: stop() shuts them down itself.
    block_on_close = False
    emulator: Emulator
    ssl_context: ssl.SSLContext | None = None

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, address = super().get_request()
        if self.ssl_context is not None:
            # The handshake runs in the connection's own thread (`_Handler.setup`): done here,
            # one slow or silent client would stall every other connection.
            conn = self.ssl_context.wrap_socket(
                conn, server_side=True, do_handshake_on_connect=False
            )
        return conn, address

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, (ssl.SSLError, ConnectionError, TimeoutError)):
            # A client that does not trust the test CA, or stop()'s wake-up connection.
            log.debug("TLS handshake with %s failed: %s", client_address, error)
            return
        super().handle_error(request, client_address)


class Emulator:
    """A local IAM Identity Center (OIDC + portal + browser pages) on 127.0.0.1.

    See the package docstring for the behaviour and the choices made where AWS leaves room.
    """

    def __init__(
        self, config: EmulatorConfig | None = None, *, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        """`ssl_context` (a server-side context with its certificate loaded): serve HTTPS."""
        self.center = IdentityCenter(config if config is not None else EmulatorConfig())
        self._ssl_context = ssl_context
        self.signin = signin.Federation(self.center)
        self._url: str | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._requests: list[RequestRecord] = []
        self._faults: list[_Fault] = []
        self._connections: set[socket.socket] = set()
        self._held: list[threading.Event] = []  # requests waiting in a "hold" fault

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self, port: int = 0) -> str:
        """Bind 127.0.0.1:`port` (0: an ephemeral one), serve in a daemon thread, return the URL."""
        if self._server is not None:
            raise RuntimeError("emulator already started")
        server = _Server(("127.0.0.1", port), _Handler)
        server.emulator = self
        server.ssl_context = self._ssl_context
        self._server = server
        self._stopping.clear()
        scheme = "https" if self._ssl_context is not None else "http"
        self._url = f"{scheme}://127.0.0.1:{server.server_address[1]}"
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"emulator-{server.server_address[1]}",
            daemon=True,
        )
        self._thread.start()
        log.info("emulator listening on %s", self._url)
        return self._url

    def stop(self) -> None:
        """Stop serving, close open connections and join the thread (idempotent)."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._server = self._thread = None
        self._stopping.set()
        # shutdown() waits for serve_forever to look at its flag, which it does between
        # requests or every poll interval; a connection wakes it at once (a test suite stops
        # hundreds of emulators, a tenth of a second each otherwise).
        port = server.server_address[1]
        stopper = threading.Thread(target=server.shutdown, name="emulator-stop", daemon=True)
        stopper.start()
        while stopper.is_alive():  # the flag may be set just after a wake-up: wake it again
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
            stopper.join(0.02)
        server.server_close()
        with self._lock:
            connections, self._connections = list(self._connections), set()
        for conn in connections:
            # Idle keep-alive connections would otherwise keep answering after stop().
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if thread is not None:
            thread.join(timeout=5)
        log.info("emulator stopped")

    def __enter__(self) -> Emulator:
        if self._server is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def config(self) -> EmulatorConfig:
        """The live configuration: change fields (or replace it) at any time."""
        return self.center.config

    @config.setter
    def config(self, config: EmulatorConfig) -> None:
        self.center.config = config

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("emulator not started: call start() first")
        return self._url

    # -- observation and control ---------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        """A copy of the request log, oldest first."""
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def count(self, op: str) -> int:
        with self._lock:
            return sum(1 for r in self._requests if r.op == op)

    def inject_fault(
        self, op: str | None, kind: str, *, count: int = 1, delay: float = 0.0
    ) -> None:
        """Make the next `count` requests for `op` (None: any API operation) fail.

        kind: "5xx" InternalServerException 500; "throttle" TooManyRequestsException 429 on
        portal operations and SlowDownException 400 on OIDC ones (what AWS answers there);
        "latency" sleeps `delay` seconds and then answers normally; "drop" closes the connection
        without answering; "hold" keeps the request waiting until `release()` and then answers
        it (`held()` counts the waiting ones), so a test can order two clients' calls exactly.
        Pages are only affected when named ("page:/authorize"). Several faults for the same
        request are used up in the order they were injected.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}: use one of {sorted(FAULT_KINDS)}")
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._faults.append(_Fault(op, kind, count, delay))

    def held(self) -> int:
        """How many requests are waiting in a "hold" fault now."""
        with self._lock:
            return len(self._held)

    def release(self) -> None:
        """Let every request waiting in a "hold" fault go on to its answer."""
        with self._lock:
            for gate in self._held:
                gate.set()

    def _hold(self) -> bool:
        """Wait for `release()`; True when stop() came first."""
        gate = threading.Event()
        with self._lock:
            self._held.append(gate)
        try:
            while not gate.wait(0.05):
                if self._stopping.is_set():
                    return True
            return False
        finally:
            with self._lock:
                self._held.remove(gate)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _take_fault(self, op: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.op == op or (fault.op is None and op in API_OPS):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def _record(self, op: str, arrived: float, status: int, path: str) -> None:
        with self._lock:
            self._requests.append(RequestRecord(op, arrived, status, path))

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def role_calls(self, account_id: str, role_name: str) -> list[float]:
        """When (emulator time, epoch seconds) GetRoleCredentials was asked for this role,
        answered or refused, oldest first: the per-profile call count the tests check."""
        return self.center.role_calls(account_id, role_name)

    def issued_secrets(self) -> set[str]:
        """Every access/refresh token, client secret, secret key and session token issued."""
        return self.center.issued_secrets()

    def approve_device(self, user_code: str) -> None:
        self.center.decide_device(user_code, allow=True)

    def deny_device(self, user_code: str) -> None:
        self.center.decide_device(user_code, allow=False)

    def pending_user_codes(self) -> list[str]:
        """User codes of device logins waiting for Allow/Deny, oldest first."""
        return self.center.pending_user_codes()

    def login(
        self,
        *,
        start_url: str = "https://d-0000000000.awsapps.com/start",
        refresh: bool = True,
        scopes: tuple[str, ...] = ("sso:account:access",),
    ) -> IssuedLogin:
        """Register a client and log it in without HTTP or a browser: a fresh SSO session.

        With `refresh` the client is registered like `aws sso login` for an sso-session
        (auth code + refresh token grants) and gets a refresh token; without, like the legacy
        device-code registration, and gets none.
        """
        return self.center.login(start_url=start_url, refresh=refresh, scopes=scopes)

    def revoke_all(self) -> None:
        """Invalidate every access and refresh token (an administrator ended all sessions)."""
        self.center.revoke_all()

    def advance(self, seconds: float) -> None:
        """Move the emulator's clock forward: tokens, codes and sessions expire accordingly."""
        self.center.advance(seconds)

    def now(self) -> float:
        """The emulator's current time in epoch seconds (real time plus `advance()`s)."""
        return self.center.now()

    def sleep(self, seconds: float) -> bool:
        """Sleep unless stopped first; True when stop() interrupted it."""
        return self._stopping.wait(seconds) if seconds > 0 else False


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "aws-sso-tray-emulator"
    # An idle keep-alive connection is dropped after this long.
    timeout = 30

    def setup(self) -> None:
        super().setup()  # sets the timeout, so a silent client cannot hold the handshake
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.do_handshake()
        self.server.emulator._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.emulator._track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence http.server's stderr lines: the request log and our logger replace them."""

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # -- plumbing -------------------------------------------------------------------------------

    def _dispatch(self, method: str) -> None:
        emu = self.server.emulator
        parts = urlsplit(self.path)
        path = parts.path.rstrip("/") or "/"
        op = _ROUTES.get((method, path), "Unknown")
        self._op, self._log_path, self._recorded = op, path, False
        self._arrived = time.time()
        try:
            body = self._read_body()
            if op == sts.ROUTE:
                op = self._op = sts.action(body)
            fault = emu._take_fault(op)
            if fault is not None and fault.kind == "drop":
                log.info("%s %s: dropping the connection (injected)", op, path)
                self._record(0)
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if (
                not op.startswith("page:")
                and emu.config.latency > 0
                and emu.sleep(emu.config.latency)
            ):
                return
            if fault is not None and fault.kind == "latency" and emu.sleep(fault.delay):
                return
            if fault is not None and fault.kind == "hold" and emu._hold():
                return
            if fault is not None and fault.kind in ("5xx", "throttle"):
                raise _fault_error(op, fault.kind)
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            self._route(op, query, body)
        except ApiError as error:
            self._send_error(op, error)
        except OSError:
            # The client went away mid-answer: nothing to tell it.
            self.close_connection = True
        except Exception:
            log.exception("%s %s failed", op, path)
            self._send_error(op, ApiError("InternalServerException", "internal error"))
        finally:
            # Stopped mid-answer or the client left: logged as unanswered.
            self._record(0)

    def _record(self, status: int) -> None:
        """Log the request once, BEFORE its answer leaves, so a caller never sees an answer that
        the request log does not show yet."""
        if self._recorded:
            return
        self._recorded = True
        self.server.emulator._record(self._op, self._arrived, status, self._log_path)
        log.debug("%s %s %s -> %d", self.command, self._log_path, self._op, status)

    def _read_body(self) -> bytes:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            raise ApiError("InvalidRequestException", "bad Content-Length") from None
        if length > _MAX_BODY:
            self.close_connection = True
            raise ApiError("InvalidRequestException", "request body too large")
        return self.rfile.read(length) if length > 0 else b""

    def _json_body(self, body: bytes) -> dict[str, Any]:
        if not body.strip():
            return {}
        try:
            data = json.loads(body)
        except ValueError:
            raise ApiError("InvalidRequestException", "request body is not JSON") from None
        if not isinstance(data, dict):
            raise ApiError("InvalidRequestException", "request body must be a JSON object")
        return data

    def _route(self, op: str, query: dict[str, str], body: bytes) -> None:
        center = self.server.emulator.center
        token = self.headers.get(_BEARER_HEADER)
        handlers: dict[str, Callable[[], None]] = {
            "RegisterClient": lambda: self._send_json(
                center.register_client(self._json_body(body))
            ),
            "StartDeviceAuthorization": lambda: self._send_json(
                center.start_device_authorization(self._json_body(body), self._base_url())
            ),
            "CreateToken": lambda: self._create_token(query, body),
            "GetRoleCredentials": lambda: self._send_json(
                center.get_role_credentials(token, query.get("role_name"), query.get("account_id"))
            ),
            "ListAccounts": lambda: self._send_json(
                center.list_accounts(token, query.get("next_token"), query.get("max_result"))
            ),
            "ListAccountRoles": lambda: self._send_json(
                center.list_account_roles(
                    token, query.get("account_id"), query.get("next_token"), query.get("max_result")
                )
            ),
            "Logout": lambda: self._logout(token),
            "AssumeRole": lambda: self._sts(body),
            "page:/": lambda: self._send_html(200, pages.index_page(self._base_url())),
            "page:/authorize": lambda: self._authorize_page(query),
            "page:/authorize/decision": lambda: self._authorize_decision(body),
            "page:/device": lambda: self._device_page(query),
            "page:/device/decision": lambda: self._device_decision(body),
            "Federation": lambda: self._answer(self._signin.federation(query, self._base_url())),
            "page:/console": lambda: self._answer(self._signin.console_page(query)),
        }
        handler = handlers.get(op)
        if handler is None:
            raise ApiError("UnknownOperationException", f"no operation at {self.command} path")
        handler()

    def _create_token(self, query: dict[str, str], body: bytes) -> None:
        if "aws_iam" in query:
            raise ApiError("InvalidRequestException", "CreateTokenWithIAM is not emulated")
        self._send_json(self.server.emulator.center.create_token(self._json_body(body)))

    def _sts(self, body: bytes) -> None:
        center = self.server.emulator.center
        try:
            answer = sts.handle(center, self.command, self.path, dict(self.headers), body)
        except sts.StsError as error:
            self._send_sts_error(error)
            return
        self._send(200, answer, "text/xml")

    def _send_sts_error(self, error: sts.StsError) -> None:
        log.info("STS answered %s (%d)", error.code, error.status)
        self._send(error.status, sts.error_xml(error), "text/xml")

    def _logout(self, token: str | None) -> None:
        self.server.emulator.center.logout(token)
        self._send(200, b"", "application/json")

    def _base_url(self) -> str:
        return self.server.emulator.url

    # -- pages ----------------------------------------------------------------------------------

    def _form(self, body: bytes) -> dict[str, str]:
        return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))

    def _authorize_page(self, query: dict[str, str]) -> None:
        center = self.server.emulator.center
        try:
            client = center.check_authorize(query)
        except ApiError as error:
            # Unknown client or redirect: never redirect anywhere (RFC 6749 4.1.2.1).
            self._send_html(400, pages.error_page(error.description))
            return
        try:
            request = center.open_authorize(query)
        except ApiError as error:
            self._redirect(
                query["redirect_uri"],
                {"error": error.oauth_error, "error_description": error.description},
                query.get("state"),
            )
            return
        self._send_html(200, pages.authorize_page(client.name, request.scopes, request.request_id))

    def _authorize_decision(self, body: bytes) -> None:
        form = self._form(body)
        action = form.get("action")
        if action not in ("allow", "deny"):
            self._send_html(400, pages.error_page("choose Allow or Deny"))
            return
        try:
            request, code = self.server.emulator.center.decide_authorize(
                form.get("request_id", ""), allow=action == "allow"
            )
        except ApiError as error:
            self._send_html(400, pages.error_page(error.description))
            return
        if code is None:
            params = {"error": "access_denied", "error_description": "The user denied access"}
        else:
            params = {"code": code}
        self._redirect(request.redirect_uri, params, request.state)

    def _device_page(self, query: dict[str, str]) -> None:
        user_code = query.get("user_code", "").strip()
        if not user_code:
            self._send_html(200, pages.device_entry_page())
            return
        center = self.server.emulator.center
        try:
            status = center.device_status(user_code)
        except ApiError as error:
            self._send_html(400, pages.error_page(error.description))
            return
        if status != "pending":
            self._send_html(400, pages.error_page("this code was already used"))
            return
        self._send_html(200, pages.device_page(user_code.upper()))

    def _device_decision(self, body: bytes) -> None:
        form = self._form(body)
        action = form.get("action")
        if action not in ("allow", "deny"):
            self._send_html(400, pages.error_page("choose Allow or Deny"))
            return
        try:
            self.server.emulator.center.decide_device(
                form.get("user_code", ""), allow=action == "allow"
            )
        except ApiError as error:
            self._send_html(400, pages.error_page(error.description))
            return
        if action == "allow":
            page = pages.result_page("Request approved", "You can close this window.")
        else:
            page = pages.result_page("Request denied", "Access was denied. Close this window.")
        self._send_html(200, page)

    def _redirect(self, uri: str, params: dict[str, str], state: str | None) -> None:
        if state is not None:
            params = {**params, "state": state}
        parts = urlsplit(uri)
        query = f"{parts.query}&{urlencode(params)}" if parts.query else urlencode(params)
        location = urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.send_header("Cache-Control", "no-store")
        self._record(302)
        self.end_headers()

    # -- answers --------------------------------------------------------------------------------

    def _send(self, status: int, payload: bytes, content_type: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        for name, value in headers.items():
            self.send_header(name, value)
        self._record(status)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    @property
    def _signin(self) -> signin.Federation:
        return self.server.emulator.signin

    def _answer(self, answer: signin.Answer) -> None:
        self._send(answer.status, answer.body, answer.content_type, **answer.headers)

    def _send_json(self, data: dict[str, Any]) -> None:
        self._send(200, json.dumps(data).encode(), "application/json")

    def _send_html(self, status: int, html: str) -> None:
        self._send(status, html.encode("utf-8"), "text/html; charset=utf-8")

    def _send_error(self, op: str, error: ApiError) -> None:
        if op.startswith("page:"):
            self._send_html(error.status, pages.error_page(error.description))
            return
        if op in sts.OPS or op.startswith("sts:"):
            self._send_sts_error(sts.from_api_error(error.code, error.description))
            return
        if op in PORTAL_OPS:
            body: dict[str, str] = {"message": error.description}
        else:
            body = {"error": error.oauth_error, "error_description": error.description}
        log.info("%s answered %s (%d)", op, error.code, error.status)
        self._send(
            error.status,
            json.dumps(body).encode(),
            "application/json",
            **{"x-amzn-ErrorType": error.code + _ERROR_TYPE_SUFFIX},
        )


def _fault_error(op: str, kind: str) -> ApiError:
    if kind == "5xx":
        return ApiError("InternalServerException", "injected internal error")
    if op in PORTAL_OPS:
        return ApiError("TooManyRequestsException", "injected throttling: slow down")
    return ApiError("SlowDownException", "injected throttling: slow down")
