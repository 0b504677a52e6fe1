"""The AWS CLI's SSO token cache (`~/.aws/sso/cache/<sha1>.json`): read, write, silent refresh.

We share these files with the AWS CLI and botocore, so names, keys and timestamp forms are
exactly theirs (botocore `SSOTokenLoader` / `SSOTokenProvider`): the name is sha1 of the
sso-session name (or of the start URL for a legacy profile), the keys are `startUrl`, `region`,
`accessToken`, `expiresAt`, `clientId`, `clientSecret`, `registrationExpiresAt` and
`refreshToken`, written as compact JSON with `%Y-%m-%dT%H:%M:%SZ` times. We read any ISO form
other tools write, and keys we do not know survive our rewrites.

`valid_token` is the one answer to "what happens when a token expires": inside the refresh
window it renews the token with the refresh token (CreateToken, grant `refresh_token`), as
botocore does, but under an inter-process lock and re-reading the file first, because the AWS
CLI, botocore in someone's script, or another of our processes may have just written a newer one.

The service rotates the refresh token on every renewal (the presented one is spent), so a
renewal is never wasted or thrown away:
- one renewal per session at a time in a process: other threads wait for it and take its
  result (single flight); across processes the file lock and token identity decide: when the
  file's access token is no longer the one we set out to renew, someone else renewed, and theirs
  is used without calling CreateToken;
- whose token is kept is decided by identity (is the file's token still the one we renewed
  from?), never by comparing expiry times, which other SDKs write with milliseconds;
- a refused renewal after another writer renewed is answered with that writer's token; a
  session ends only when the service refuses a refresh token no newer file supersedes;
- a renewal that could not take the token past the refresh window (its expiry is capped by
  the session end) is remembered, and that token is not renewed on every call.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aws_sso_tray import clock
from aws_sso_tray.errors import AppError, LoginNeededError, Recovery
from aws_sso_tray.files import atomicfile, paths
from aws_sso_tray.logs import warn_once

if TYPE_CHECKING:
    from aws_sso_tray.aws.profiles import SsoSession

log = logging.getLogger(__name__)

REFRESH_WINDOW = timedelta(minutes=15)  # botocore's SSOTokenProvider._REFRESH_WINDOW
MANDATORY_WINDOW = timedelta(minutes=10)  # botocore's _MANDATORY_REFRESH_WINDOW
# A renewal gaining less than this did not extend the token: both expiries are whole seconds
# computed from two clocks (ours and the service's).
_NO_GAIN = timedelta(seconds=5)
REFRESH_GRANT_TYPE = "refresh_token"

# botocore's key order, so a file we write is byte-for-byte what botocore would write.
_KNOWN_KEYS = (
    "startUrl",
    "region",
    "accessToken",
    "expiresAt",
    "clientId",
    "clientSecret",
    "registrationExpiresAt",
    "refreshToken",
)


@dataclass(frozen=True)
class SsoToken:
    """One cached SSO access token, with what is needed to refresh it."""

    start_url: str
    region: str
    access_token: str = field(repr=False)
    expires_at: datetime
    refresh_token: str | None = field(default=None, repr=False)
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    registration_expires_at: datetime | None = None
    # The file's dict as read, so keys written by other tools survive a rewrite.
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def remaining(self, now: datetime) -> timedelta:
        return self.expires_at - now

    def expired(self, now: datetime) -> bool:
        return self.expires_at <= now

    def can_refresh(self, now: datetime) -> bool:
        """True when the refresh token and a live client registration are at hand."""
        if not (self.refresh_token and self.client_id and self.client_secret):
            return False
        # An unknown registration expiry is not a known-dead one: let the server decide.
        return self.registration_expires_at is None or self.registration_expires_at > now

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, start_url: str = "", region: str = ""
    ) -> SsoToken:
        """Parse a cache file's dict; `start_url` / `region` fill keys the file lacks.

        Raises ValueError when the dict is not a usable token (botocore needs `accessToken`
        and `expiresAt`; so do we).
        """
        access_token = data.get("accessToken")
        if not isinstance(access_token, str) or not access_token:
            raise ValueError("no accessToken")
        if "expiresAt" not in data:
            raise ValueError("no expiresAt")
        try:
            expires_at = clock.parse_time(data["expiresAt"])
        except ValueError:
            raise ValueError("expiresAt is not a usable time") from None  # no value: no secret
        registration = data.get("registrationExpiresAt")
        return cls(
            start_url=_text(data.get("startUrl")) or start_url,
            region=_text(data.get("region")) or region,
            access_token=access_token,
            expires_at=expires_at,
            refresh_token=_text(data.get("refreshToken")),
            client_id=_text(data.get("clientId")),
            client_secret=_text(data.get("clientSecret")),
            registration_expires_at=_lenient_time(registration),
            raw=dict(data),
        )

    def to_dict(self) -> dict[str, Any]:
        """The cache file's dict: botocore's keys in botocore's order, then unknown keys kept.

        A key this token leaves as it was read keeps the file's own value (another SDK's time
        form, a registration expiry we cannot parse), so a rewrite changes only what it must.
        """
        raw = self.raw
        registration: Any = None
        if self.registration_expires_at is None:
            registration = raw.get("registrationExpiresAt")
        elif _lenient_time(raw.get("registrationExpiresAt")) == self.registration_expires_at:
            registration = raw["registrationExpiresAt"]
        else:
            registration = clock.format_time(self.registration_expires_at)
        known: dict[str, Any] = {
            "startUrl": self.start_url,
            "region": self.region,
            "accessToken": self.access_token,
            "expiresAt": clock.format_time(self.expires_at),
            "clientId": self.client_id if self.client_id is not None else raw.get("clientId"),
            "clientSecret": (
                self.client_secret if self.client_secret is not None else raw.get("clientSecret")
            ),
            "registrationExpiresAt": registration,
            "refreshToken": (
                self.refresh_token if self.refresh_token is not None else raw.get("refreshToken")
            ),
        }
        present = {k: v for k, v in known.items() if v is not None or k in raw}
        extra = {k: v for k, v in raw.items() if k not in _KNOWN_KEYS}
        return {**present, **extra}


def _lenient_time(value: Any) -> datetime | None:
    # A registration expiry we cannot read must not cost the user a still-valid access token:
    # treat it as unknown and let the server judge the registration.
    try:
        return None if value in (None, "") else clock.parse_time(value)
    except ValueError:
        return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def token_cache_file(session: SsoSession) -> Path:
    """`~/.aws/sso/cache/<sha1(session name or start URL)>.json`, as botocore's SSOTokenLoader."""
    digest = hashlib.sha1(session.cache_key.encode("utf-8"), usedforsecurity=False).hexdigest()
    return paths.sso_cache_dir() / f"{digest}.json"


