#!/usr/bin/env python3
"""A $BROWSER stand-in that plays the person on the emulator's sign-in pages.

    BROWSER="/path/to/python /abs/path/tests/browser_standin.py %s"

Python's webbrowser splits a $BROWSER entry that contains `%s` with shlex and runs it, waiting
for it to exit (quote an interpreter path with spaces: `shlex.quote(sys.executable)`). So the
stand-in returns at once and does the work in a detached child, as a real browser launcher
does. The child GETs the page, finds the form, and per STANDIN_ACTION:
- `allow` (default) / `deny`: submits the form with that button, and follows a 302 (the
  auth-code flow's redirect to the app's 127.0.0.1 callback) with a GET, as a browser would;
- `ignore`: only looks at the page (the person walked away).
Each step is appended to STANDIN_LOG (JSON lines) when set; `code=` values are masked there.
STANDIN_DELAY (seconds) waits before acting. `--foreground` does the work before returning.
Only the standard library: any Python 3.8+ can run it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode, urljoin

_MAX_REDIRECTS = 5


class _Form(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.method = "get"
        self.fields: dict[str, str] = {}
        self.buttons: list[tuple[str, str]] = []
        self.title = ""
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
        if self._in_title:
            self.title += data


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _mask(url: str) -> str:
    return re.sub(r"([?&]code=)[^&]+", r"\1***", url)


def _log(**entry: object) -> None:
    path = os.environ.get("STANDIN_LOG")
    if path:
        entry["time"] = time.time()
        with Path(path).open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")


def _fetch(url: str, data: bytes | None = None) -> tuple[int, str, str]:
    """(status, Location header, body) without following redirects or using a proxy."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())
    request = urllib.request.Request(url, data=data)
    try:
        with opener.open(request, timeout=30) as response:
            body = response.read().decode("utf-8", "replace")
            return response.status, response.headers.get("Location", ""), body
    except urllib.error.HTTPError as error:
        body = error.read().decode("utf-8", "replace")
        return error.code, error.headers.get("Location", ""), body


def _follow(status: int, location: str, base: str) -> int:
    """Follow redirects with GETs, as a browser would; the last status."""
    hops = 0
    while status in (301, 302, 303, 307) and location and hops < _MAX_REDIRECTS:
        target = urljoin(base, location)
        status, location, _ = _fetch(target)
        _log(step="redirect", url=_mask(target), status=status)
        base, hops = target, hops + 1
    return status


def act(url: str, action: str) -> int:
    """Play the person on the page at `url`; 0 when the flow went as `action` says."""
    status, location, body = _fetch(url)
    form = _Form()
    form.feed(body)
    _log(step="open", url=_mask(url), status=status, title=form.title.strip())
    if status in (301, 302, 303):
        # The page sent the browser straight back (an error redirect): follow it.
        _follow(status, location, url)
        return 1
    if action == "ignore":
        _log(step="ignore")
        return 0
    if status != 200 or form.action is None or form.method != "post":
        _log(step="error", reason="no sign-in form on the page")
        return 1
    button = next((b for b in form.buttons if b[1] == action), None)
    if button is None:
        _log(step="error", reason=f"no {action} button")
        return 1
    target = urljoin(url, form.action)
    data = urlencode({**form.fields, button[0]: button[1]}).encode()
    status, location, body = _fetch(target, data)
    result = _Form()
    result.feed(body)
    _log(
        step="submit",
        action=action,
        url=target,
        status=status,
        location=_mask(location),
        title=result.title.strip(),
    )
    final = _follow(status, location, target)
    _log(step="done", status=final)
    return 0 if final < 400 else 1


def main(argv: list[str]) -> int:
    args = [a for a in argv if a != "--foreground"]
    if len(args) != 1:
        print("usage: browser_standin.py [--foreground] URL", file=sys.stderr)
        return 2
    url = args[0]
    action = os.environ.get("STANDIN_ACTION", "allow").strip().lower() or "allow"
    if action not in ("allow", "deny", "ignore"):
        print(f"browser_standin: STANDIN_ACTION={action!r}: use allow|deny|ignore", file=sys.stderr)
        return 2
    if "--foreground" not in argv:
        # Return at once, as a browser launcher does: webbrowser waits for this process.
        subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--foreground", url],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
        )
        _log(step="launch", url=_mask(url), action=action)
        return 0
    delay = float(os.environ.get("STANDIN_DELAY") or 0)
    if delay > 0:
        time.sleep(delay)
    try:
        return act(url, action)
    except OSError as exc:
        _log(step="error", reason=f"{type(exc).__name__}: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
