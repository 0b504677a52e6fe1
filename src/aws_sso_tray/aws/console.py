"""The AWS console for a profile: the access portal's shortcut link, or a federation sign-in URL.

`portal_url` builds the access portal's shortcut link
(`{sso_start_url}/#/console?account_id=ID&role_name=ROLE[&destination=URL]`): it needs no
credentials, works with the console's multi-session support, and the browser's portal sign-in
does the rest. `federated_url` signs in with the role credentials themselves, for a browser
that is not signed in to the portal: GetSigninToken, then an `Action=login` URL, on the sign-in
endpoint of the partition the SSO region is in (`AWS_ENDPOINT_URL_SIGNIN` overrides it, the
SDKs' service-specific endpoint convention, so the emulator can serve it).

Secrets: the GetSigninToken request carries the secret key and session token, and the login URL
carries a sign-in token that opens the console to whoever holds it; none of them is ever logged
nor put in an error message.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

from aws_sso_tray.errors import ConfigError, NetworkError, ServiceError, UsageError

if TYPE_CHECKING:
    from aws_sso_tray.aws.profiles import SsoProfile
    from aws_sso_tray.aws.rolecreds import RoleCredentials

log = logging.getLogger(__name__)

SIGNIN_ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL_SIGNIN"
SIGNIN_TIMEOUT = 30.0  # seconds for GetSigninToken


@dataclass(frozen=True)
class Partition:
    """Where a partition's people sign in to the console, and the console's own host."""

    name: str
    signin_host: str
    console_host: str


PARTITIONS: Mapping[str, Partition] = {
    p.name: p
    for p in (
        Partition("aws", "signin.aws.amazon.com", "console.aws.amazon.com"),
        Partition("aws-cn", "signin.amazonaws.cn", "console.amazonaws.cn"),
        Partition("aws-us-gov", "signin.amazonaws-us-gov.com", "console.amazonaws-us-gov.com"),
    )
}


def partition_of(region: str) -> Partition:
    """The partition `region` is in, as botocore's endpoint data says (`cn-*` is aws-cn,
    `us-gov-*` aws-us-gov); a region botocore does not know is taken to be in `aws`, as
    botocore itself does. ConfigError for a partition without a known console sign-in."""
    from aws_sso_tray.aws import leanclient

    if leanclient.standard_region(region):  # the `aws` partition's regionRegex: no botocore
        return PARTITIONS["aws"]
    import botocore.exceptions
    import botocore.session

    try:
        name = botocore.session.get_session().get_partition_for_region(region)
    except botocore.exceptions.UnknownRegionError:
        name = "aws"
    found = PARTITIONS.get(name)
    if found is None:
        raise ConfigError(
            f"the console sign-in of partition {name!r} (region {region}) is not known: "
            f"set {SIGNIN_ENDPOINT_VARIABLE} to its sign-in endpoint"
        )
    return found


def check_destination(destination: str) -> str:
    """A console URL to land on; UsageError unless it is an absolute http(s) URL."""
    from urllib.parse import urlsplit

    parts = urlsplit(destination.strip())
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise UsageError(
            f"--destination {destination!r} is not a console URL: give the whole address, "
            "such as https://console.aws.amazon.com/s3/home"
        )
    return destination.strip()


def region_home(partition: Partition, region: str) -> str:
    """The console's home page in `region`."""
    return f"https://{partition.console_host}/console/home?region={quote(region, safe='')}"


def _destination(partition: Partition, destination: str | None, region: str | None) -> str | None:
    if destination is not None:
        return check_destination(destination)
    return region_home(partition, region) if region else None


def portal_url(
    profile: SsoProfile, *, destination: str | None = None, region: str | None = None
) -> str:
    """The access portal's shortcut link to the console of `profile`'s account and role (in
    `region`'s console home, or at `destination`, when given)."""
    start = profile.session.start_url.rstrip("/")
    query = f"account_id={quote(profile.account_id, safe='')}"
    query += f"&role_name={quote(profile.role_name, safe='')}"
    if destination is not None:
        target: str | None = check_destination(destination)
    elif region:
        target = region_home(partition_of(profile.session.region), region)
    else:
        target = None  # the portal's own default: the console's front page
    if target is not None:
        query += f"&destination={quote(target, safe='')}"
    return f"{start}/#/console?{query}"