def _same_start_url(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


def read_token(session: SsoSession) -> SsoToken | None:
    """The cached token for `session`; None when there is none, it is unreadable, or it
    belongs to another start URL (the session's URL was changed since the login)."""
    path = token_cache_file(session)
    data = atomicfile.read_json_object(path, what="SSO token cache")
    if data is None:
        return None
    try:
        token = SsoToken.from_dict(data, start_url=session.start_url, region=session.region)
    except ValueError as exc:
        # Never echo the content: it holds secrets.
        warn_once(
            log, (str(path), str(exc)), "ignoring unusable SSO token cache %s (%s)", path, exc
        )
        return None
    if not _same_start_url(token.start_url, session.start_url):
        log.info("SSO token cache %s is for another start URL; ignoring it", path)
        return None
    return token


def write_token(session: SsoSession, token: SsoToken) -> None:
    """Write `token` as the AWS CLI does (compact JSON, 0600, atomic).

    Takes the token file's lock (re-entrant), so a login's write waits for a refresh running in
    another of our processes instead of being overwritten by it.
    """
    path = token_cache_file(session)
    data = json.dumps(token.to_dict()).encode("utf-8")
    with atomicfile.locked(path):
        atomicfile.write_atomic(path, data, mode=0o600)


def delete_token(session: SsoSession) -> bool:
    """Remove the session's cached token (logout); True when there was one."""
    path = token_cache_file(session)
    with atomicfile.locked(path):
        try:
            path.unlink()
        except FileNotFoundError:
            return False
    return True


def needs_refresh(token: SsoToken, now: datetime, window: timedelta = REFRESH_WINDOW) -> bool:
    """True when less than `window` is left (or the token has expired)."""
    return token.expired(now) or token.expires_at - now < window


def _login_needed(session: SsoSession, why: str, login_hint: str) -> LoginNeededError:
    profile = login_hint or "PROFILE"
    return LoginNeededError(
        f"SSO session '{session.display_name}' {why}: run `aws-sso-tray login {profile}`"
    )


def valid_token(
    session: SsoSession,
    *,
    now: datetime | None = None,
    refresh_window: timedelta = REFRESH_WINDOW,
    login_hint: str = "",
) -> SsoToken:
    """A token usable now, refreshed silently when less than `refresh_window` is left.

    `login_hint` is the profile name to put in the "run `aws-sso-tray login ...`" advice.
    Raises LoginNeededError when there is no token, it expired and cannot be refreshed, or the
    server refused the refresh. A refresh that fails for a transient reason (network,
    throttling, 5xx) returns the current token while it is still valid, else raises the
    translated error (NetworkError, ThrottledError, ServiceError).

    Concurrent calls for one session in this process make one renewal and share its outcome.
    """
    now = clock.now() if now is None else clock.parse_time(now)
    token = read_token(session)
    if token is None:
        raise _login_needed(session, "has no cached login", login_hint)
    key = str(token_cache_file(session))
    if not needs_refresh(token, now, _window(key, token, refresh_window)):
        return token
    if not token.can_refresh(now):
        return _unrefreshable(session, token, now, login_hint)
    return _single_flight(
        key, session, lambda: _renew(session, token, now, refresh_window, login_hint)
    )


# -- one renewal per session at a time ---------------------------------------------------------


@dataclass
class _Flight:
    """A renewal in progress in this process; the callers who wait for it take its outcome."""

    done: threading.Event = field(default_factory=threading.Event)
    result: SsoToken | None = None
    error: BaseException | None = None


@dataclass(frozen=True)
class _Capped:
    """A token a renewal could not take past the refresh window, and the window it gets."""

    access_token: str = field(repr=False)
    window: timedelta


_guard = threading.Lock()
_flights: dict[str, _Flight] = {}  # token file path -> the renewal in flight
_capped: dict[str, _Capped] = {}  # token file path -> its last renewal's cap


def _single_flight(key: str, session: SsoSession, renew: Callable[[], SsoToken]) -> SsoToken:
    with _guard:
        flight = _flights.get(key)
        leader = flight is None
        if flight is None:
            flight = _flights[key] = _Flight()
    if not leader:
        log.debug("waiting for the renewal of SSO session %s in progress", session.display_name)
        flight.done.wait()
        if flight.error is not None:
            raise flight.error
        assert flight.result is not None
        return flight.result
    try:
        flight.result = renew()
        return flight.result
    except BaseException as exc:
        flight.error = exc
        raise
    finally:
        with _guard:
            del _flights[key]
        flight.done.set()


def _window(key: str, token: SsoToken, refresh_window: timedelta) -> timedelta:
    """The refresh window for `token`: narrower when its own renewal could not extend it."""
    with _guard:
        capped = _capped.get(key)
    if capped is not None and capped.access_token == token.access_token:
        return min(refresh_window, capped.window)
    return refresh_window


def _remember_cap(
    session: SsoSession,
    renewed_from: SsoToken,
    fresh: SsoToken,
    now: datetime,
    refresh_window: timedelta,
) -> None:
    """Note a renewal whose token still falls inside the refresh window, so that the next
    calls do not renew it again at once (each renewal spends the refresh token)."""
    key = str(token_cache_file(session))
    with _guard:
        if not needs_refresh(fresh, now, refresh_window):
            _capped.pop(key, None)
            return
        if fresh.expires_at - renewed_from.expires_at < _NO_GAIN:
            # No later than the token it replaced: the session's end caps it, and no renewal
            # will move it. Use it to the end; only an expired token is tried again (the
            # service then says whether the session really ended).
            window = timedelta(0)
        else:
            # Short-lived tokens (or a late start): renew near the token's own expiry.
            window = min(MANDATORY_WINDOW, (fresh.expires_at - now) / 2)
        _capped[key] = _Capped(fresh.access_token, window)
    log.info(
        "SSO token for session %s cannot be renewed past %s; not renewing it again before %s",
        session.display_name,
        clock.format_time(fresh.expires_at),
        clock.format_time(fresh.expires_at - window),
    )


def _renew(
    session: SsoSession, seen: SsoToken, now: datetime, refresh_window: timedelta, login_hint: str
) -> SsoToken:
    """Renew `seen` (the token the caller read) under the token file's inter-process lock."""
    key = str(token_cache_file(session))
    log.debug("renewing SSO token of session %s", session.display_name)
    with atomicfile.locked(token_cache_file(session)):
        # Another process may have renewed (or logged in) while we waited for the lock.
        current = read_token(session)
        if current is None:
            raise _login_needed(session, "has no cached login", login_hint)
        if current.access_token != seen.access_token and not current.expired(now):
            log.info(
                "SSO token of session %s was renewed elsewhere; using it", session.display_name
            )
            return current
        if not needs_refresh(current, now, _window(key, current, refresh_window)):
            return current
        if not current.can_refresh(now):
            return _unrefreshable(session, current, now, login_hint)
        fresh = _refresh_locked(session, current, now, login_hint)
        if fresh.access_token != current.access_token:
            _remember_cap(session, current, fresh, now, refresh_window)
        return fresh


def _unrefreshable(
    session: SsoSession, token: SsoToken, now: datetime, login_hint: str
) -> SsoToken:
    # A token without a refresh token (device-code logins of legacy profiles) is still good
    # until it expires: use it, as botocore does.
    if not token.expired(now):
        return token
    raise _login_needed(session, "has expired", login_hint)


def _refresh_locked(
    session: SsoSession, current: SsoToken, now: datetime, login_hint: str
) -> SsoToken:
    from botocore.exceptions import BotoCoreError, ClientError

    from aws_sso_tray.aws import clients

    try:
        fresh = _create_token(session, current, now)
    except ClientError as exc:
        code = clients.error_code(exc)
        # clients.ERROR_CODES decides: a refusal only a new login answers (the refresh
        # token or the client registration is no good any more). Anything else (network,
        # throttling, 5xx, a rejected request) fails without ending the session.
        if clients.recovery_of(exc) is Recovery.LOGIN:
            # The AWS CLI or an SDK may have renewed with the same refresh token under us (they
            # take no lock of ours), spending it: their token in the file is the answer, not a
            # login prompt. Identity, not expiry: near the session end both expire alike.
            latest = read_token(session)
            if (
                latest is not None
                and (
                    latest.access_token != current.access_token
                    or latest.refresh_token != current.refresh_token
                )
                and not latest.expired(now)
            ):
                log.info("SSO token refresh refused, but another program renewed it; using that")
                return latest
            log.info("SSO token refresh refused for session %s (%s)", session.display_name, code)
            raise _login_needed(session, "has ended (refresh refused)", login_hint) from exc
        return _transient_failure(session, current, now, exc, login_hint)
    except BotoCoreError as exc:
        return _transient_failure(session, current, now, exc, login_hint)

    # Re-read right before writing: a token another program wrote meanwhile (a new login, say)
    # wins. Whether it is another token is a question of identity: comparing expiry times
    # would discard ours, whose renewal has already spent the refresh token, whenever theirs
    # carries milliseconds we do not write.
    latest = read_token(session)
    if (
        latest is not None
        and latest.access_token != current.access_token
        and not latest.expired(now)
    ):
        log.info("another program wrote a new SSO token meanwhile; keeping it")
        return latest
    write_token(session, fresh)
    log.info(
        "SSO token for session %s refreshed; expires %s",
        session.display_name,
        clock.format_time(fresh.expires_at),
    )
    return fresh


def _transient_failure(
    session: SsoSession, current: SsoToken, now: datetime, exc: Exception, login_hint: str
) -> SsoToken:
    from aws_sso_tray.aws import clients

    error: AppError = clients.to_app_error(
        exc, what=f"refreshing SSO session '{session.display_name}'", login_hint=login_hint
    )
    if not current.expired(now):
        log.warning("SSO token refresh failed, using the current token: %s", error.message)
        return current
    raise error from exc


def _create_token(session: SsoSession, current: SsoToken, now: datetime) -> SsoToken:
    """CreateToken with the refresh token; the new token keeps the registration and raw keys."""
    from aws_sso_tray.aws import clients

    assert current.refresh_token and current.client_id and current.client_secret
    client = clients.oidc_client(session.region)
    response = client.create_token(
        grantType=REFRESH_GRANT_TYPE,
        clientId=current.client_id,
        clientSecret=current.client_secret,
        refreshToken=current.refresh_token,
    )
    return SsoToken(
        # What the file said (a trailing slash, say): a renewal changes only the token.
        start_url=current.start_url,
        region=current.region,
        access_token=response["accessToken"],
        # Whole seconds: what the file holds is what we return.
        expires_at=(now + timedelta(seconds=int(response["expiresIn"]))).replace(microsecond=0),
        # The service may rotate the refresh token; keep the old one when it does not.
        refresh_token=response.get("refreshToken") or current.refresh_token,
        client_id=current.client_id,
        client_secret=current.client_secret,
        registration_expires_at=current.registration_expires_at,
        raw=current.raw,
    )
