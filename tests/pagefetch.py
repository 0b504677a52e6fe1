"""Fetch a local page as a test sees it: no proxy, no redirect followed, errors as statuses."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from typing import Any


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def fetch(url: str, form: dict[str, Any] | None = None) -> tuple[int, str]:
    """GET `url`, or POST `form` to it; returns (status, body)."""
    data = urllib.parse.urlencode(form, doseq=True).encode() if form is not None else None
    try:
        with _opener.open(url, data=data, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


class Browser:
    """One browser for our local pages: a cookie jar, redirects followed on GET, not on POST.

    Our pages hand out their session cookie in exchange for a one-time link (`pagelink`), so
    a test acting as the person's browser must keep cookies, as a browser does.
    """

    def __init__(self) -> None:
        import http.cookiejar

        self.jar = http.cookiejar.CookieJar()
        cookies = urllib.request.HTTPCookieProcessor(self.jar)
        self._follow = urllib.request.build_opener(urllib.request.ProxyHandler({}), cookies)
        self._stay = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), cookies, _NoRedirect()
        )

    def get(self, url: str, *, follow: bool = True) -> tuple[int, str]:
        return self._open(self._follow if follow else self._stay, url, None)

    def post(self, url: str, form: dict[str, Any]) -> tuple[int, str]:
        data = urllib.parse.urlencode(form, doseq=True).encode()
        return self._open(self._stay, url, data)

    @staticmethod
    def _open(opener: Any, url: str, data: bytes | None) -> tuple[int, str]:
        try:
            with opener.open(url, data=data, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()


def form_token(body: str) -> str:
    """The hidden `token` field of a page's form."""
    import re

    match = re.search(r'name="token" value="([^"]+)"', body)
    assert match, body
    return match.group(1)
