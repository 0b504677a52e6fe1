"""The tray's face of `configure`: a one-time page on 127.0.0.1, because pystray has no text input.

    page = start_configure_page()      # opens http://127.0.0.1:PORT/?t=TOKEN in the browser
    page.wait()                        # True once profiles were written; page.stop() ends it early
    page.new_url()                     # a fresh one-time link to the same page (the tray's "show")

The page walks through the same steps as the terminal (`configure.py` holds the flow): a form
for the start URL, region and (optional) profile-name template, "signing in..." while the
sign-in runs in another browser tab, a checklist of the portal's accounts and roles (and of
generated profiles whose role is gone) under a "Profile names" field holding the template in
use (the session's remembered one by default; "Rename" names the new choices again, a bad
template is one error line and writes nothing), then the result. The server stops itself
after success or after `timeout` (10 minutes).

Safety: bound to 127.0.0.1 on an ephemeral port. The URL we open is on the browser's command
line, readable by every local user, so its token is single-use and short-lived (`pagelink`): the
first GET exchanges it for an HttpOnly, SameSite=Strict cookie and a redirect to `/`, and every
later request needs that cookie; POST forms also need a hidden `token` field (a second random
value, only ever in the pages: a page of another origin can neither read it nor send the
cookie; CSRF-safe). A second use of the link from a browser without the cookie gets 403, is
logged as a warning and ends the page (`problem` says why), since either browser may be someone
else's; a link unused for 2 minutes ends the page too. Anything else without the cookie gets
403, and so does a Host header other than `127.0.0.1:PORT` (DNS rebinding). The pages load
nothing from elsewhere (a strict Content-Security-Policy says so), are never cached, and send no
Referer.
"""

from __future__ import annotations

import html
import logging
import secrets
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aws_sso_tray.aws.profiles import SsoSession
from aws_sso_tray.aws.tokens import SsoToken
from aws_sso_tray.errors import AppError, LoginNeededError
from aws_sso_tray.login.prompt import LoginPrompt
from aws_sso_tray.setup import configure, profilenames
from aws_sso_tray.setup.configure import ConfigureRequest, Outcome, RoleOffer, Selection
from aws_sso_tray.setup.pagelink import LINK_TTL, PageLink, Verdict

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 600.0
_MAX_BODY = 64 * 1024

__all__ = ["ConfigurePage", "start_configure_page"]


