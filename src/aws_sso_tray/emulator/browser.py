"""The browser stand-in: it plays the person on the emulator's sign-in pages.

`browse(url, action)` opens an emulator `/authorize` or `/device?user_code=` URL and presses
Allow or Deny on its form, or with "ignore" only looks at the page (the person walked away).
It follows redirects with GETs, as a browser would, so the auth-code flow's redirect reaches the
login's 127.0.0.1 callback. Tests call it in place of `webbrowser.open`; a subprocess uses it
through the BROWSER variable (quote an interpreter path with spaces: webbrowser splits the
entry with shlex):

    BROWSER="python -m aws_sso_tray.emulator.browser %s"            # press Allow
    BROWSER="python -m aws_sso_tray.emulator.browser --deny %s"     # press Deny

The environment tunes it, so a caller can set BROWSER once and vary the rest:
- STANDIN_ACTION: allow (the default), deny or ignore; `--deny` wins over it.
- STANDIN_LOG: a file each step is appended to as a JSON line (launch, open, ignore, submit,
  redirect, done, error); `code=` values are masked there. `browse` logs there too.
- STANDIN_DELAY: seconds the command waits before acting.

As a command it returns at once and does its work in a detached child, like a real browser
launcher: webbrowser waits for the launcher, so a caller that waits for it before serving its
callback cannot deadlock. `--foreground` (or `--wait`) does the work before returning and exits
0 when the flow went as the action says.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode, urljoin, urlsplit

ACTIONS = ("allow", "deny", "ignore")
_MODULE = "aws_sso_tray.emulator.browser"
_REDIRECTS = (301, 302, 303, 307)
_MAX_REDIRECTS = 5


class BrowseError(Exception):
    """The page was not a login page, or the emulator answered an error page."""


class _Page(HTMLParser):
    """The first form of a page (action, method, hidden fields, named buttons) and its text."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.method = "get"
        self.fields: dict[str, str] = {}
        self.buttons: list[tuple[str, str]] = []
        self.title = ""
        self.text: list[str] = []
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form" and self.action is None:
            self.action = values.get("action", "")
            self.method = values.get("method", "get").lower()
        elif tag == "input" and values.get("type") == "hidden":
            self.fields[values.get("name", "")] = values.get("value", "")
        elif tag == "button" and values.get("name"):
            self.buttons.append((values["name"], values.get("value", "")))
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._in_title:
            self.title += data

    def visible_text(self) -> str:
        return " ".join(t.strip() for t in self.text if t.strip())


def _parse(body: str) -> _Page:
    page = _Page()
    page.feed(body)
    return page


@dataclass(frozen=True)
class _Visit:
    status: int  # the last answer's HTTP status, after the redirects followed
    location: str  # the first redirect's Location, "" when the page did not redirect
    text: str  # the last page's text, "" after a redirect
    sent_back: bool  # the page redirected straight back: no form was shown (an error)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _mask(url: str) -> str:
    # The auth code is a credential for a few minutes: it never goes into the log.
    return re.sub(r"([?&]code=)[^&]+", r"\1***", url)


def _log(**entry: object) -> None:
    path = os.environ.get("STANDIN_LOG")
    if path:
        entry["time"] = time.time()
        with Path(path).open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")


