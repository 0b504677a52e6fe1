"""A browser stand-in that plays the user on the emulator's login pages.

`browse(url)` opens an emulator `/authorize` or `/device?user_code=` URL, presses Allow (or
Deny) on its form and, for the auth-code flow, follows the 302 to the login's loopback callback
as a browser would. Tests use it in place of `webbrowser.open`; a subprocess can use it through
the BROWSER variable:

    BROWSER="python -m aws_sso_tray.emulator.browser %s"            # press Allow
    BROWSER="python -m aws_sso_tray.emulator.browser --deny %s"     # press Deny

As a command it returns at once and does its work in a detached child, like a real browser
launcher, so a caller that waits for the launcher before serving its callback cannot deadlock.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import urllib.error
import urllib.request
from html.parser import HTMLParser
from urllib.parse import urlencode, urljoin, urlsplit


class BrowseError(Exception):
    """The page was not a login page, or the emulator answered an error page."""


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.method = "get"
        self.hidden: dict[str, str] = {}
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form" and self.action is None:
            self.action = values.get("action", "")
            self.method = values.get("method", "get").lower()
        elif tag == "input" and values.get("type") == "hidden":
            self.hidden[values.get("name", "")] = values.get("value", "")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _opener() -> urllib.request.OpenerDirector:
    # No proxy ever: everything the emulator serves is on 127.0.0.1.
    return urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def _fetch(
    url: str, data: bytes | None = None, timeout: float = 30
) -> tuple[int, dict[str, str], str]:
    if urlsplit(url).scheme not in ("http", "https"):
        raise BrowseError(f"not a web address: {url}")
    request = urllib.request.Request(url, data=data)  # noqa: S310 -- scheme checked above
    try:
        with _opener().open(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        body = error.read().decode("utf-8", "replace")
        return error.code, dict(error.headers), body


def browse(url: str, action: str = "allow", *, follow_redirect: bool = True) -> str:
    """Press `action` ("allow" or "deny") on the login page at `url`.

    Returns the redirect Location for the auth-code flow (after GETting it when
    `follow_redirect`, so the login's callback server receives it), or the result page's text
    for the device flow. Raises BrowseError on an error page.
    """
    if action not in ("allow", "deny"):
        raise ValueError("action must be 'allow' or 'deny'")
    status, headers, body = _fetch(url)
    if status == 302:
        # /authorize redirected straight back with an error (bad scope, response_type...).
        location = headers.get("Location", "")
        if follow_redirect:
            _fetch(location)
        return location
    form = _FormParser()
    form.feed(body)
    if status != 200 or form.action is None or form.method != "post":
        raise BrowseError(f"no login form at {url} (HTTP {status}): {' '.join(form.text).strip()}")
    data = urlencode({**form.hidden, "action": action}).encode()
    status, headers, body = _fetch(urljoin(url, form.action), data)
    if status == 302:
        location = headers.get("Location", "")
        if follow_redirect:
            _fetch(location)
        return location
    result = _FormParser()
    result.feed(body)
    text = " ".join(t.strip() for t in result.text if t.strip())
    if status != 200:
        raise BrowseError(f"login page answered HTTP {status}: {text}")
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aws_sso_tray.emulator.browser")
    parser.add_argument("url")
    parser.add_argument("--deny", action="store_true", help="press Deny instead of Allow")
    parser.add_argument("--wait", action="store_true", help="do the work before returning")
    args = parser.parse_args(argv)
    action = "deny" if args.deny else "allow"
    if not args.wait:
        command = [sys.executable, "-m", "aws_sso_tray.emulator.browser", "--wait", args.url]
        subprocess.Popen([*command, *(["--deny"] if args.deny else [])], start_new_session=True)
        return 0
    try:
        browse(args.url, action)
    except (BrowseError, OSError) as error:
        print(f"browser stand-in: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
