"""Roles chained on SSO profiles: STS AssumeRole with the source profile's credentials, cached.

A `profiles.ChainedProfile` (`role_arn` + `source_profile`, down to an SSO role profile) gets
its credentials here: the source's credentials (SSO role credentials from `rolecreds`, or the
previous hop's from here), then AssumeRole through `clients.sts_client`, the one signed client,
signed with exactly those source credentials.

The cache is the AWS CLI's assume-role cache in `~/.aws/cli/cache`, shared with it and with
botocore's `AssumeRoleCredentialFetcher` when given that folder (as the AWS CLI does): the file
name is botocore's `_create_cache_key`, the sha1 of `json.dumps(assume_kwargs, sort_keys=True)`
where the kwargs are `RoleArn` and, when the profile sets them, `RoleSessionName`,
`ExternalId`, `DurationSeconds` (a generated session name is left out of the key); the content is
AssumeRole's answer (`{"Credentials": {...}, "AssumedRoleUser": {...}}`). So a role the AWS CLI
assumed is reused here, and ours by `aws` commands. Each hop of a chain is cached on its own key.

A chained role lasts at most an hour (STS's limit for role chaining, and SSO role credentials
are role credentials): callers plan from the credentials' `expiration`, never from a lifetime.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aws_sso_tray import clock
from aws_sso_tray.aws.profiles import ChainedProfile, SsoProfile
from aws_sso_tray.aws.rolecreds import MIN_REMAINING, RoleCredentials
from aws_sso_tray.errors import NoRoleAccessError, ServiceError
from aws_sso_tray.files import atomicfile, paths
from aws_sso_tray.logs import warn_once

log = logging.getLogger(__name__)

SESSION_NAME_PREFIX = "aws-sso-tray-"  # + epoch seconds, when the profile sets no name


def assume_kwargs(profile: ChainedProfile) -> dict[str, Any]:
    """AssumeRole's parameters for `profile`, as botocore's AssumeRoleProvider builds them
    (without a generated RoleSessionName)."""
    kwargs: dict[str, Any] = {}
    if profile.role_session_name is not None:
        kwargs["RoleSessionName"] = profile.role_session_name
    if profile.external_id is not None:
        kwargs["ExternalId"] = profile.external_id
    if profile.duration_seconds is not None:
        kwargs["DurationSeconds"] = profile.duration_seconds
    kwargs["RoleArn"] = profile.role_arn
    return kwargs


def cache_key(profile: ChainedProfile) -> str:
    """botocore `BaseAssumeRoleCredentialFetcher._create_cache_key`, byte for byte."""
    args = json.dumps(assume_kwargs(profile), sort_keys=True)
    digest = hashlib.sha1(args.encode("utf-8")).hexdigest()  # noqa: S324 - botocore's name
    return digest.replace(":", "_").replace("/", "_")


def cache_file(profile: ChainedProfile) -> Path:
    return paths.cli_cache_dir() / f"{cache_key(profile)}.json"


def read_cached(profile: ChainedProfile) -> RoleCredentials | None:
    """The cached credentials whatever their expiry; None if none or unusable."""
    path = cache_file(profile)
    data = atomicfile.read_json_object(path, what="assume-role cache")
    creds = data.get("Credentials") if data is not None else None
    if not isinstance(creds, dict):
        return None
    expiration = creds.get("Expiration")
    if isinstance(expiration, str) and expiration.endswith("UTC"):
        # botocore's JSONFileCache writes datetimes as strftime('%Y-%m-%dT%H:%M:%S%Z')
        creds = {**creds, "Expiration": expiration[:-3] + "Z"}
    try:
        return RoleCredentials.from_dict(creds)
    except ValueError as exc:  # names a key or says a time is unusable: never a secret
        warn_once(
            log,
            (str(path), str(exc)),
            "ignoring unusable assume-role cache %s for %s (%s)",
            path,
            profile.name,
            exc,
        )
        return None


def cached_credentials(
    profile: ChainedProfile, *, min_remaining: timedelta = MIN_REMAINING, now: datetime
) -> RoleCredentials | None:
    creds = read_cached(profile)
    if creds is None or creds.expiration is None or creds.expiration - now <= min_remaining:
        return None
    return creds


def write_cached(profile: ChainedProfile, creds: RoleCredentials, assumed: dict[str, str]) -> None:
    """Write the cache file as botocore's JSONFileCache does (compact JSON), atomic, 0600."""
    document = {"Credentials": creds.to_dict(), "AssumedRoleUser": assumed}
    atomicfile.write_atomic(cache_file(profile), json.dumps(document).encode("utf-8"), mode=0o600)


