"""One refresh batch: fetch new role credentials for the due profiles, write them in one go.

`fetch` checks each session's token once (a refused session's profiles never reach the portal),
then asks the portal for the rest on a small bounded pool of daemon threads (the portal
throttles: 5-8 calls at once). `write` puts everything fetched into the credentials file in
one write, or section by section when one bad section (long-term keys, say) refuses the batch.
Both only report: what a failure means for a profile is the engine's call (`Engine._failed`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from aws_sso_tray.engine.options import Clock
from aws_sso_tray.engine.work import ProfileWork
from aws_sso_tray.errors import AppError
from aws_sso_tray.files import paths

if TYPE_CHECKING:
    from aws_sso_tray.aws.rolecreds import RoleCredentials
    from aws_sso_tray.engine.watch import Signature

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

# What a batch fetched, by section: the profile, its credentials, and when they were fetched.
Fetched = dict[str, tuple[ProfileWork, "RoleCredentials", datetime]]


@dataclass
class Fetch:
    """What `fetch` brought back, and when (the engine's clock after the last call)."""

    fetched: Fetched
    failed: list[tuple[ProfileWork, BaseException | None]]
    at: datetime


@dataclass
class Write:
    """What `write` did: the profiles written, the ones it could not, and the file as we left
    it (`own_write`: our own write is no user's fix; None when nothing was written)."""

    written: list[tuple[ProfileWork, RoleCredentials, datetime]] = field(default_factory=list)
    failed: list[tuple[ProfileWork, RoleCredentials, datetime, AppError]] = field(
        default_factory=list
    )
    own_write: Signature | None = None


def fetch(due: Sequence[ProfileWork], clock: Clock, lead: timedelta, workers: int) -> Fetch:
    """New credentials for `due`, each profile's outcome, and the time they came back."""
    from aws_sso_tray.aws import chained, rolecreds

    def one(work: ProfileWork) -> tuple[RoleCredentials, datetime]:
        now = clock.now()
        pending = work.pending
        if pending is not None and pending.expiration and pending.expiration - now > lead:
            return pending, work.pending_at or now  # fetched earlier; only the write failed
        # An SSO role from the portal, a chained role (<= 1 h) from STS: the plan reads expiry.
        return chained.credentials_of(work.profile, force_refresh=True, now=now), now

    session_errors = check_tokens(due, clock.now())
    ready = [w for w in due if w.session_key not in session_errors]
    results = dict(zip(map(id, ready), rolecreds.run_bounded(one, ready, workers), strict=True))
    outcome = Fetch({}, [], clock.now())
    for work in due:
        result, error = results.get(id(work), (None, None))
        error = session_errors.get(work.session_key, error)
        if error is None and result is not None:
            creds, fetched_at = result
            outcome.fetched[work.section] = (work, creds, fetched_at)
        else:
            outcome.failed.append((work, error))
    return outcome


def check_tokens(due: Sequence[ProfileWork], now: datetime) -> dict[str, BaseException]:
    """One token check per session, not one per profile: session key -> why it cannot be
    used. A refused session is asked once, and its profiles never reach the portal."""
    from aws_sso_tray.aws import clients, tokens

    session_errors: dict[str, BaseException] = {}
    for key in dict.fromkeys(w.session_key for w in due):
        work = next(w for w in due if w.session_key == key)
        session = work.profile.session
        try:  # a renewal (sso-oidc) trusts the CA bundle the session's profiles agree on
            with clients.session_ca_bundle(session.name, session.start_url):
                tokens.valid_token(session, now=now, login_hint=work.profile.name)
        except Exception as exc:
            session_errors[key] = exc
    return session_errors


def write(fetched: Fetched) -> Write:
    """Write everything `fetched` into the credentials file: at once, else one by one."""
    from aws_sso_tray.engine import watch
    from aws_sso_tray.files import credfile

    path = paths.aws_credentials_file()
    outcome = Write()
    try:
        credfile.write_many(path, {s: c for s, (_w, c, _at) in fetched.items()})
        outcome.written = list(fetched.values())
        outcome.own_write = watch.signature(path)
        return outcome
    except AppError as exc:
        # One bad section (long-term keys, say) must not hold up the others: try singly.
        log.info("writing %d sections at once failed (%s); trying one by one", len(fetched), exc)
    for section, (work, creds, fetched_at) in fetched.items():
        try:
            credfile.write_credentials(path, section, creds)
            outcome.written.append((work, creds, fetched_at))
            outcome.own_write = watch.signature(path)
        except AppError as single:
            outcome.failed.append((work, creds, fetched_at, single))
    return outcome


__all__ = ["Fetch", "Fetched", "Write", "check_tokens", "fetch", "write"]
