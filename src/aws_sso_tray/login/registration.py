"""The OIDC client registration a login signs in with, and its cache file.

The file is the AWS CLI's own (same name, same JSON under ~/.aws/sso/cache), so either tool
reuses the other's registration until it expires within 15 minutes or lacks a grant the flow
needs. `obtain` returns a registration that suits the flow, registering a public client only
when the cached one does not; `drop` discards one the service has rejected. The client secret
is registered with `logs.register_secret` the moment it is read or received.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aws_sso_tray import clock, logs
from aws_sso_tray.errors import Recovery, RegistrationError
from aws_sso_tray.files import atomicfile, paths
from aws_sso_tray.login.callback import REDIRECT_URI
from aws_sso_tray.login.prompt import Flow

if TYPE_CHECKING:
    from aws_sso_tray.aws.profiles import SsoSession

log = logging.getLogger(__name__)

DEFAULT_SCOPE = "sso:account:access"
AUTH_CODE_GRANT = "authorization_code"
REFRESH_GRANT = "refresh_token"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
PKCE_GRANTS = (AUTH_CODE_GRANT, REFRESH_GRANT)
REGISTRATION_MIN_REMAINING = timedelta(minutes=15)  # the AWS CLI's _EXPIRY_WINDOW


def registration_cache_file(session: SsoSession) -> Path:
    """The AWS CLI's client-registration cache file for `session` (same name, same content)."""
    scopes = list(session.registration_scopes) if session.registration_scopes else None
    args = {
        "tool": "botocore",
        "startUrl": session.start_url,
        "region": session.region,
        "scopes": scopes,
        "session_name": session.name,
    }
    digest = hashlib.sha1(
        json.dumps(args, sort_keys=True).encode("utf-8"), usedforsecurity=False
    ).hexdigest()
    return paths.sso_cache_dir() / f"{digest}.json"


@dataclass(frozen=True)
class Registration:
    client_id: str
    client_secret: str
    expires_at: datetime
    scopes: tuple[str, ...]
    grant_types: tuple[str, ...] | None  # None: registered without (the CLI's device flow)

    def suits(self, flow: Flow, now: datetime) -> bool:
        """Live for 15 more minutes and registered for the grant the flow needs."""
        if self.expires_at - now < REGISTRATION_MIN_REMAINING:
            return False
        if flow == "pkce":
            return self.grant_types is not None and all(g in self.grant_types for g in PKCE_GRANTS)
        # A registration without grantTypes is the device flow's; one that lists its grants
        # must list the device grant (the AWS CLI re-registers any auth-code registration).
        return self.grant_types is None or DEVICE_GRANT in self.grant_types

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "clientId": self.client_id,
            "clientSecret": self.client_secret,
            "expiresAt": clock.format_time(self.expires_at),
        }
        if self.scopes:
            data["scopes"] = list(self.scopes)
        if self.grant_types is not None:
            data["grantTypes"] = list(self.grant_types)
        return data


def read_registration(session: SsoSession) -> Registration | None:
    path = registration_cache_file(session)
    try:
        text = atomicfile.read_text(path)
        if text is None:
            return None
        data = json.loads(text)
        grants = data.get("grantTypes")
        return Registration(
            client_id=str(data["clientId"]),
            client_secret=str(data["clientSecret"]),
            expires_at=clock.parse_time(data["expiresAt"]),
            scopes=tuple(data.get("scopes") or ()),
            grant_types=tuple(grants) if isinstance(grants, list) else None,
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        log.info("ignoring unusable client registration cache %s", path)
        return None


def obtain(session: SsoSession, client: Any, flow: Flow, now: datetime) -> Registration:
    """A registration that suits `flow`: the cached one when it does, else a new one (cached)."""
    # An [sso-session] always asks for scopes (the portal's default when the config names none):
    # a client registered with scopes gets refresh tokens, so the session renews silently in
    # either flow. A legacy profile registers as the AWS CLI does for it, without scopes.
    scopes = session.registration_scopes
    if flow == "pkce" or session.name is not None:
        scopes = scopes or (DEFAULT_SCOPE,)
    cached = read_registration(session)
    if cached is not None and cached.suits(flow, now) and set(scopes) <= set(cached.scopes):
        log.debug("reusing the cached client registration for session %s", session.display_name)
        logs.register_secret(cached.client_secret)
        return cached
    response = _register_client(session, client, flow, scopes, now)
    logs.register_secret(response["clientSecret"])
    registration = Registration(
        client_id=response["clientId"],
        client_secret=response["clientSecret"],
        expires_at=clock.parse_time(int(response["clientSecretExpiresAt"])),
        scopes=tuple(scopes),
        grant_types=tuple(PKCE_GRANTS) if flow == "pkce" else None,
    )
    atomicfile.write_atomic(
        registration_cache_file(session), json.dumps(registration.to_dict()).encode("utf-8")
    )
    log.info("registered a new OIDC client for session %s", session.display_name)
    return registration


def _register_client(
    session: SsoSession, client: Any, flow: Flow, scopes: tuple[str, ...], now: datetime
) -> Any:
    """RegisterClient's answer, its failures as the AppErrors a person sees."""
    from botocore.exceptions import BotoCoreError, ClientError

    from aws_sso_tray.aws import clients

    kwargs: dict[str, Any] = {
        "clientName": f"aws-sso-tray-{session.name or int(now.timestamp())}",
        "clientType": "public",
    }
    if flow == "pkce":
        kwargs.update(
            grantTypes=list(PKCE_GRANTS),
            redirectUris=[REDIRECT_URI],
            issuerUrl=session.start_url,
        )
    if scopes:
        kwargs["scopes"] = list(scopes)
    what = f"registering a client for SSO session '{session.display_name}'"
    try:
        return client.register_client(**kwargs)
    except ClientError as exc:
        # What to do next comes from the one table: throttling and 5xx are retried later;
        # any other refusal is of this registration, which the config's values decide.
        if clients.recovery_of(exc) is Recovery.RETRY:
            raise clients.to_app_error(exc, what=what) from exc
        raise RegistrationError(
            f"{what}: {clients.error_code(exc)}: {clients.error_message(exc)}; "
            "check sso_start_url, sso_region and sso_registration_scopes in ~/.aws/config"
        ) from exc
    except BotoCoreError as exc:
        raise clients.to_app_error(exc, what=what) from exc


def drop(session: SsoSession) -> None:
    """Discard the cached registration (the service rejected it)."""
    with contextlib.suppress(FileNotFoundError):
        registration_cache_file(session).unlink()