def credentials_of(
    profile: SsoProfile | ChainedProfile,
    *,
    min_remaining: timedelta = MIN_REMAINING,
    force_refresh: bool = False,
    now: datetime | None = None,
) -> RoleCredentials:
    """Credentials of an SSO role profile (`rolecreds`) or of a role chained on one (here).

    Every AWS call made for them verifies TLS with `profile`'s ca_bundle, as botocore's calls for
    a selected profile do (`clients.profile_ca_bundle`; AWS_CA_BUNDLE wins)."""
    from aws_sso_tray.aws import clients

    if isinstance(profile, SsoProfile):
        from aws_sso_tray.aws import rolecreds

        with clients.profile_ca_bundle(profile.name):
            return rolecreds.get_credentials(
                profile, min_remaining=min_remaining, force_refresh=force_refresh, now=now
            )
    return get_credentials(
        profile, min_remaining=min_remaining, force_refresh=force_refresh, now=now
    )


def get_credentials(
    profile: ChainedProfile,
    *,
    min_remaining: timedelta = MIN_REMAINING,
    force_refresh: bool = False,
    now: datetime | None = None,
) -> RoleCredentials:
    """Credentials of `profile` with more than `min_remaining` left: from the shared cache, else
    AssumeRole with the source's credentials (themselves from their cache when they last).

    `force_refresh` assumes the role again (its sources are still reused from their caches).
    Raises what getting the source credentials raises (LoginNeededError...), NoRoleAccessError
    when the role may not be assumed, NetworkError, ThrottledError or ServiceError. The calls
    for the whole chain use `profile`'s ca_bundle (botocore reads only the selected profile's).
    """
    from aws_sso_tray.aws import clients

    with clients.profile_ca_bundle(profile.name):
        return _get_credentials(profile, min_remaining, force_refresh=force_refresh, now=now)


def _get_credentials(
    profile: ChainedProfile,
    min_remaining: timedelta,
    *,
    force_refresh: bool,
    now: datetime | None,
) -> RoleCredentials:
    now = clock.now() if now is None else clock.parse_time(now)
    if not force_refresh:
        found = cached_credentials(profile, min_remaining=min_remaining, now=now)
        if found is not None:
            return found
    # Many `aws` commands started at once must make one AssumeRole call, not many.
    with atomicfile.locked(cache_file(profile)):
        if not force_refresh:
            found = cached_credentials(profile, min_remaining=min_remaining, now=now)
            if found is not None:
                return found
        source = credentials_of(profile.source, now=now)
        creds, assumed = assume_role(profile, source)
        write_cached(profile, creds, assumed)
    log.info(
        "assumed role %s for profile %s (from %s); expires %s",
        profile.role_arn,
        profile.name,
        profile.source.name,
        clock.format_time(creds.expiration) if creds.expiration else "never",
    )
    return creds


def assume_role(
    profile: ChainedProfile, source: RoleCredentials
) -> tuple[RoleCredentials, dict[str, str]]:
    """STS AssumeRole for `profile`, signed with `source`; the credentials and AssumedRoleUser."""
    from botocore.exceptions import BotoCoreError, ClientError

    from aws_sso_tray.aws import clients

    what = f"assuming role {profile.role_arn} for profile '{profile.name}'"
    kwargs = assume_kwargs(profile)
    kwargs.setdefault("RoleSessionName", f"{SESSION_NAME_PREFIX}{int(time.time())}")
    region = profile.region or profile.root.region or profile.session.region
    try:
        response = clients.sts_client(region, source).assume_role(**kwargs)
    except ClientError as exc:
        if clients.error_class(exc) is NoRoleAccessError:
            raise NoRoleAccessError(
                f"{what}: profile '{profile.source.name}' may not assume it "
                f"({clients.error_code(exc)}: {clients.error_message(exc)}); check role_arn "
                "and the role's trust policy, or ask your administrator"
            ) from exc
        raise clients.to_app_error(exc, what=what) from exc
    except BotoCoreError as exc:
        raise clients.to_app_error(exc, what=what) from exc
    raw = response.get("Credentials")
    if not raw:
        raise ServiceError(f"{what}: STS answered without credentials; try again later")
    user = response.get("AssumedRoleUser") or {}
    arn = user.get("Arn", "")
    parts = arn.split(":")
    creds = RoleCredentials(
        access_key_id=raw["AccessKeyId"],
        secret_access_key=raw["SecretAccessKey"],
        session_token=raw.get("SessionToken"),
        # botocore keeps whole seconds in the cache, so do we
        expiration=clock.parse_time(raw["Expiration"]).replace(microsecond=0),
        account_id=parts[4] if len(parts) > 5 and parts[4] else profile.account_id,
    )
    assumed = {"AssumedRoleId": user.get("AssumedRoleId", ""), "Arn": arn}
    return creds, assumed


__all__ = [
    "assume_kwargs",
    "assume_role",
    "cache_file",
    "cache_key",
    "cached_credentials",
    "credentials_of",
    "get_credentials",
    "read_cached",
    "write_cached",
]
