"""The sign-in's one-shot loopback receiver: an HTTP server on 127.0.0.1 (ephemeral port,
path /oauth/callback) that takes the browser's `?code=..&state=..` (or `?error=..`) once.

The PKCE flow in `flows` starts a `CallbackServer` before it opens the authorize URL and
waits on `done`; this module knows nothing of OIDC beyond the query it parses. It never logs
the query (it carries the authorization code), only the path asked for.
"""

from __future__ import annotations

import html
import logging
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger(__name__)

REDIRECT_PATH = "/oauth/callback"
REDIRECT_URI = f"http://127.0.0.1{REDIRECT_PATH}"  # registered without a port (RFC 8252)
_SERVE_POLL = 0.1  # how often the server thread checks for shutdown


@dataclass(frozen=True)
class CallbackResult:
    code: str | None
    error: str | None
    error_description: str | None


_PAGE = (
    '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
    "<style>body{{font-family:sans-serif;max-width:32em;margin:3em auto;padding:0 1em}}"
    "</style></head>\n<body><h1>{title}</h1>\n<p>{message}</p>\n</body></html>\n"
)


class _CallbackHandler(BaseHTTPRequestHandler):
    server: CallbackServer

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path != REDIRECT_PATH:
            self._answer(404, "Not found", "This address is not part of the sign-in.")
            return
        self.server.receive(self, parse_qs(parts.query))

    def _answer(self, status: int, title: str, message: str) -> None:
        body = _PAGE.format(title=html.escape(title), message=html.escape(message)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        # The URL carried the authorization code: keep it out of caches and Referer headers.
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        # http.server writes every request line (with the code in it) to stderr: say only
        # which path was asked for, never the query.
        log.debug("callback server: %s %s", self.command, urlsplit(self.path).path)


class CallbackServer(ThreadingHTTPServer):
    """The one-shot loopback receiver of `?code=..&state=..` (or `?error=..`).

    The authorize URL (with `state`) is on the browser's command line, which every local user
    can read in /proc, as with `aws sso login`; the PKCE verifier never leaves this process, so
    a code sent elsewhere is useless. To keep the window short, the first answer that carries
    the right state ends the server: it stops listening before it sends its page, so any later
    request is refused at connect. Requests with a wrong state or path are answered and do not
    count (else any local process could abort the login with one request).
    """

    daemon_threads = True
    block_on_close = False

    def __init__(self, expected_state: str) -> None:
        super().__init__(("127.0.0.1", 0), _CallbackHandler)
        self._expected_state = expected_state
        self._lock = threading.Lock()
        self.result: CallbackResult | None = None
        self.done = threading.Event()
        self.rejected = 0
        self._closed = False
        self._close_lock = threading.Lock()
        self._thread = threading.Thread(
            target=self.serve_forever,
            kwargs={"poll_interval": _SERVE_POLL},
            name="login-callback",
            daemon=True,
        )

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.port}{REDIRECT_PATH}"

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        """Stop listening (idempotent; callable from a handler's thread too)."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
            if self._thread.is_alive():
                self.shutdown()
            self.server_close()

    def receive(self, handler: _CallbackHandler, query: dict[str, list[str]]) -> None:
        state = _first(query, "state") or ""
        code = _first(query, "code")
        error = _first(query, "error")
        with self._lock:
            if self.done.is_set():
                handler._answer(
                    409, "Already done", "This sign-in has already finished: close this tab."
                )
                return
            if not secrets.compare_digest(state.encode(), self._expected_state.encode()):
                # A stale tab from an earlier login, or someone else's request: refuse it but
                # keep waiting for the real answer (failing here would let any local process
                # abort the login).
                self.rejected += 1
                log.warning("sign-in callback with a wrong state rejected; still waiting")
                handler._answer(
                    400,
                    "Not this sign-in",
                    "This sign-in answer does not belong to the login aws-sso-tray is "
                    "waiting for (an old tab?). Start the login again if needed.",
                )
                return
            if error is None and not code:
                handler._answer(400, "Incomplete", "The sign-in answer carried no code.")
                return
            self.result = CallbackResult(
                code=code if error is None else None,
                error=error,
                error_description=_first(query, "error_description"),
            )
            self.done.set()
        # The one answer is in: stop listening first, then answer on this connection.
        self.close()
        if error is None:
            handler._answer(
                200,
                "Signed in",
                "aws-sso-tray is signed in. You can close this tab and return to the app.",
            )
        else:
            handler._answer(
                200, "Sign-in not completed", "The sign-in was not allowed. You can close this tab."
            )


def _first(query: Mapping[str, list[str]], key: str) -> str | None:
    values = query.get(key)
    return values[0] if values else None
