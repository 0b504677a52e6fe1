"""The emulator's AWS sign-in federation endpoint and console landing page.

`GET /federation?Action=getSigninToken&Session=JSON` takes role credentials the emulator issued
(`sessionId`, `sessionKey`, `sessionToken`, checked against what GetRoleCredentials handed out,
and not expired) and answers `{"SigninToken": ...}`, a token that lives `SIGNIN_TOKEN_TTL`
seconds (AWS: 15 minutes). `GET /federation?Action=login&SigninToken=...&Destination=URL`
redirects (302) to the console landing page `/console?session=ID`, which names the account, the
role and the destination the person would land on. Anything else is a 400 with a one-line text
body, as the real endpoint answers a request it refuses. Point a client at it with
`AWS_ENDPOINT_URL_SIGNIN=<emulator url>`.

Sign-in tokens and console sessions are counted among `issued_secrets()`, and never logged.
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from aws_sso_tray.emulator import pages
from aws_sso_tray.emulator.state import IdentityCenter, IssuedCredentials

SIGNIN_TOKEN_TTL = 15 * 60
CONSOLE_PAGE_TITLE = "AWS Management Console (emulator)"


@dataclass(frozen=True)
class Answer:
    """What the server sends back: status, body, type, and extra headers (`Location`)."""

    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Grant:
    credentials: IssuedCredentials
    expires_at: float


@dataclass(frozen=True)
class _ConsoleSession:
    credentials: IssuedCredentials
    destination: str


def _refused(message: str) -> Answer:
    return Answer(400, (message + "\n").encode("utf-8"))


class Federation:
    """The sign-in federation service over the emulated Identity Center's issued credentials."""

    def __init__(self, center: IdentityCenter) -> None:
        self.center = center
        self._lock = threading.Lock()
        self._tokens: dict[str, _Grant] = {}
        self._sessions: dict[str, _ConsoleSession] = {}

    def federation(self, query: dict[str, str], base_url: str) -> Answer:
        """`GET /federation`: getSigninToken or login, by `Action`."""
        action = query.get("Action", "")
        if action == "getSigninToken":
            return self._signin_token(query)
        if action == "login":
            return self._login(query, base_url)
        return _refused(f"unknown Action {action!r}: use getSigninToken or login")

    def _signin_token(self, query: dict[str, str]) -> Answer:
        try:
            session = json.loads(query.get("Session", ""))
        except ValueError:
            return _refused("Session must be a JSON object")
        if not isinstance(session, dict):
            return _refused("Session must be a JSON object")
        issued = self.center.issued_credentials(str(session.get("sessionId", "")))
        if (
            issued is None
            or not secrets.compare_digest(
                str(session.get("sessionKey", "")), issued.secret_access_key
            )
            or not secrets.compare_digest(
                str(session.get("sessionToken", "")), issued.session_token
            )
        ):
            return _refused("the session credentials are not valid")
        now = self.center.now()
        if issued.expires_at <= now:
            return _refused("the session credentials have expired")
        token = self.center.remember_secret(secrets.token_urlsafe(96))
        with self._lock:
            self._tokens[token] = _Grant(issued, now + SIGNIN_TOKEN_TTL)
        body = json.dumps({"SigninToken": token}).encode()
        return Answer(200, body, "application/json")

    def _login(self, query: dict[str, str], base_url: str) -> Answer:
        destination = query.get("Destination", "")
        parts = urlsplit(destination)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            return _refused("Destination must be a console URL")
        with self._lock:
            grant = self._tokens.get(query.get("SigninToken", ""))
        if grant is None or grant.expires_at <= self.center.now():
            return _refused("the sign-in token is not valid or has expired")
        session_id = self.center.remember_secret(secrets.token_urlsafe(24))
        with self._lock:
            self._sessions[session_id] = _ConsoleSession(grant.credentials, destination)
        location = f"{base_url}/console?session={session_id}"
        return Answer(302, b"", headers={"Location": location, "Cache-Control": "no-store"})

    def console_page(self, query: dict[str, str]) -> Answer:
        """`GET /console?session=ID`: the landing page of a console session."""
        with self._lock:
            found = self._sessions.get(query.get("session", ""))
        if found is None:
            html = pages.error_page("no console session: sign in through /federation")
            return Answer(403, html.encode("utf-8"), "text/html; charset=utf-8")
        creds = found.credentials
        message = (
            f"Signed in to account {creds.account_id} as role {creds.role_name}; "
            f"destination: {found.destination}"
        )
        html = pages.result_page(CONSOLE_PAGE_TITLE, message)
        return Answer(200, html.encode("utf-8"), "text/html; charset=utf-8")


__all__ = ["CONSOLE_PAGE_TITLE", "SIGNIN_TOKEN_TTL", "Answer", "Federation"]
