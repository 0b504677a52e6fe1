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
