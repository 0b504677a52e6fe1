"""One login per SSO session at a time, across processes, and where the running one waits.

A per-session lock file in our state folder, taken with timeout 0 (`held`). The login that
holds it publishes its `LoginPrompt` (`publish_prompt`: URL, user code and pid, no secret) so
that a second caller can say where the first one waits, or wait for it (`join_or_report`) and
use its token. The published prompt is removed when the lock is let go.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from aws_sso_tray import clock
from aws_sso_tray.aws import tokens
from aws_sso_tray.aws.tokens import SsoToken
from aws_sso_tray.errors import (
    AlreadyRunningError,
    AppError,
    LoginNeededError,
    LoginTimeoutError,
)
from aws_sso_tray.files import atomicfile, paths
from aws_sso_tray.login import history
from aws_sso_tray.login.prompt import LoginCancelledError, LoginPrompt, PromptHandler

if TYPE_CHECKING:
    from aws_sso_tray.aws.profiles import SsoSession

log = logging.getLogger(__name__)

_JOIN_POLL = 0.2  # how often a joining caller checks the lock, `cancel` and the deadline


def _session_digest(session: SsoSession) -> str:
    return hashlib.sha1(session.cache_key.encode("utf-8"), usedforsecurity=False).hexdigest()[:16]


def _lock_file(session: SsoSession) -> Path:
    return paths.state_dir() / "locks" / f"login-{_session_digest(session)}.lock"


def _prompt_file(session: SsoSession) -> Path:
    return paths.state_dir() / "logins" / f"{_session_digest(session)}.json"


@contextlib.contextmanager
def held(session: SsoSession) -> Iterator[bool]:
    """Hold the session's login lock if free (yields True), else yield False at once."""
    from filelock import Timeout

    lock = atomicfile.file_lock(_lock_file(session))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        yield False
        return
    try:
        yield True
    finally:
        with contextlib.suppress(OSError):
            _prompt_file(session).unlink()
        lock.release()


def publish_prompt(session: SsoSession, prompt: LoginPrompt) -> None:
    """Tell a second caller where this login waits (no secret: URL, user code, pid)."""
    data = {"pid": os.getpid(), "prompt": prompt.to_dict()}
    try:
        atomicfile.write_atomic(_prompt_file(session), json.dumps(data).encode("utf-8"))
    except AppError as exc:
        log.warning("cannot record the running login: %s", exc)


def running_prompt(session: SsoSession) -> LoginPrompt | None:
    try:
        text = atomicfile.read_text(_prompt_file(session))
        if not text:
            return None
        return LoginPrompt.from_dict(json.loads(text)["prompt"], joined=True)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def join_or_report(
    session: SsoSession,
    join: bool,
    deadline: float,
    on_prompt: PromptHandler | None,
    cancel: threading.Event,
) -> SsoToken:
    name = session.display_name
    running = running_prompt(session)
    if not join:
        where = ""
        if running is not None:
            code = f" and confirm code {running.user_code}" if running.user_code else ""
            where = f": open {running.url}{code}"
        raise AlreadyRunningError(
            f"a sign-in to SSO session '{name}' is already waiting{where} "
            "(or wait for it to finish, then try again)"
        )
    if running is not None and on_prompt is not None:
        on_prompt(running)
    started = clock.now()
    log.info("another sign-in to session %s is running; waiting for it", name)
    while True:
        if cancel.wait(_JOIN_POLL):
            raise LoginCancelledError(f"waiting for the sign-in to SSO session '{name}' cancelled")
        if time.monotonic() >= deadline:
            raise LoginTimeoutError(
                f"the other sign-in to SSO session '{name}' did not finish in time: try again"
            )
        with held(session) as acquired:
            if not acquired:
                continue
        break
    token = tokens.read_token(session)
    record = history.get(session.cache_key)
    if (
        token is not None
        and not token.expired(clock.now())
        and record is not None
        and record.login_time >= started.replace(microsecond=0) - timedelta(seconds=1)
    ):
        return token
    raise LoginNeededError(
        f"the other sign-in to SSO session '{name}' did not complete: run the login again"
    )
