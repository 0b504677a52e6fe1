"""What the files say about one SSO session: its cached token, its sign-in and its sign-out.

`observe(info, now, ...)` reads the token cache and our login history for one session and
records what it finds in its `SessionInfo`; the engine then acts on the outcome (`Seen`): a new
sign-out stops the session's profiles, a new usable token re-arms them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from aws_sso_tray.engine.work import SessionInfo
from aws_sso_tray.errors import AppError

if TYPE_CHECKING:
    from aws_sso_tray.aws.profiles import SsoSession
    from aws_sso_tray.aws.tokens import SsoToken

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Seen:
    """What one look at a session's files found."""

    signed_out: bool  # the user signed out since the last look
    usable: bool  # a token usable now (renewable or not expired)
    changed: bool  # the token is not the one of the last look


def observe(
    info: SessionInfo, now: datetime, duration: timedelta, *, record_sign_out: bool = True
) -> Seen:
    """Read `info`'s token and sign-in state into it; `record_sign_out=False` only reads."""
    from aws_sso_tray.aws import tokens
    from aws_sso_tray.login import history

    token = tokens.read_token(info.session)
    was_live = info.live(now)
    info.observe_sign_in(history.login_time(info.session))
    signed_out = info.observe_sign_out(_signed_out_at(info, token, was_live, now, duration))
    if signed_out:
        log.info("SSO session %s was signed out", info.session.display_name)
        if record_sign_out:
            _record_sign_out(info, now)
    usable, changed = info.observe_token(token, now, _session_end(info.session, token, duration))
    return Seen(signed_out, usable, changed)


def _signed_out_at(
    info: SessionInfo,
    token: SsoToken | None,
    was_live: bool,
    now: datetime,
    duration: timedelta,
) -> datetime | None:
    """When the user signed out of `info`'s session, by what the files say; None: not."""
    from aws_sso_tray.login import history

    # A token (a sign-in by any tool) outranks an older sign-out.
    if token is not None:
        return None
    if info.signed_out_at is not None:
        return info.signed_out_at
    signed_out_at = history.sign_out_time(info.session, now=now, session_duration=duration)
    if signed_out_at is None and was_live and history.token_file_gone(info.session):
        # Seen signed in here (by any tool), and the file went before the session ended:
        # another tool signed out (`aws sso logout`), not an expiry.
        return now
    return signed_out_at


def _session_end(
    session: SsoSession, token: SsoToken | None, duration: timedelta
) -> datetime | None:
    from aws_sso_tray.login import history

    if token is None:
        return None
    if token.refresh_token and history.login_time(session) is None:
        # Logged in by another tool: the end is unknown (not the hourly expiry).
        return None
    return history.session_end(session, session_duration=duration)


def _record_sign_out(info: SessionInfo, now: datetime) -> None:
    """Make another tool's sign-out (a deleted token file) one of ours: the next start,
    `status` and `list` then see it too, after the session's estimated end as well."""
    from aws_sso_tray.login import history

    key, start_url = info.session.cache_key, info.session.start_url
    try:
        if history.signed_out_at(key, start_url) is None:
            log.info(
                "the token file of SSO session %s was deleted (`aws sso logout`?): "
                "treating it as a sign-out",
                info.session.display_name,
            )
            history.record_logout(key, start_url, now)
    except AppError as exc:
        log.warning("cannot record the sign-out of %s: %s", info.session.display_name, exc)


__all__ = ["Seen", "observe"]
