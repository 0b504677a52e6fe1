"""Role credentials: GetRoleCredentials, and the AWS CLI role-credential cache (`~/.aws/cli/cache`).

The cache is shared with the AWS CLI and botocore's `SSOCredentialFetcher`, so file names and
content are exactly theirs: the name is sha1 of the compact, key-sorted JSON of `accountId`,
`roleName` and `sessionName` (or `startUrl` for a legacy profile); the content is
`{"ProviderType": "sso", "Credentials": {AccessKeyId, SecretAccessKey, SessionToken,
Expiration, AccountId}}` with `Expiration` as `%Y-%m-%dT%H:%M:%SZ`. Credentials we fetch are
therefore reused by `aws` commands, and theirs by us.

`cached_credentials` is the fast path `credential-process` answers from before every AWS
command a user types: it reads one small file and must never import boto3 or create a botocore
session (tests check `sys.modules`). Everything that talks to AWS imports lazily.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from aws_sso_tray import clock
from aws_sso_tray.aws.warmcache import role_cache_key, usable_key_text
from aws_sso_tray.errors import LoginNeededError, NoRoleAccessError, ServiceError
from aws_sso_tray.files import atomicfile, paths
from aws_sso_tray.logs import warn_once

if TYPE_CHECKING:
    from aws_sso_tray.aws.profiles import SsoProfile

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

MIN_REMAINING = timedelta(minutes=15)  # botocore's CachedCredentialFetcher expiry window
PROVIDER_TYPE = "sso"


@dataclass(frozen=True)
class RoleCredentials:
    """Short-term credentials for one role (what GetRoleCredentials returns)."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(repr=False)
    expiration: datetime | None
    account_id: str | None = None

    def remaining(self, now: datetime) -> timedelta | None:
        return None if self.expiration is None else self.expiration - now

    def to_dict(self) -> dict[str, Any]:
        """The `Credentials` object of the AWS CLI cache file (botocore's keys and order)."""
        data: dict[str, Any] = {
            "AccessKeyId": self.access_key_id,
            "SecretAccessKey": self.secret_access_key,
            "SessionToken": self.session_token,
        }
        if self.expiration is not None:
            data["Expiration"] = clock.format_time(self.expiration)
        if self.account_id is not None:
            data["AccountId"] = self.account_id
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RoleCredentials:
        """Parse a `Credentials` object; ValueError when keys are missing or malformed."""
        key_id = data.get("AccessKeyId")
        secret = data.get("SecretAccessKey")
        if not isinstance(key_id, str) or not key_id or not isinstance(secret, str) or not secret:
            raise ValueError("no AccessKeyId / SecretAccessKey")
        token = data.get("SessionToken")
        for name, value in (("AccessKeyId", key_id), ("SecretAccessKey", secret)):
            if not usable_key_text(value):
                raise ValueError(f"{name} is not usable (it has whitespace)")
        if token not in (None, "") and not usable_key_text(token):
            raise ValueError("SessionToken is not usable (whitespace, or not a string)")
        expiration = data.get("Expiration")
        account = data.get("AccountId")
        try:
            expires = clock.parse_time(expiration) if expiration not in (None, "") else None
        except ValueError:
            raise ValueError("Expiration is not a usable time") from None  # no value: no secret
        return cls(
            access_key_id=key_id,
            secret_access_key=secret,
            session_token=token if isinstance(token, str) and token else None,
            expiration=expires,
            account_id=str(account) if account not in (None, "") else None,
        )


def cache_key(profile: SsoProfile) -> str:
    """botocore `SSOCredentialFetcher._create_cache_key`, byte for byte."""
    session = profile.session
    return role_cache_key(profile.account_id, profile.role_name, session.name, session.start_url)


def cache_file(profile: SsoProfile) -> Path:
    return paths.cli_cache_dir() / f"{cache_key(profile)}.json"