class ConfigurePage:
    """The page's server and the state of the one configure run it serves."""

    def __init__(
        self,
        *,
        config_path: Path | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        link_ttl: float = LINK_TTL,
    ) -> None:
        self.link = PageLink(ttl=link_ttl)
        self._first_token = self.link.new_token()
        self.form_token = secrets.token_urlsafe(24)
        self.problem: str | None = None  # why the page ended without profiles, for the face
        self.config_path = config_path
        self.timeout = timeout
        self.outcome: Outcome | None = None
        self._lock = threading.Lock()
        self._stage = "form"  # form | signing-in | choose | done | error
        self._message = ""
        self._prompt: LoginPrompt | None = None
        self._offer: RoleOffer | None = None
        self._signed_in: tuple[SsoSession, SsoToken] | None = None  # for renaming the offer
        self._cancel = threading.Event()
        self._finished = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._deadline = 0.0

    # -- life cycle ----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("configure page not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        """The first one-time link (what `start` opens); it works once, within 2 minutes."""
        return f"{self.base_url}/?t={self._first_token}"

    def new_url(self) -> str:
        """A fresh one-time link to this page; earlier unused links stop working."""
        return f"{self.base_url}/?t={self.link.new_token()}"

    def start(self, open_browser: bool = True) -> str:
        page = self
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(page))
        self._server.daemon_threads = True
        self._deadline = time.monotonic() + self.timeout
        self._thread = threading.Thread(target=self._serve, name="configure-page", daemon=True)
        self._thread.start()
        if open_browser:
            from aws_sso_tray.desktop.browser import open_url

            # A $BROWSER command may wait for the browser to exit: never hold up the caller.
            threading.Thread(
                target=open_url, args=(self.url,), name="configure-browser", daemon=True
            ).start()
        return self.url

    def _serve(self) -> None:
        assert self._server is not None
        self._server.timeout = 0.2
        while not self._finished.is_set() and time.monotonic() < self._deadline:
            self._server.handle_request()
            if self.link.expired_unused():
                self._end(
                    "the setup page's link expired unused (it works for 2 minutes): "
                    "start the setup again",
                    warn=False,
                )
        self._cancel.set()
        self._server.server_close()
        self._finished.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the page is done; True when profiles were written (or checked)."""
        self._finished.wait(timeout)
        if self._thread is not None:
            self._thread.join(1.0)
        return self.outcome is not None

    def _end(self, problem: str, *, warn: bool = True) -> None:
        """End the page without profiles, saying why (logged; the face shows `problem`)."""
        self.problem = problem
        (log.warning if warn else log.info)("configure page: %s", problem)
        self._cancel.set()
        self._finished.set()

    def stop(self) -> None:
        self._cancel.set()
        self._finished.set()
        if self._thread is not None:
            self._thread.join(2.0)

    # -- the flow, on a worker thread ------------------------------------------------------------

    def _begin(self, start_url: str, region: str, name_template: str = "") -> str | None:
        try:
            request = ConfigureRequest(
                configure.validate_start_url(start_url),
                configure.validate_region(region),
                # blank: the session's remembered template, else the default
                name_template=profilenames.check_template(name_template)
                if name_template.strip()
                else None,
            )
        except AppError as exc:  # shown on the form; nothing written yet
            return exc.message
        with self._lock:
            if self._stage not in {"form", "error"}:
                return None
            self._stage, self._message = "signing-in", ""
        threading.Thread(
            target=self._sign_in, args=(request,), name="configure-sign-in", daemon=True
        ).start()
        return None

    def _sign_in(self, request: ConfigureRequest) -> None:
        def on_prompt(prompt: LoginPrompt) -> None:
            with self._lock:
                self._prompt = prompt

        template = request.name_template
        try:
            session = configure.write_session(request, self.config_path)
            token = configure.sign_in(session, on_prompt=on_prompt, cancel=self._cancel)
            try:
                offer = self._offer_for(session, token, template)
            except LoginNeededError:
                # The cached token was refused (revoked, or lacks the account scope).
                token = configure.sign_in(
                    session, on_prompt=on_prompt, cancel=self._cancel, force=True
                )
                offer = self._offer_for(session, token, template)
        except AppError as exc:
            self._set("error", exc.message)
            return
        except Exception:
            log.exception("configure page: sign-in or portal scan failed")
            self._set("error", "something went wrong (see the log); try again")
            return
        with self._lock:
            self._offer, self._stage = offer, "choose"
            self._signed_in = (session, token)

    def _offer_for(self, session: SsoSession, token: SsoToken, template: str | None) -> RoleOffer:
        return configure.offer_roles(
            session, token, config_path=self.config_path, name_template=template
        )

    def _rename(self, name_template: str) -> str | None:
        """Name the new choices by another template (the portal is scanned again); the
        one-line error for a bad template, which leaves the choices as they were."""
        try:
            template = profilenames.check_template(name_template)
        except AppError as exc:
            return exc.message
        with self._lock:
            signed_in = self._signed_in
            if signed_in is None or self._stage != "choose":
                return None
            self._stage = "scanning"
        threading.Thread(
            target=self._scan_again, args=(*signed_in, template), name="configure-scan", daemon=True
        ).start()
        return None

    def _scan_again(self, session: SsoSession, token: SsoToken, template: str) -> None:
        try:
            offer = self._offer_for(session, token, template)
        except AppError as exc:
            self._set("error", exc.message)
            return
        except Exception:
            log.exception("configure page: portal scan failed")
            self._set("error", "something went wrong (see the log); try again")
            return
        with self._lock:
            self._offer, self._stage = offer, "choose"

    def _write(self, add: list[str], prune: list[str]) -> None:
        with self._lock:
            offer = self._offer
            if offer is None or self._stage != "choose":
                return
        keys = tuple(tuple(item.split(":", 1)) for item in add if ":" in item)
        try:
            outcome = configure.write_selection(
                offer, Selection(tuple((k[0], k[1]) for k in keys), tuple(prune))
            )
        except AppError as exc:
            self._set("error", exc.message)
            return
        with self._lock:
            self.outcome, self._stage = outcome, "done"

    def _set(self, stage: str, message: str) -> None:
        with self._lock:
            self._stage, self._message = stage, message

    # -- pages -----------------------------------------------------------------------------------

    def render(self, error: str = "") -> str:
        with self._lock:
            stage, message, prompt, offer, outcome = (
                self._stage,
                self._message,
                self._prompt,
                self._offer,
                self.outcome,
            )
        hidden = f'<input type="hidden" name="token" value="{html.escape(self.form_token)}">'
        if stage == "scanning":
            return _page("<h1>Reading the portal&hellip;</h1>", refresh="/")
        if stage == "signing-in":
            link = ""
            if prompt is not None:
                link = f'<p>If no sign-in tab opened, <a href="{html.escape(prompt.url)}" '
                link += 'target="_blank" rel="noreferrer">open the sign-in page</a>'
                if prompt.user_code:
                    link += f" and check it shows <b>{html.escape(prompt.user_code)}</b>"
                link += ".</p>"
            body = f"<h1>Signing in&hellip;</h1><p>Finish the sign-in in the other tab.</p>{link}"
            return _page(body, refresh="/")
        if stage == "choose" and offer is not None:
            rows = []
            for choice in offer.choices:
                role = choice.role
                label = html.escape(f"{role.account_name} ({role.account_id}) {role.role_name}")
                value = html.escape(f"{role.account_id}:{role.role_name}")
                if choice.configured:
                    rows.append(
                        f"<li><input type=checkbox checked disabled> {label}: profile "
                        f"{html.escape(choice.profile_name)}</li>"
                    )
                else:
                    rows.append(
                        f'<li><label><input type=checkbox name="role" value="{value}"> {label}'
                        f" &rarr; {html.escape(choice.profile_name)}</label></li>"
                    )
            prune = "".join(
                f'<li><label><input type=checkbox name="prune" value="{html.escape(p.name)}">'
                f" remove {html.escape(p.name)}</label></li>"
                for p in offer.prunable
            )
            if prune:
                prune = f"<h2>Generated profiles whose role is gone</h2><ul>{prune}</ul>"
            notes = [error, *offer.skipped] if error else offer.skipped
            warnings = "".join(f'<p class="error">{html.escape(w)}</p>' for w in notes)
            names = (
                f"<form method=post action=/names>{hidden}<p><label>Profile names<br>"
                '<input name="name_template" size=50 '
                f'value="{html.escape(offer.name_template)}"></label> <button>Rename</button>'
                f"<br><small>{html.escape(_TEMPLATE_HINT)}</small></p></form>"
            )
            body = (
                f"<h1>Choose profiles</h1>{warnings}{names}<form method=post action=/write>"
                f"{hidden}<ul>{''.join(rows)}</ul>{prune}<button>Write profiles</button></form>"
            )
            return _page(body)
        if stage == "done" and outcome is not None:
            added = ", ".join(outcome.added) or "none"
            removed = ", ".join(outcome.removed) or "none"
            body = (
                f"<h1>Done</h1><p>Added: {html.escape(added)}. Removed: {html.escape(removed)}."
                f"</p><p>Written to {html.escape(str(outcome.config_path))}. "
                "You can close this tab.</p>"
            )
            return _page(body)
        problem = error or (message if stage == "error" else "")
        note = f'<p class="error">{html.escape(problem)}</p>' if problem else ""
        body = (
            f"<h1>Set up AWS SSO profiles</h1>{note}<form method=post action=/start>{hidden}"
            '<p><label>AWS access portal URL<br><input name="start_url" size=50 '
            'placeholder="https://d-xxxxxxxxxx.awsapps.com/start" required></label></p>'
            '<p><label>IAM Identity Center region<br><input name="region" '
            'placeholder="us-east-1" required></label></p>'
            '<p><label>Profile names<br><input name="name_template" size=50 '
            f'placeholder="{html.escape(profilenames.DEFAULT_TEMPLATE)}"></label><br>'
            f"<small>{html.escape(_TEMPLATE_HINT)}</small></p>"
            "<button>Sign in</button></form>"
        )
        return _page(body)


_TEMPLATE_HINT = (
    "A template of {account_id}, {account_name}, {role_name}, {session}, {region}; "
    "blank: the one this session was set up with before, else the default"
)


def _page(body: str, refresh: str | None = None) -> str:
    meta = f'<meta http-equiv="refresh" content="2;url={refresh}">' if refresh else ""
    return (
        "<!doctype html><html><head><meta charset=utf-8><title>aws-sso-tray setup</title>"
        f"{meta}<style>body{{font-family:sans-serif;max-width:40em;margin:2em auto}}"
        "li{list-style:none}.error{color:#b00}</style></head>"
        f"<body>{body}</body></html>"
    )


_REUSED_PAGE = (
    "<h1>This link was already used</h1><p>The setup link works once, and another browser "
    "opened it first. If that was not you, another user of this computer may have read it: "
    "the setup page has been closed. Check your AWS config, then start the setup again.</p>"
)
_EXPIRED_PAGE = (
    "<h1>This link has expired</h1><p>The setup link works for 2 minutes. "
    "Start the setup again from the tray or with <code>aws-sso-tray configure --web</code>.</p>"
)


def _handler_for(page: ConfigurePage) -> Callable[..., BaseHTTPRequestHandler]:
    class Handler(_PageHandler):
        pass

    Handler.page = page
    return Handler


class _PageHandler(BaseHTTPRequestHandler):
    """One request to the configure page; `_handler_for` binds it to its `ConfigurePage`."""

    server_version = "aws-sso-tray"
    page: ConfigurePage

    def log_message(self, format: str, *args: Any) -> None:
        # The URLs carry the token: never write them anywhere.
        pass

    def _right_host(self) -> bool:
        port = self.page._server.server_address[1] if self.page._server else 0
        return self.headers.get("Host") == f"127.0.0.1:{port}"

    def _send(
        self,
        status: int,
        text: str,
        location: str | None = None,
        cookie: str | None = None,
    ) -> None:
        data = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header(
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
            "frame-ancestors 'none'",
        )
        if location:
            self.send_header("Location", location)
        if cookie:
            self.send_header("Set-Cookie", cookie)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        token = parse_qs(parts.query).get("t", [None])[0]
        if parts.path != "/" or not self._right_host():
            self._send(403, _page("<h1>Forbidden</h1>"))
            return
        self._answer_link(self.page.link.check(token, self.headers.get("Cookie")))

    def _answer_link(self, verdict: Verdict) -> None:
        page = self.page
        if verdict is Verdict.EXCHANGE:
            self._send(303, _page(""), location="/", cookie=page.link.set_cookie_header())
        elif verdict is Verdict.REDIRECT:
            self._send(303, _page(""), location="/")
        elif verdict is Verdict.OK:
            self._send(200, page.render())
        elif verdict is Verdict.REUSED:
            self._send(403, _page(_REUSED_PAGE))
            page._end(
                "the setup page's one-time link was opened a second time, by a browser "
                "without the page's cookie, so the page was closed. If you did not open it "
                "twice, another user of this computer may have read the link: check your "
                "AWS config for sections you did not add, then start the setup again"
            )
        elif verdict is Verdict.EXPIRED:
            self._send(403, _page(_EXPIRED_PAGE))
        else:
            self._send(403, _page("<h1>Forbidden</h1>"))

    def do_POST(self) -> None:
        page = self.page
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= _MAX_BODY:
            self._send(400, _page("<h1>Bad request</h1>"))
            return
        form = parse_qs(self.rfile.read(length).decode("utf-8", "replace"))
        path = urlsplit(self.path).path
        if not self._form_allowed(path, form.get("token", [None])[0]):
            self._send(403, _page("<h1>Forbidden</h1>"))
            return
        if path == "/start":
            error = page._begin(
                form.get("start_url", [""])[0],
                form.get("region", [""])[0],
                form.get("name_template", [""])[0],
            )
            if error:
                self._send(200, page.render(error))
                return
        elif path == "/names":
            error = page._rename(form.get("name_template", [""])[0])
            if error:
                self._send(200, page.render(error))
                return
        else:
            page._write(form.get("role", []), form.get("prune", []))
        self._send(303, page.render(), location="/")
        if page.outcome is not None:
            page._finished.set()  # the answer above was the last page

    def _form_allowed(self, path: str, token: str | None) -> bool:
        """A form of this page, posted from the browser that holds its cookie."""
        return (
            path in {"/start", "/names", "/write"}
            and self._right_host()
            and self.page.link.has_cookie(self.headers.get("Cookie"))
            and token is not None
            and secrets.compare_digest(token, self.page.form_token)
        )


def start_configure_page(
    open_browser: bool = True,
    *,
    config_path: Path | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    link_ttl: float = LINK_TTL,
) -> ConfigurePage:
    """Serve the configure page and (by default) open it; `.url`, `.wait()`, `.stop()`."""
    page = ConfigurePage(config_path=config_path, timeout=timeout, link_ttl=link_ttl)
    page.start(open_browser)
    return page
