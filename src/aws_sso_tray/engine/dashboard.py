"""The dashboard: a local page, served by the engine's process, listing every session and profile.

While the tray or the daemon runs (`api.Service`), `DashboardServer` serves the page in
`aws_sso_tray/dashboard/` (plain HTML, CSS and JavaScript) on 127.0.0.1, a JSON view of the
engine's snapshot (`build_state`) that the page polls (a long poll: an answer as soon as the
snapshot changes, so a refresh shows without a reload), and the per-row actions (`POST /action`,
done by the `act` function `api.Service` gives it, the same calls the tray makes), with "Add
profile" on each portal role that has none and "Sync accounts from the portal" per session.

How a browser gets in (`setup/pagelink.py`, as the configure page): `aws-sso-tray dashboard`
asks the running engine for a fresh single-use link (`request_link`: a `POST /link` carrying the
secret of `dashboard.json`, a 0600 file of our 0700 state folder that names the port; the
secret never goes into a URL). The first GET of the link sets an HttpOnly, SameSite=Strict
cookie and redirects to `/`; a second use from a browser without that cookie is refused and
logged. Every request must name our Host (`127.0.0.1:PORT`: DNS rebinding) and, when it carries
an Origin or Sec-Fetch-Site, ours; every JSON request needs the cookie and the page's token in
the `X-Dashboard-Token` header (a second random value, only ever inside the page: another
origin's page can neither read it nor send the cookie), and a POST needs our Origin too. The
pages load nothing from elsewhere (a strict Content-Security-Policy) and are never cached.

Account names and the portal's roles without a profile come from a portal scan of each signed-in
session (`PortalScans`), made on a background thread at most every `SCAN_EVERY`, and again at
once after a sync (`PortalScans.again`).
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from aws_sso_tray.engine import localserver
from aws_sso_tray.errors import AppError
from aws_sso_tray.files import paths
from aws_sso_tray.setup.pagelink import PageLink, Verdict

if TYPE_CHECKING:
    from aws_sso_tray.aws.portal import PortalRole
    from aws_sso_tray.snapshot import Snapshot

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
DASHBOARD_FILE = "dashboard.json"
THREAD_NAME = "dashboard"
IDLE_POLL = 60.0  # seconds between the server loop's idle wake-ups; `stop` wakes it at once
LONG_POLL = 25.0  # seconds a `GET /state?v=N` waits for a change before answering the same
SCAN_EVERY = 900.0  # seconds between portal scans of one signed-in session
MAX_BODY = 16 * 1024
TOKEN_HEADER = "X-Dashboard-Token"  # noqa: S105 (a header name)
STATIC = {  # path -> (file in aws_sso_tray/dashboard/, content type)
    "/dashboard.js": ("dashboard.js", "text/javascript; charset=utf-8"),
    "/dashboard.css": ("dashboard.css", "text/css; charset=utf-8"),
}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

# act(request) -> {"message": ..., "copy": text for the clipboard}; the request is the page's JSON:
# "action", and "profile", "session" (its key), "account" and "role" as the action needs
Act = Callable[[Mapping[str, str]], Mapping[str, str]]
StateView = Callable[[], dict[str, Any]]


def dashboard_file() -> Path:
    return paths.state_dir() / DASHBOARD_FILE


# --- the JSON view of a snapshot ---------------------------------------------------------------


def build_state(
    snapshot: Snapshot,
    kept_fresh: Mapping[str, str],
    portal: Mapping[str, tuple[PortalRole, ...]],
) -> dict[str, Any]:
    """What the page shows: the snapshot's sessions and profiles (with the section each kept-fresh
    profile is written to, and the portal's account names), and per session the portal's roles
    that no profile uses yet."""
    document = snapshot.to_dict()
    names = {r.account_id: r.account_name for roles in portal.values() for r in roles}
    used = {(p.session_key, p.account_id, p.role_name) for p in snapshot.profiles}
    for profile in document["profiles"]:
        profile["account_name"] = names.get(profile["account_id"], "")
        profile["kept_fresh"] = kept_fresh.get(profile["name"])
    document["unprofiled"] = [
        {"session_key": key, "account_id": r.account_id, "account_name": r.account_name}
        | {"role_name": r.role_name}
        for key, roles in portal.items()
        for r in roles
        if (key, r.account_id, r.role_name) not in used
    ]
    return document


class PortalScans:
    """The portal's roles of each signed-in session, scanned on a background thread when
    `wanted` names a session not scanned within `SCAN_EVERY`; `changed` is called after each."""

    def __init__(
        self,
        changed: Callable[[], None],
        scan: Callable[[str], tuple[PortalRole, ...]] | None = None,
    ) -> None:
        self._changed = changed
        self._scan = scan or scan_session
        self._lock = threading.Lock()
        self._roles: dict[str, tuple[PortalRole, ...]] = {}
        self._started: dict[str, float] = {}

    def roles(self) -> dict[str, tuple[PortalRole, ...]]:
        with self._lock:
            return dict(self._roles)

    def wanted(self, session_keys: Iterable[str]) -> None:
        now = time.monotonic()
        with self._lock:
            due = [k for k in session_keys if now - self._started.get(k, -SCAN_EVERY) >= SCAN_EVERY]
            for key in due:
                self._started[key] = now
        for key in due:
            threading.Thread(
                target=self._run, args=(key,), name="dashboard-portal-scan", daemon=True
            ).start()

    def again(self, key: str) -> None:
        """Scan `key` now (its portal changed: a sync), whenever it was last scanned."""
        with self._lock:
            self._started.pop(key, None)
        self.wanted((key,))

    def _run(self, key: str) -> None:
        try:
            roles = self._scan(key)
        except AppError as exc:
            log.info("dashboard: no portal scan of %s: %s", key, exc.message)
            return
        except Exception:
            log.exception("dashboard: the portal scan of %s failed", key)
            return
        with self._lock:
            self._roles[key] = roles
        self._changed()


def scan_session(session_key: str) -> tuple[PortalRole, ...]:
    """Every (account, role) the signed-in session `session_key` may use (no browser: a session
    that needs a sign-in raises LoginNeededError)."""
    from aws_sso_tray.aws import clients, portal, profiles, tokens

    found = [s for s in profiles.sessions(profiles.load_profiles()) if s.cache_key == session_key]
    if not found:
        return ()
    with clients.session_ca_bundle(found[0].name, found[0].start_url):  # as `login` does
        token = tokens.valid_token(found[0])
        return portal.scan(token.access_token, found[0].region)


# --- the server ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    pid: int
    port: int
    secret: str


class DashboardServer:
    """The dashboard of this engine: `start()`, `changed()` when the state may have changed,
    `new_url()` for a fresh single-use link, `stop()` at exit (which removes the file)."""

    def __init__(self, state: StateView, act: Act) -> None:
        self._state = state
        self._act = act
        self.link = PageLink()
        self.page_token = secrets.token_urlsafe(24)
        self._secret = secrets.token_urlsafe(32)
        self._version = 0
        self._changes = threading.Condition()
        self._stopping = False
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        # kept after stop(): a request accepted just before the server closed still checks it
        self._port: int | None = None

    @property
    def port(self) -> int:
        assert self._port is not None, "start the dashboard first"
        return self._port

    @property
    def origin(self) -> str:
        return f"http://{HOST}:{self.port}"

    def new_url(self) -> str:
        """A fresh single-use link to the page; earlier unused links stop working."""
        return f"{self.origin}/?t={self.link.new_token()}"

    def start(self) -> None:
        server = _Server((HOST, 0), _Handler)
        server.daemon_threads = True
        server.dashboard = self  # type: ignore[attr-defined]
        self._server = server
        self._port = int(server.server_address[1])
        self._thread = threading.Thread(
            target=server.serve_forever, args=(IDLE_POLL,), name=THREAD_NAME, daemon=True
        )
        self._thread.start()
        localserver.publish(dashboard_file(), {"port": self.port, "secret": self._secret})
        log.info("dashboard on %s", self.origin)

    def changed(self, _snapshot: object = None) -> None:
        """The state may have changed: answer the waiting polls (an engine subscriber)."""
        with self._changes:
            self._version += 1
            self._changes.notify_all()

    def state(self, seen: int | None) -> dict[str, Any]:
        """The state, once it differs from version `seen` (or after LONG_POLL)."""
        deadline = time.monotonic() + LONG_POLL
        with self._changes:
            while seen == self._version and not self._stopping:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changes.wait(left)
            version = self._version
        return {"version": version, **self._state()}

    def act(self, request: Mapping[str, str]) -> Mapping[str, str]:
        try:
            return self._act(request)
        finally:
            self.changed()

    def secret_matches(self, given: str) -> bool:
        return hmac.compare_digest(given.encode(), f"Bearer {self._secret}".encode())

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        with self._changes:
            self._stopping = True
            self._changes.notify_all()
        localserver.unpublish(dashboard_file())
        localserver.shut_down(server)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # a closed tab: its waiting poll has nobody to answer
        log.exception("dashboard: a request failed")


def _static(name: str) -> bytes:
    from aws_sso_tray import read_package_file

    return read_package_file("aws_sso_tray", "dashboard", name)


_REUSED = (
    "<h1>This link was already used</h1><p>A dashboard link works once. If you did not open it "
    "twice, another user of this computer may have read it. Run <code>aws-sso-tray dashboard"
    "</code> for a new one.</p>"
)
_EXPIRED = (
    "<h1>This link has expired</h1><p>A dashboard link works once, for 2 minutes. Run "
    "<code>aws-sso-tray dashboard</code> or pick Open dashboard in the tray for a new one.</p>"
)


class _Handler(BaseHTTPRequestHandler):
    server_version = "aws-sso-tray"
    sys_version = ""

    @property
    def dashboard(self) -> DashboardServer:
        return self.server.dashboard  # type: ignore[attr-defined,no-any-return]

    def log_message(self, format: str, *args: object) -> None:
        pass  # the request line of a link carries its token: never written anywhere

    def _same_origin(self) -> bool:
        """Our Host, and our Origin and a same-origin fetch where the browser says."""
        board = self.dashboard
        if self.headers.get("Host") != f"{HOST}:{board.port}":
            return False
        origin = self.headers.get("Origin")
        if origin is not None and origin != board.origin:
            return False
        return self.headers.get("Sec-Fetch-Site") in (None, "same-origin", "none")

    def _page_request(self) -> bool:
        """A request of the page itself: the cookie and the page's token."""
        board = self.dashboard
        token = self.headers.get(TOKEN_HEADER) or ""
        return board.link.has_cookie(self.headers.get("Cookie")) and hmac.compare_digest(
            token.encode(), board.page_token.encode()
        )

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str = "text/html; charset=utf-8",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", CSP)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, document: object) -> None:
        self._send(status, json.dumps(document).encode(), "application/json")

    def _refuse(self, why: str) -> None:
        log.warning("dashboard: refused %s %s (%s)", self.command, urlsplit(self.path).path, why)
        self._send(403, _html("<h1>Forbidden</h1>"))

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if not self._same_origin():
            self._refuse("another origin")
            return
        board = self.dashboard
        if url.path == "/":
            token = parse_qs(url.query).get("t", [None])[0]
            self._answer_link(board.link.check(token, self.headers.get("Cookie")))
        elif url.path in STATIC and board.link.has_cookie(self.headers.get("Cookie")):
            name, content_type = STATIC[url.path]
            self._send(200, _static(name), content_type)
        elif url.path == "/favicon.ico":
            self._send(404, b"")
        elif url.path == "/state" and self._page_request():
            seen = parse_qs(url.query).get("v", [""])[0]
            self._json(200, board.state(int(seen) if seen.isdigit() else None))
        else:
            self._refuse("no cookie or page token")

    def _answer_link(self, verdict: Verdict) -> None:
        board = self.dashboard
        if verdict is Verdict.EXCHANGE:
            cookie = board.link.set_cookie_header()
            self._send(303, b"", headers={"Location": "/", "Set-Cookie": cookie})
        elif verdict is Verdict.REDIRECT:
            self._send(303, b"", headers={"Location": "/"})
        elif verdict is Verdict.OK:
            page = _static("index.html").replace(b"{{PAGE_TOKEN}}", board.page_token.encode())
            self._send(200, page)
        elif verdict is Verdict.REUSED:
            log.warning(
                "dashboard: a used link was opened again by a browser without the page's "
                "cookie: refused (another user of this computer may have read the link)"
            )
            self._send(403, _html(_REUSED))
        elif verdict is Verdict.EXPIRED:
            self._send(403, _html(_EXPIRED))
        else:
            self._refuse("no link and no cookie")

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        if not self._same_origin():
            self._refuse("another origin")
            return
        if path == "/link":
            # The CLI, with the published secret; a browser's request has an Origin: refused.
            given = self.headers.get("Authorization") or ""
            if self.headers.get("Origin") is not None or not self.dashboard.secret_matches(given):
                self._refuse("wrong or missing secret")
                return
            self._json(200, {"url": self.dashboard.new_url()})
            return
        if path != "/action" or self.headers.get("Origin") != self.dashboard.origin:
            self._refuse("not a POST of the page")
            return
        if not self._page_request():
            self._refuse("no cookie or page token")
            return
        request = self._body()
        if request is None:
            self._json(400, {"ok": False, "message": "bad request"})
            return
        self._perform(request)

    def _body(self) -> dict[str, str] | None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return None
        if not 0 < length <= MAX_BODY:
            return None
        try:
            data = json.loads(self.rfile.read(length))
        except ValueError:
            return None
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            return None
        return data

    def _perform(self, request: dict[str, str]) -> None:
        action = request.get("action", "")
        profile, session = request.get("profile", ""), request.get("session", "")
        try:
            answer = self.dashboard.act(request)
        except AppError as exc:
            log.warning("dashboard: %s %s: %s", action, profile or session, exc.message)
            self._json(200, {"ok": False, "message": exc.message})
            return
        except Exception:
            log.exception("dashboard: %s %s failed", action, profile or session)
            self._json(200, {"ok": False, "message": f"{action} failed: see the log"})
            return
        self._json(200, {"ok": True, **answer})