def read_cached(profile: SsoProfile) -> RoleCredentials | None:
    """The cached credentials for `profile` whatever their expiry; None if none or unusable."""
    data = atomicfile.read_json_object(cache_file(profile), what="role-credential cache")
    if data is None or not isinstance(data.get("Credentials"), dict):
        return None
    try:
        return RoleCredentials.from_dict(data["Credentials"])
    except ValueError as exc:
        # `exc` names a key or a timestamp, never a secret (a timestamp is none).
        path = str(cache_file(profile))
        warn_once(
            log,
            (path, str(exc)),
            "ignoring unusable role-credential cache %s for %s (%s)",
            path,
            profile.name,
            exc,
        )
        return None


def cached_credentials(
    profile: SsoProfile,
    *,
    min_remaining: timedelta = MIN_REMAINING,
    now: datetime | None = None,
) -> RoleCredentials | None:
    """Cached credentials with more than `min_remaining` left, else None. Cache only."""
    now = clock.now() if now is None else clock.parse_time(now)
    creds = read_cached(profile)
    # Without an expiry we cannot promise anything: treat as absent (botocore would fail on it).
    if creds is None or creds.expiration is None:
        return None
    if creds.expiration - now <= min_remaining:
        return None
    return creds


def write_cached(profile: SsoProfile, creds: RoleCredentials) -> None:
    """Write the cache file as botocore's JSONFileCache does (compact JSON), atomic, 0600."""
    document = {"ProviderType": PROVIDER_TYPE, "Credentials": creds.to_dict()}
    atomicfile.write_atomic(cache_file(profile), json.dumps(document).encode("utf-8"), mode=0o600)


def get_credentials(
    profile: SsoProfile,
    *,
    min_remaining: timedelta = MIN_REMAINING,
    force_refresh: bool = False,
    now: datetime | None = None,
) -> RoleCredentials:
    """Credentials with more than `min_remaining` left: from the cache, else from the portal.

    Fetching uses `tokens.valid_token` (which may refresh the SSO token) and writes the result
    back to the cache. Raises LoginNeededError, NoRoleAccessError, NetworkError,
    ThrottledError or ServiceError.
    """
    now = clock.now() if now is None else clock.parse_time(now)
    if not force_refresh:
        found = cached_credentials(profile, min_remaining=min_remaining, now=now)
        if found is not None:
            return found
    path = cache_file(profile)
    # Many `aws` commands started at once (make -j, terraform) must make one portal call, not many.
    with atomicfile.locked(path):
        if not force_refresh:
            found = cached_credentials(profile, min_remaining=min_remaining, now=now)
            if found is not None:
                return found
        from aws_sso_tray.aws import tokens

        token = tokens.valid_token(profile.session, now=now, login_hint=profile.name)
        creds = fetch_credentials(profile, token.access_token)
        write_cached(profile, creds)
    log.info(
        "role credentials for profile %s fetched; expire %s",
        profile.name,
        clock.format_time(creds.expiration) if creds.expiration else "never",
    )
    return creds


def fetch_many(
    profiles: Sequence[SsoProfile],
    *,
    min_remaining: timedelta = MIN_REMAINING,
    workers: int = 8,
) -> list[tuple[RoleCredentials | None, BaseException | None]]:
    """`get_credentials` for each profile, at most `workers` at once (the portal throttles).

    One (credentials, None) or (None, error) per profile, in the order given.
    """

    def fetch(profile: SsoProfile) -> RoleCredentials:
        return get_credentials(profile, min_remaining=min_remaining)

    return run_bounded(fetch, profiles, workers, name="sync")