def signin_endpoint(partition: Partition) -> str:
    """The federation endpoint: `AWS_ENDPOINT_URL_SIGNIN` when set (and configured endpoints
    are not ignored, `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`), else the partition's."""
    override = os.environ.get(SIGNIN_ENDPOINT_VARIABLE, "").strip()
    ignored = os.environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() == "true"
    base = override if override and not ignored else f"https://{partition.signin_host}"
    return base.rstrip("/") + "/federation"


def federated_url(
    creds: RoleCredentials,
    *,
    sso_region: str,
    destination: str | None = None,
    region: str | None = None,
    profile: str = "",
) -> str:
    """A federation sign-in URL for `creds` (GetSigninToken, then `Action=login`), landing on
    `destination`, `region`'s console home, or the console's front page."""
    partition = partition_of(sso_region)
    endpoint = signin_endpoint(partition)
    token = signin_token(creds, endpoint, profile=profile)
    target = _destination(partition, destination, region) or f"https://{partition.console_host}/"
    query = urlencode({"Action": "login", "Destination": target, "SigninToken": token})
    return f"{endpoint}?{query}"


def signin_token(creds: RoleCredentials, endpoint: str, *, profile: str = "") -> str:
    """GetSigninToken at `endpoint` for `creds`: the token an `Action=login` URL carries."""
    import ssl
    import urllib.error
    import urllib.request

    from aws_sso_tray.aws import clients

    whose = f" of profile '{profile}'" if profile else ""
    if not creds.session_token:
        raise ConfigError(
            f"the credentials{whose} are long-term keys: the console sign-in takes only "
            "temporary credentials (an SSO or assumed role)"
        )
    session = json.dumps(
        {
            "sessionId": creds.access_key_id,
            "sessionKey": creds.secret_access_key,
            "sessionToken": creds.session_token,
        }
    )
    url = f"{endpoint}?{urlencode({'Action': 'getSigninToken', 'Session': session})}"
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    host = endpoint.split("/")[2] if "//" in endpoint else endpoint
    what = f"signing in to the AWS console at {host}{whose}"
    # Trust what our botocore clients trust for this profile (AWS_CA_BUNDLE, else the
    # profile's ca_bundle, else the process-wide one); proxies: urllib reads them too.
    bundle = clients.ca_bundle(profile or None)
    try:
        context = ssl.create_default_context(cafile=bundle) if bundle else None
    except (OSError, ssl.SSLError) as exc:  # a missing or unreadable file, or no PEM in it
        raise NetworkError(f"{what}: {clients.unreadable_bundle(host)} ({exc})") from None
    try:
        with urllib.request.urlopen(  # noqa: S310
            request, timeout=SIGNIN_TIMEOUT, context=context
        ) as answer:
            body = answer.read()
    except urllib.error.HTTPError as exc:
        raise ServiceError(
            f"the AWS sign-in service ({host}) refused the credentials{whose} "
            f"(HTTP {exc.code}): they may have expired; try again, or sign in with the portal "
            "link (`aws-sso-tray console` without --federated)"
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, ssl.SSLError):  # the certificate is not trusted: say which setting
            raise NetworkError(f"{what}: {clients.tls_problem(host, str(reason))}") from None
        raise NetworkError(
            f"cannot reach the AWS sign-in service ({host}): {reason}; check your network or "
            "proxy (HTTPS_PROXY / NO_PROXY) and try again"
        ) from None
    try:
        token = json.loads(body)["SigninToken"]
    except (ValueError, KeyError, TypeError):
        raise ServiceError(f"the AWS sign-in service ({host}) answered without a token") from None
    if not isinstance(token, str) or not token:
        raise ServiceError(f"the AWS sign-in service ({host}) answered without a token")
    log.debug("console: got a sign-in token from %s", host)
    return token


__all__ = [
    "PARTITIONS",
    "SIGNIN_ENDPOINT_VARIABLE",
    "Partition",
    "check_destination",
    "federated_url",
    "partition_of",
    "portal_url",
    "region_home",
    "signin_endpoint",
    "signin_token",
]