def _html(body: str) -> bytes:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>aws-sso-tray</title>"
        f"</head><body>{body}</body></html>"
    ).encode()


# --- the client: the CLI asks the running engine for a link -----------------------------------


def published() -> Published | None:
    """What the running engine published, or None when none runs or its file is not safe."""
    from aws_sso_tray.aws import enginecreds
    from aws_sso_tray.engine import lock

    if paths.folder_problem(paths.state_location()):
        return None
    data = enginecreds.read_private_json(str(dashboard_file()))
    if data is None:
        return None
    pid, port, secret = data.get("pid"), data.get("port"), data.get("secret")
    if type(pid) is not int or type(port) is not int or not isinstance(secret, str):
        return None
    # A file left by an engine that died names a port anyone may have bound since.
    if not lock.engine_running() or lock.running_pid() != pid:
        return None
    return Published(pid, port, secret)


def request_link(found: Published, timeout: float = 10.0) -> str:
    """A fresh single-use link from the running engine's dashboard (OSError, ValueError)."""
    import http.client

    conn = http.client.HTTPConnection(HOST, found.port, timeout=timeout)
    try:
        conn.request(
            "POST",
            "/link",
            body=b"",
            headers={"Authorization": f"Bearer {found.secret}", "Content-Length": "0"},
        )
        answer = conn.getresponse()
        body = answer.read(MAX_BODY)
    finally:
        conn.close()
    if answer.status != 200:
        raise ValueError(f"the dashboard answered {answer.status}")
    url = json.loads(body).get("url")
    if not isinstance(url, str) or not url.startswith(f"http://{HOST}:{found.port}/?t="):
        raise ValueError("the dashboard answered no link")
    return url