def run_bounded(
    fn: Callable[[T], R], items: Sequence[T], workers: int, *, name: str = "refresh"
) -> list[tuple[R | None, BaseException | None]]:
    """`fn` over `items` on at most `workers` daemon threads; (result, error) per item.

    The one bounded pool for portal calls (`sync` and the engine's refreshes). Daemon threads,
    not a ThreadPoolExecutor: the interpreter waits for executor threads at exit, so a request
    hanging in a dead network would hold up SIGTERM.
    """
    results: list[tuple[R | None, BaseException | None]] = [(None, None)] * len(items)
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for index in range(len(items)):
        todo.put(index)

    def work() -> None:
        while True:
            try:
                index = todo.get_nowait()
            except queue.Empty:
                return
            try:
                results[index] = (fn(items[index]), None)
            except Exception as exc:
                results[index] = (None, exc)

    threads = [
        threading.Thread(target=work, name=f"{name}-{n}", daemon=True)
        for n in range(min(workers, len(items)))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def fetch_credentials(profile: SsoProfile, access_token: str) -> RoleCredentials:
    """GetRoleCredentials for the profile's account and role (no cache)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from aws_sso_tray.aws import clients

    what = f"getting credentials for profile '{profile.name}'"
    try:
        client = clients.portal_client(profile.session.region)
        response = client.get_role_credentials(
            roleName=profile.role_name,
            accountId=profile.account_id,
            accessToken=access_token,
        )
    except ClientError as exc:
        # Classified by awsclients' table; only the wording is this call's own.
        kind = clients.error_class(exc)
        if kind is LoginNeededError:
            raise LoginNeededError(
                f"SSO session '{profile.session.display_name}' for profile "
                f"'{profile.name}' has expired or was revoked: {_login_advice(profile)}"
            ) from exc
        if kind is NoRoleAccessError:
            raise NoRoleAccessError(
                f"you have no access to role {profile.role_name} in account "
                f"{profile.account_id} (profile '{profile.name}'): check sso_role_name "
                "and sso_account_id, or ask your administrator for access"
            ) from exc
        raise clients.to_app_error(exc, what=what, login_hint=_login_advice(profile)) from exc
    except BotoCoreError as exc:
        raise clients.to_app_error(exc, what=what) from exc
    return credentials_from_response(profile, response)


def credentials_from_response(profile: SsoProfile, response: Mapping[str, Any]) -> RoleCredentials:
    """The credentials in a GetRoleCredentials answer; ServiceError when they are not usable.

    Shared by `fetch_credentials` (botocore) and `coldfetch` (the same call without botocore),
    so both read the portal's answer the same way."""
    what = f"getting credentials for profile '{profile.name}'"
    raw = response.get("roleCredentials") or {}
    try:
        key_id, secret = raw["accessKeyId"], raw["secretAccessKey"]
    except KeyError as exc:
        raise ServiceError(f"{what}: the portal's answer has no {exc.args[0]}") from None
    expiration = raw.get("expiration")
    try:
        # epoch milliseconds; botocore keeps whole seconds in the cache, so do we.
        expires = clock.parse_time(int(expiration) // 1000)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        # A transient fault of the service, as far as we can tell: retried with backoff.
        what_was_wrong = (
            "has no expiration"
            if expiration is None
            else f"has an expiration out of range ({expiration!r}, epoch milliseconds)"
        )
        raise ServiceError(
            f"{what}: the portal's answer {what_was_wrong}; try again later"
        ) from None
    return RoleCredentials(
        access_key_id=key_id,
        secret_access_key=secret,
        session_token=raw.get("sessionToken"),
        expiration=expires,
        account_id=profile.account_id,
    )


def _login_advice(profile: SsoProfile) -> str:
    return f"run `aws-sso-tray login {profile.name}`"


def delete_cached_credentials(profiles: Iterable[SsoProfile] | None = None) -> int:
    """Delete SSO role-credential cache files (logout); returns how many were deleted.

    With `profiles`, only their files; with None, every file whose ProviderType is `sso`, as
    `aws sso logout` does (the file names are hashes, so a session's files can only be found
    through its profiles). Files of other providers (assume-role, ...) are never touched.
    """
    folder = paths.cli_cache_dir()
    if profiles is None:
        try:
            candidates = sorted(p for p in folder.iterdir() if p.suffix == ".json")
        except FileNotFoundError:
            return 0
    else:
        candidates = sorted({cache_file(p) for p in profiles})
    deleted = 0
    for path in candidates:
        data = atomicfile.read_json_object(path, what="role-credential cache")
        if data is None or data.get("ProviderType") != PROVIDER_TYPE:
            continue
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        deleted += 1
    return deleted
