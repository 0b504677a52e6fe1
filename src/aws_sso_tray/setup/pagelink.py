"""One-time links to the pages we serve on 127.0.0.1, exchanged for a cookie bound to one browser.

A URL we hand to a browser is on the browser's command line (`/proc/PID/cmdline`), which every
local user can read. So the token in such a URL is worth one request within `ttl` (2 minutes):

- the first GET carrying it gets a random session cookie (`HttpOnly; SameSite=Strict;
  Path=/`: no script reads it, no other site's page sends it) and a redirect to the page
  without the token; every later request must carry that cookie;
- a token already used is refused; when the request lacks the cookie, someone else has the
  link: `Verdict.REUSED`, for the page to refuse and report;
- an unused token expires after `ttl`, or when a newer link replaces it (`Verdict.EXPIRED`);
  `expired_unused()` says when nobody can get in any more.

Every local page we serve uses this class (the configure page is the first); it holds no server.
"""

from __future__ import annotations

import enum
import secrets
import threading
import time
from collections.abc import Callable
from http.cookies import CookieError, SimpleCookie

LINK_TTL = 120.0  # seconds an unused link stays valid
COOKIE_NAME = "aws_sso_tray_page"

__all__ = ["COOKIE_NAME", "LINK_TTL", "PageLink", "Verdict"]


class Verdict(enum.Enum):
    EXCHANGE = "exchange"  # a fresh link: set the cookie, redirect to the page without the token
    REDIRECT = "redirect"  # a spent link from the browser that holds the cookie: just redirect
    OK = "ok"  # no link, the right cookie
    REUSED = "reused"  # a spent link without the cookie: someone else has the URL
    EXPIRED = "expired"  # a link unused for longer than the ttl
    DENIED = "denied"  # no or an unknown link, and no cookie


class PageLink:
    """The links and the one session cookie of one local page. Thread-safe."""

    def __init__(self, *, ttl: float = LINK_TTL, clock: Callable[[], float] = time.monotonic):
        self.ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._live: dict[str, float] = {}  # unused token -> when it expires
        self._spent: set[str] = set()  # used once
        self._replaced: set[str] = set()  # never used, replaced by a newer link
        self._cookie: str | None = None

    def new_token(self) -> str:
        """A fresh one-time token for a URL; earlier unused ones stop working."""
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._replaced.update(self._live)
            self._live = {token: self._clock() + self.ttl}
        return token

    def has_cookie(self, cookie_header: str | None) -> bool:
        """Whether the request's `Cookie:` header carries this page's session cookie."""
        with self._lock:
            cookie = self._cookie
        if cookie is None or not cookie_header:
            return False
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(cookie_header)
        except CookieError:
            return False
        morsel = jar.get(COOKIE_NAME)
        return morsel is not None and secrets.compare_digest(morsel.value, cookie)

    def check(self, token: str | None, cookie_header: str | None) -> Verdict:
        """Judge a GET of the page with `?t=token` (or None) and its Cookie header."""
        holder = self.has_cookie(cookie_header)
        if token is None:
            return Verdict.OK if holder else Verdict.DENIED
        with self._lock:
            expires = next(
                (end for live, end in self._live.items() if secrets.compare_digest(live, token)),
                None,
            )
            if expires is not None:
                del self._live[token]
                self._spent.add(token)
                if self._clock() > expires:
                    return Verdict.EXPIRED
                if self._cookie is None:
                    self._cookie = secrets.token_urlsafe(32)
                return Verdict.EXCHANGE
            spent = any(secrets.compare_digest(used, token) for used in self._spent)
            replaced = any(secrets.compare_digest(old, token) for old in self._replaced)
        if replaced and not holder:
            return Verdict.EXPIRED
        if not spent:
            return Verdict.OK if holder else Verdict.DENIED
        return Verdict.REDIRECT if holder else Verdict.REUSED

    def set_cookie_header(self) -> str:
        """The `Set-Cookie:` value for an EXCHANGE (no Max-Age: it ends with the browser)."""
        with self._lock:
            cookie = self._cookie
        if cookie is None:
            raise RuntimeError("no link was exchanged yet")
        return f"{COOKIE_NAME}={cookie}; HttpOnly; SameSite=Strict; Path=/"

    def expired_unused(self) -> bool:
        """True when no browser got the cookie and every link has expired: nobody can get in."""
        with self._lock:
            if self._cookie is not None:
                return False
            now = self._clock()
            return all(now > end for end in self._live.values())