def _fetch(url: str, data: bytes | None = None, timeout: float = 30) -> tuple[int, str, str]:
    """(status, Location header, body) without following redirects."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise BrowseError(f"not a web address: {url}")
    # No proxy ever: everything the emulator serves is on 127.0.0.1.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())
    request = urllib.request.Request(url, data=data)  # noqa: S310 -- scheme checked above
    try:
        with opener.open(request, timeout=timeout) as response:
            body = response.read().decode("utf-8", "replace")
            return response.status, response.headers.get("Location", ""), body
    except urllib.error.HTTPError as error:
        body = error.read().decode("utf-8", "replace")
        return error.code, error.headers.get("Location", ""), body


def _follow(status: int, location: str, base: str) -> int:
    """Follow redirects with GETs, as a browser would; the last status."""
    hops = 0
    while status in _REDIRECTS and location and hops < _MAX_REDIRECTS:
        target = urljoin(base, location)
        status, location, _ = _fetch(target)
        _log(step="redirect", url=_mask(target), status=status)
        base, hops = target, hops + 1
    return status


def _visit(url: str, action: str, follow_redirect: bool) -> _Visit:
    """Open `url` and do `action` there, logging each step; BrowseError when there is no form."""
    status, location, body = _fetch(url)
    page = _parse(body)
    _log(step="open", url=_mask(url), status=status, title=page.title.strip())
    if status in _REDIRECTS:
        # /authorize sent the browser straight back with an error (bad scope, response_type...).
        final = _follow(status, location, url) if follow_redirect else status
        return _Visit(final, location, "", sent_back=True)
    if action == "ignore":
        _log(step="ignore")
        return _Visit(status, "", page.visible_text(), sent_back=False)
    if status != 200 or page.action is None or page.method != "post":
        _log(step="error", reason="no sign-in form on the page")
        text = " ".join(page.text).strip()
        raise BrowseError(f"no login form at {url} (HTTP {status}): {text}")
    button = next((b for b in page.buttons if b[1] == action), None)
    if button is None:
        _log(step="error", reason=f"no {action} button")
        raise BrowseError(f"no {action} button on the login page at {url}")
    target = urljoin(url, page.action)
    data = urlencode({**page.fields, button[0]: button[1]}).encode()
    status, location, body = _fetch(target, data)
    result = _parse(body)
    _log(
        step="submit",
        action=action,
        url=target,
        status=status,
        location=_mask(location),
        title=result.title.strip(),
    )
    final = _follow(status, location, target) if follow_redirect else status
    _log(step="done", status=final)
    if status in _REDIRECTS:
        return _Visit(final, location, "", sent_back=False)
    return _Visit(final, "", result.visible_text(), sent_back=False)


def browse(url: str, action: str = "allow", *, follow_redirect: bool = True) -> str:
    """Do `action` ("allow", "deny" or "ignore") on the login page at `url`.

    Returns the redirect Location for the auth-code flow (after following it when
    `follow_redirect`, so the login's callback server receives it), or else the text of the
    page the decision led to (for "ignore", of the login page itself). Raises BrowseError when
    there is no login form or the decision answered an error page.
    """
    if action not in ACTIONS:
        raise ValueError("action must be 'allow', 'deny' or 'ignore'")
    visit = _visit(url, action, follow_redirect)
    if visit.location:
        return visit.location
    if action != "ignore" and visit.status != 200:
        raise BrowseError(f"login page answered HTTP {visit.status}: {visit.text}")
    return visit.text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=f"python -m {_MODULE}",
        description="Play the person on an emulator sign-in page (see STANDIN_* in the docs).",
    )
    parser.add_argument("url")
    parser.add_argument("--deny", action="store_true", help="press Deny (wins over STANDIN_ACTION)")
    parser.add_argument(
        "--foreground", "--wait", action="store_true", help="do the work before returning"
    )
    args = parser.parse_args(argv)
    action = "deny" if args.deny else os.environ.get("STANDIN_ACTION", "").strip().lower()
    action = action or "allow"
    if action not in ACTIONS:
        print(
            f"browser stand-in: STANDIN_ACTION={action!r}: use allow|deny|ignore", file=sys.stderr
        )
        return 2
    if not args.foreground:
        # Return at once, as a browser launcher does: webbrowser waits for this process.
        subprocess.Popen(
            [sys.executable, "-m", _MODULE, "--foreground", args.url],
            env={**os.environ, "STANDIN_ACTION": action},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
        )
        _log(step="launch", url=_mask(args.url), action=action)
        return 0
    delay = float(os.environ.get("STANDIN_DELAY") or 0)
    if delay > 0:
        time.sleep(delay)
    try:
        visit = _visit(args.url, action, follow_redirect=True)
    except (BrowseError, OSError) as error:
        if isinstance(error, OSError):  # _visit logged its own BrowseErrors
            _log(step="error", reason=f"{type(error).__name__}: {error}")
        print(f"browser stand-in: {error}", file=sys.stderr)
        return 1
    if visit.sent_back:
        return 1
    return 0 if action == "ignore" or visit.status < 400 else 1


if __name__ == "__main__":
    sys.exit(main())
