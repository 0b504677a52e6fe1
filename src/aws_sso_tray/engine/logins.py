"""The browser sign-ins an engine runs: one thread per session, never the caller's.

`Logins` starts a sign-in (`start`), opens its page through the pluggable opener (a thread of
its own, so a slow browser never holds up the login), says where to sign in when no browser
shows the page (log, notice, and the snapshot's `login_url` / `browser_error`), and hands each
finished sign-in's outcome to the worker (`take_results`). `auto_login` is the background's one
automatic sign-in: for a session whose end stops kept-fresh profiles, once per expiry, only
where a graphical session exists, and never right after a resume (`timing.auto_login_allowed`).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from aws_sso_tray import clock
from aws_sso_tray.desktop.notify import Notice
from aws_sso_tray.engine import alerts, timing
from aws_sso_tray.errors import AlreadyRunningError, AppError

if TYPE_CHECKING:
    from aws_sso_tray.aws.profiles import SsoSession
    from aws_sso_tray.engine.options import Opener
    from aws_sso_tray.engine.work import SessionInfo
    from aws_sso_tray.files.settings import LoginFlow
    from aws_sso_tray.login.prompt import LoginPrompt

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoginsView:
    """The sign-ins waiting right now, as the snapshot shows them."""

    waiting: frozenset[str] = frozenset()  # session keys
    # session key -> (the sign-in page, why no browser showed it)
    pages: Mapping[str, tuple[str, str | None]] = field(default_factory=dict)


class Logins:
    """The engine's sign-ins, each on its own thread; see the module docstring."""

    def __init__(
        self,
        *,
        send: Callable[[Notice], None],
        wake: Callable[[], None],
        cancel: threading.Event,
        flow: Callable[[], LoginFlow],
        opener: Opener | None = None,
        env: Mapping[str, str] | None = None,
        platform: str | None = None,
    ) -> None:
        self._send = send
        self._wake = wake
        self._cancel = cancel
        self._flow = flow
        self._opener = opener
        self._env = env
        self._platform = platform
        self._lock = threading.Lock()
        self._threads: dict[str, threading.Thread] = {}
        self._results: dict[str, str | None] = {}  # session key -> error or None
        self._prompts: dict[str, LoginPrompt] = {}  # session key -> the waiting login
        self._browser_errors: dict[str, str] = {}  # session key -> why its page did not open
        # session key -> (title, why) of the automatic sign-in started: its one notice goes
        # out with the sign-in page (and the device code, if any), see _on_prompt
        self._auto_notices: dict[str, tuple[str, str]] = {}

    def start(self, session: SsoSession, reason: str | None) -> bool:
        """Start a sign-in to `session`, or open the page of the one waiting again.

        False when one is waiting but its page is not known yet.
        """
        key = session.cache_key
        with self._lock:
            running = self._threads.get(key)
            if running is not None and running.is_alive():
                prompt = self._prompts.get(key)
                if prompt is None:
                    return False
                log.info("opening the sign-in page of %s again", session.display_name)
                self._open_page(key, prompt)
                return True
            thread = threading.Thread(
                target=self._run,
                args=(session, reason),
                name=f"login-{session.display_name}",
                daemon=True,
            )
            self._threads[key] = thread
        thread.start()
        self._wake()
        return True

    def waiting(self, key: str) -> bool:
        with self._lock:
            thread = self._threads.get(key)
            return thread is not None and thread.is_alive()

    def take_results(self) -> dict[str, str | None]:
        """The sign-ins that ended since the last call: session key -> error, or None."""
        with self._lock:
            results, self._results = self._results, {}
        return results

    def view(self) -> LoginsView:
        with self._lock:
            waiting = frozenset(k for k, t in self._threads.items() if t.is_alive())
            pages = {
                k: (p.url, self._browser_errors.get(k))
                for k, p in self._prompts.items()
                if k in waiting
            }
        return LoginsView(waiting, pages)

    # --- the automatic sign-in ----------------------------------------------------------------

    def auto_login(
        self,
        needy: Mapping[str, Sequence[str]],
        sessions: Mapping[str, SessionInfo],
        *,
        enabled: bool,
        now: datetime,
        resumed_at: datetime | None,
    ) -> None:
        """Open the sign-in once for each session in `needy` (session key -> the kept-fresh
        profiles its end stops), where `timing.auto_login_allowed` says so."""
        env = os.environ if self._env is None else self._env
        # $BROWSER is the user's word: a VS Code / Codespaces helper reaches a person's screen.
        graphical = timing.graphical_session(env, self._platform) or bool(
            env.get("BROWSER", "").strip()
        )
        for key, names in needy.items():
            info = sessions.get(key)
            if info is None or info.signed_out_at is not None:
                continue  # a sign-out is the user's word: only they start the next sign-in
            expiry = clock.format_time(info.token_expires_at) if info.token_expires_at else "-"
            allowed, why = timing.auto_login_allowed(
                enabled=enabled,
                graphical=graphical,
                already_tried=info.auto_tried == expiry,
                login_waiting=self.waiting(key),
                now=now,
                resumed_at=resumed_at,
            )
            if not allowed:
                if info.auto_tried != expiry and why:
                    log.debug("no automatic sign-in to %s: %s", info.session.display_name, why)
                continue
            info.auto_login_opened(expiry)
            self._start_auto(info, names)

    def _start_auto(self, info: SessionInfo, names: Sequence[str]) -> None:
        key = info.session.cache_key
        name = info.session.display_name
        kept = _listed(names)
        verb = "is" if len(names) == 1 else "are"
        # No cached token at all is a first sign-in, not an ended session: say which.
        state = "has ended" if info.token_expires_at else "is not signed in yet"
        with self._lock:
            self._auto_notices[key] = (
                f"Signing in to {name}",
                f"Your SSO session '{name}' {state} and {kept} {verb} kept fresh",
            )
        if not self.start(info.session, reason=f"session {name} {state}; {kept} kept fresh"):
            with self._lock:
                self._auto_notices.pop(key, None)

    # --- one sign-in's thread, and its page -------------------------------------------------

    def _run(self, session: SsoSession, reason: str | None) -> None:
        from aws_sso_tray.aws import clients
        from aws_sso_tray.login import flows

        error: str | None = None
        try:
            if reason:
                log.info("signing in to SSO session %s: %s", session.display_name, reason)
            with clients.session_ca_bundle(session.name, session.start_url):  # as `login` does
                flows.login(
                    session,
                    flow=self._flow(),
                    open_browser=False,
                    on_prompt=lambda prompt: self._on_prompt(session.cache_key, prompt),
                    cancel=self._cancel,
                    env=self._env,
                )
        except AlreadyRunningError as exc:
            error = exc.message
            log.info("%s", exc.message)
        except AppError as exc:
            error = exc.message
            log.warning("sign-in to %s failed: %s", session.display_name, exc.message)
        except Exception:
            error = "internal error during sign-in; see the log file"
            log.exception("sign-in to %s failed unexpectedly", session.display_name)
        finally:
            self._ended(session.cache_key, error)

    def _ended(self, key: str, error: str | None) -> None:
        with self._lock:
            self._threads.pop(key, None)
            self._prompts.pop(key, None)
            self._browser_errors.pop(key, None)
            self._auto_notices.pop(key, None)
            self._results[key] = error
        self._wake()

    def _on_prompt(self, key: str, prompt: LoginPrompt) -> None:
        """Open the sign-in page (through the pluggable opener) without blocking the login."""
        if prompt.joined:
            return
        with self._lock:
            self._prompts[key] = prompt
            auto = self._auto_notices.pop(key, None)
        code = f" and confirm the code {prompt.user_code}" if prompt.user_code else ""
        if auto is not None:
            # One notice for an automatic sign-in: why, and what to do on the page.
            title, why = auto
            self._send(
                Notice(
                    key=f"{alerts.AUTO_LOGIN}:{key}",
                    title=title,
                    message=f"{why}: sign in on the page that opened{code}.",
                )
            )
        elif prompt.user_code:
            self._send(
                Notice(
                    key=f"{alerts.LOGIN_CODE}:{key}",
                    title=f"Sign in to {prompt.session}",
                    message=f"Confirm the code {prompt.user_code} on the page that opened.",
                )
            )
        self._open_page(key, prompt)

    def _open_page(self, key: str, prompt: LoginPrompt) -> None:
        """Open `prompt.url` on a thread of its own; where no browser shows it, say where to
        sign in: in the log (and so the terminal), in a notice, and in the snapshot."""
        from aws_sso_tray.desktop.browser import browser_problem

        def run() -> None:
            problem = browser_problem(prompt.url, self._opener)
            if problem is None:  # a browser has the page
                with self._lock:
                    self._browser_errors.pop(key, None)
                return
            self._browser_failed(key, prompt, problem)

        threading.Thread(target=run, name="login-browser", daemon=True).start()

    def _browser_failed(self, key: str, prompt: LoginPrompt, problem: str) -> None:
        from aws_sso_tray.desktop.browser import log_browser_failure

        with self._lock:
            if self._prompts.get(key) is not prompt:
                return  # that login has ended meanwhile
            self._browser_errors[key] = problem
        log_browser_failure(prompt, problem)
        code = f" and confirm the code {prompt.user_code}" if prompt.user_code else ""
        self._send(
            Notice(
                key=f"{alerts.LOGIN_PAGE}:{key}",
                title=f"Open this page to sign in to {prompt.session}",
                message=f"No browser could show the sign-in page ({problem}). "
                f"Open {prompt.url}{code}",
            )
        )
        self._wake()


def _listed(names: Sequence[str]) -> str:
    """`a`, `a and b`, `a, b and c`: names in a sentence."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


__all__ = ["Logins", "LoginsView"]
