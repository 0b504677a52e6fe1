"""The one narrow door to the desktop's browser: open a URL, and say why not when it could not.

`launch_browser` honours $BROWSER as the user's word (read at every call, since a long-running
tray outlives changes to it) and otherwise lets Python's webbrowser pick one. The sign-in opens
its page through `open_in_background`, so a slow or hanging browser command never holds up the
wait for the callback, the timeout or `cancel`; a page no browser showed is logged with its URL
(and user code: no secrets, the person has to see them) by `log_browser_failure`. A session's
own sign-in browser (settings' `[sessions.NAME] browser`) is passed in as `command` and wins
over $BROWSER: it is the more specific word.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from aws_sso_tray.login.prompt import LoginPrompt, PromptHandler

log = logging.getLogger(__name__)


BROWSER_GRACE = 1.0  # a browser command that fails within this could not show the page


def open_url(url: str) -> bool:
    """Open `url` in a browser; False when none took it (see `launch_browser` for why)."""
    return launch_browser(url) is None


def launch_browser(url: str) -> str | None:
    """Open `url` in the browser; None when one took it, else why not (one line, no secret).

    $BROWSER is read now (webbrowser reads it once per process; a long-running tray and the
    tests see it change) and is the user's word: each entry is run as a command (`%s` marks
    the URL, else the URL is appended; a trailing `&` is ignored: we never wait for it), and
    one that exits non-zero within `BROWSER_GRACE` seconds has failed (Chromium started by
    root without --no-sandbox does exactly that). Still running then, or exited 0 (a launcher
    such as VS Code's helper or xdg-open that handed the URL on), counts as opened. Without
    $BROWSER, Python's webbrowser picks one and says whether it could.
    """
    import webbrowser

    choices = [c for c in os.environ.get("BROWSER", "").split(os.pathsep) if c.strip()]
    if not choices:
        try:
            if webbrowser.open(url, new=2):
                return None
        except Exception as exc:  # a broken desktop setup must not break the login
            return f"no browser could be started ({exc})"
        return "no browser was found to open it"
    problems = []
    for choice in choices:
        problem = _run_browser(choice, url)
        if problem is None:
            return None
        problems.append(problem)
    return "; ".join(problems)


def launch_command(command: str, url: str, *, source: str = "console_browser") -> str | None:
    """Open `url` with the browser command template `command` (the settings' `console_browser`,
    e.g. `firefox -P prod %s`): split with shlex and run without a shell, `%s` replaced by the
    URL as one argument (else the URL appended), judged as a $BROWSER entry is. None when it
    took the URL, else why not; `source` names the command's origin in that message."""
    return _run_browser(command, url, source=source)


def _run_browser(choice: str, url: str, *, source: str = "$BROWSER entry") -> str | None:
    import shlex
    import subprocess

    try:
        words = shlex.split(choice.strip())
    except ValueError as exc:
        return f"{source} {choice!r} cannot be parsed ({exc})"
    if words and words[-1] == "&":
        words.pop()
    if not words:
        return f"{source} {choice!r} names no command"
    argv = [w.replace("%s", url) for w in words] if "%s" in choice else [*words, url]
    name = words[0]
    try:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # Ctrl-C in our terminal must not close the browser
        )
    except OSError as exc:
        return f"the browser command {name!r} cannot be run ({exc.strerror or exc})"
    last: list[str] = []
    assert process.stderr is not None
    reader = threading.Thread(
        target=_keep_last_line, args=(process.stderr, last), name="browser-stderr", daemon=True
    )
    reader.start()
    try:
        status = process.wait(BROWSER_GRACE)
    except subprocess.TimeoutExpired:
        # A browser that stays up has the page; reap it whenever it closes.
        threading.Thread(target=process.wait, name="browser-reaper", daemon=True).start()
        return None
    if status == 0:
        return None
    reader.join(0.2)
    said = f": {last[0]}" if last else ""
    return f"the browser command {name!r} exited with status {status}{said}"


def _keep_last_line(stream: Any, last: list[str]) -> None:
    with contextlib.suppress(OSError, ValueError):
        for raw in stream:
            line = raw.decode("utf-8", "replace").strip()
            if line:
                last[:] = [line[:200]]
    with contextlib.suppress(OSError):
        stream.close()


def browser_problem(url: str, opener: Callable[[str], object] | None = None) -> str | None:
    """Open `url` with `opener` (default `launch_browser`): None when a browser took it, else
    why not. An opener may also answer True / False (webbrowser.open's way) or raise."""
    try:
        result = (opener or launch_browser)(url)
    except Exception as exc:
        return f"the browser could not be started ({exc})"
    if result is False:
        return "the browser could not be opened"
    return result if isinstance(result, str) else None


def open_in_background(
    prompt: LoginPrompt, on_prompt: PromptHandler | None, command: str | None = None
) -> None:
    """Open the sign-in page, with the browser command template `command` when given."""
    opener: Callable[[str], object] | None = None
    if command is not None:
        source = f"sign-in browser of session {prompt.session}"
        opener = lambda url: launch_command(command, url, source=source)  # noqa: E731

    # Never let a slow or hanging browser command hold up the wait for the callback, the
    # timeout or `cancel`. A browser that cannot show the page leaves the URL (and code) in
    # the log, and `on_prompt` hears it again with `browser_error` set to say so.
    def run() -> None:
        problem = browser_problem(prompt.url, opener)
        if problem is None:
            return
        # The caller shows it (the CLI prints it): a WARNING would say it twice on stderr.
        log_browser_failure(prompt, problem, level=logging.INFO if on_prompt else logging.WARNING)
        if on_prompt is not None:
            on_prompt(dataclasses.replace(prompt, opening_browser=False, browser_error=problem))

    threading.Thread(target=run, name="login-browser", daemon=True).start()


def log_browser_failure(prompt: LoginPrompt, problem: str, *, level: int = logging.WARNING) -> None:
    """Say where to sign in when no browser showed the page (the URL and user code are no
    secrets: the person has to see them)."""
    code = f" and confirm the code {prompt.user_code}" if prompt.user_code else ""
    log.log(
        level,
        "could not open a browser for the sign-in to %s (%s): open %s%s",
        prompt.session,
        problem,
        prompt.url,
        code,
    )
