"""The emulator's Identity Center: registrations, logins, tokens, accounts and its own clock.

Everything here is plain Python over a lock, with no HTTP: each API operation is a method that
takes the request's fields and returns the response's fields, or raises `ApiError` carrying the
botocore error type. `server.py` puts it on the wire; tests can drive it directly too.

Policies chosen where AWS leaves room (all documented in `emulator/__init__.py`):
- an SSO session starts when a login (device code or auth code) yields its first token and ends
  `session_ttl` later; access tokens never outlive it, refresh tokens die with it.
- refresh tokens rotate: every refresh returns a new one and revokes the one presented, so a
  client that forgets to store the new token fails its next refresh (unless the config's
  `rotate_refresh_tokens` is False, then the same refresh token is returned again).
- refresh tokens go to clients registered with the `refresh_token` grant (auth code + PKCE) and
  to device-code clients registered with scopes (an `[sso-session]`'s `sso_registration_scopes`,
  how `aws sso login` has renewed tokens since AWS CLI 2.9); a client registered with neither
  (the legacy profile's device-code registration) gets none.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import string
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
AUTH_CODE_GRANT = "authorization_code"
REFRESH_GRANT = "refresh_token"
KNOWN_GRANTS = frozenset({DEVICE_CODE_GRANT, AUTH_CODE_GRANT, REFRESH_GRANT})
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})

# HTTP status and OAuth `error` value of every error type the emulator can answer with. The
# statuses are the botocore models' (sso-oidc and sso 2019-06-10); ForbiddenException is not
# modelled but is what the real portal answers for a role the user is not assigned.
ERROR_TYPES: dict[str, tuple[int, str]] = {
    # sso-oidc
    "AccessDeniedException": (400, "access_denied"),
    "AuthorizationPendingException": (400, "authorization_pending"),
    "ExpiredTokenException": (400, "expired_token"),
    "InternalServerException": (500, "server_error"),
    "InvalidClientException": (401, "invalid_client"),
    "InvalidClientMetadataException": (400, "invalid_client_metadata"),
    "InvalidGrantException": (400, "invalid_grant"),
    "InvalidRedirectUriException": (400, "invalid_redirect_uri"),
    "InvalidRequestException": (400, "invalid_request"),
    "InvalidScopeException": (400, "invalid_scope"),
    "SlowDownException": (400, "slow_down"),
    "UnauthorizedClientException": (400, "unauthorized_client"),
    "UnsupportedGrantTypeException": (400, "unsupported_grant_type"),
    # sso (portal)
    "UnauthorizedException": (401, "unauthorized"),
    "TooManyRequestsException": (429, "too_many_requests"),
    "ResourceNotFoundException": (404, "not_found"),
    "ForbiddenException": (403, "forbidden"),
    # neither: an unknown path or method
    "UnknownOperationException": (404, "unknown_operation"),
}


class ApiError(Exception):
    """An API error answer: `code` is the botocore error type (the `x-amzn-ErrorType`)."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description

    @property
    def status(self) -> int:
        return ERROR_TYPES.get(self.code, (400, ""))[0]

    @property
    def oauth_error(self) -> str:
        return ERROR_TYPES.get(self.code, (400, "invalid_request"))[1]


@dataclass(frozen=True)
class Account:
    """An AWS account the emulated user is assigned to, with the roles (permission sets) there."""

    account_id: str
    name: str
    email: str
    roles: tuple[str, ...]


def _default_accounts() -> tuple[Account, ...]:
    return (
        Account("111111111111", "dev", "dev@example.com", ("ReadOnly", "Admin")),
        Account("222222222222", "prod", "prod@example.com", ("ReadOnly",)),
        Account("333333333333", "sandbox", "sandbox@example.com", ("Admin", "PowerUser")),
    )


@dataclass
class EmulatorConfig:
    """Knobs of the emulated Identity Center; mutable while it runs (e.g. `latency`)."""

    accounts: tuple[Account, ...] = field(default_factory=_default_accounts)
    access_token_ttl: float = 3600
    session_ttl: float = 8 * 3600
    credential_ttl: float = 3600
    registration_ttl: float = 90 * 86400
    device_code_ttl: float = 600
    device_poll_interval: int = 1
    auth_code_ttl: float = 600
    latency: float = 0.0
    # False: a refresh returns the presented refresh token again instead of a new one.
    rotate_refresh_tokens: bool = True
    # The error GetRoleCredentials answers for a role the user lacks. AWS answers
    # ForbiddenException (403, "No access"), which the model does not list; set
    # "ResourceNotFoundException" for the modelled 404.
    missing_role_error: str = "ForbiddenException"


@dataclass
class Client:
    client_id: str
    client_secret: str
    name: str
    scopes: tuple[str, ...]
    grant_types: tuple[str, ...] | None  # None: registered without grantTypes (legacy)
    redirect_uris: tuple[str, ...]
    issuer_url: str | None
    issued_at: float
    expires_at: float

    def allows(self, grant: str) -> bool:
        if self.grant_types is None:
            return grant == DEVICE_CODE_GRANT or (
                grant == REFRESH_GRANT and self.gets_refresh_tokens
            )
        return grant in self.grant_types

    @property
    def gets_refresh_tokens(self) -> bool:
        if self.grant_types is None:  # a device-code registration: refresh needs scopes
            return bool(self.scopes)
        return REFRESH_GRANT in self.grant_types


@dataclass
class DeviceAuthorization:
    device_code: str
    user_code: str
    client_id: str
    start_url: str
    expires_at: float
    interval: int
    status: str = "pending"  # pending | approved | denied | used
    last_poll: float | None = None


@dataclass
class AuthRequest:
    """An /authorize page shown and waiting for Allow or Deny."""

    request_id: str
    client_id: str
    redirect_uri: str
    state: str | None
    code_challenge: str
    scopes: tuple[str, ...]
    expires_at: float


@dataclass
class AuthCode:
    code: str
    client_id: str
    redirect_uri: str
    code_challenge: str
    scopes: tuple[str, ...]
    expires_at: float
    used: bool = False
    session_id: str | None = None


@dataclass
class Session:
    session_id: str
    client_id: str
    scopes: tuple[str, ...]
    started_at: float
    ends_at: float
    revoked: bool = False


@dataclass
class AccessToken:
    session_id: str
    expires_at: float
    revoked: bool = False


@dataclass
class RefreshToken:
    session_id: str
    client_id: str
    revoked: bool = False


@dataclass(frozen=True)
class IssuedLogin:
    """A login made with `Emulator.login()`: the registration and the first token."""

    start_url: str
    client_id: str
    client_secret: str
    registration_expires_at: float  # epoch seconds
    access_token: str
    expires_at: float  # epoch seconds, on the emulator's clock
    refresh_token: str | None

    def token_cache_entry(self, region: str = "us-east-1") -> dict[str, str]:
        """The AWS CLI's SSO token cache dict (`~/.aws/sso/cache/<sha1>.json`) for this login."""

        def iso(epoch: float) -> str:
            return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))

        entry = {
            "startUrl": self.start_url,
            "region": region,
            "accessToken": self.access_token,
            "expiresAt": iso(self.expires_at),
            "clientId": self.client_id,
            "clientSecret": self.client_secret,
            "registrationExpiresAt": iso(self.registration_expires_at),
        }
        if self.refresh_token is not None:
            entry["refreshToken"] = self.refresh_token
        return entry


@dataclass(frozen=True)
class IssuedCredentials:
    """Role credentials GetRoleCredentials (or STS AssumeRole) handed out, by access key id: what
    the services that take them (the federation endpoint, STS) check a request against."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    account_id: str
    role_name: str
    expires_at: float  # epoch seconds, on the emulator's clock


def _random(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _user_code() -> str:
    # No vowels or look-alike digits, like AWS's codes: nothing to misread or spell a word.
    alphabet = "BCDFGHJKLMNPQRSTVWXZ"
    return f"{_random(alphabet, 4)}-{_random(alphabet, 4)}"


def pkce_challenge(verifier: str) -> str:
    """base64url(sha256(verifier)) without padding: the S256 code challenge (RFC 7636)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def redirect_matches(registered: str, requested: str) -> bool:
    """Whether `requested` is allowed by the registered redirect URI.

    Loopback redirects match on any port (RFC 8252 section 7.3), as the AWS CLI registers
    `http://127.0.0.1/oauth/callback` and then listens on an ephemeral port; anything else must
    match exactly.
    """
    if registered == requested:
        return True
    try:
        reg, req = urlsplit(registered), urlsplit(requested)
        req.port  # noqa: B018 -- raises ValueError on a malformed port
    except ValueError:
        return False
    return (
        reg.scheme == req.scheme == "http"
        and reg.hostname is not None
        and reg.hostname == req.hostname
        and (reg.hostname in LOOPBACK_HOSTS or f"[{reg.hostname}]" in LOOPBACK_HOSTS)
        and reg.path == req.path
        and reg.query == req.query
        and not req.fragment
    )


def _valid_uri(value: str) -> bool:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 -- raises ValueError on a malformed port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _scope_ok(scope: str) -> bool:
    allowed = set(string.ascii_letters + string.digits + ":_.-/*")
    return bool(scope) and all(ch in allowed for ch in scope)


def _str_field(body: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise ApiError("InvalidRequestException", f"{name} is required")
        return None
    if not isinstance(value, str):
        raise ApiError("InvalidRequestException", f"{name} must be a string")
    if required and not value:
        raise ApiError("InvalidRequestException", f"{name} must not be empty")
    return value


def _str_list(body: dict[str, Any], name: str) -> tuple[str, ...] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ApiError("InvalidRequestException", f"{name} must be a list of strings")
    return tuple(value)


class IdentityCenter:
    """The whole emulated service state. Every public method is thread-safe."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self._lock = threading.RLock()
        self._offset = 0.0
        self._clients: dict[str, Client] = {}
        self._devices: dict[str, DeviceAuthorization] = {}  # by device code
        self._user_codes: dict[str, str] = {}  # user code -> device code
        self._auth_requests: dict[str, AuthRequest] = {}
        self._codes: dict[str, AuthCode] = {}
        self._sessions: dict[str, Session] = {}
        self._access: dict[str, AccessToken] = {}
        self._refresh: dict[str, RefreshToken] = {}
        self._issued: set[str] = set()
        # (account id, role name, emulator time) of every GetRoleCredentials, answered or not
        self._role_calls: list[tuple[str, str, float]] = []
        self._credentials: dict[str, IssuedCredentials] = {}  # by access key id

    # -- clock and admin --------------------------------------------------------------------

    def now(self) -> float:
        """The emulator's time (epoch seconds): the real time plus every `advance()`."""
        with self._lock:
            return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds

    def issued_secrets(self) -> set[str]:
        with self._lock:
            return set(self._issued)

    def role_calls(self, account_id: str, role_name: str) -> list[float]:
        with self._lock:
            return [t for a, r, t in self._role_calls if (a, r) == (account_id, role_name)]

    def revoke_all(self) -> None:
        with self._lock:
            for session in self._sessions.values():
                session.revoked = True

    def login(self, *, start_url: str, refresh: bool, scopes: tuple[str, ...]) -> IssuedLogin:
        """Register a client and start a session for it directly (see `Emulator.login`)."""
        body: dict[str, Any] = {"clientName": "emulator-login", "clientType": "public"}
        if scopes and refresh:  # without: a legacy registration, which gets no refresh token
            body["scopes"] = list(scopes)
        if refresh:
            body["grantTypes"] = [AUTH_CODE_GRANT, REFRESH_GRANT]
            body["redirectUris"] = ["http://127.0.0.1/oauth/callback"]
            body["issuerUrl"] = start_url
        with self._lock:
            registration = self.register_client(body)
            client = self._clients[registration["clientId"]]
            token = self._new_login(client, client.scopes)
            return IssuedLogin(
                start_url=start_url,
                client_id=client.client_id,
                client_secret=client.client_secret,
                registration_expires_at=client.expires_at,
                access_token=token["accessToken"],
                expires_at=self._access[token["accessToken"]].expires_at,
                refresh_token=token.get("refreshToken"),
            )

    def pending_user_codes(self) -> list[str]:
        """User codes of device authorizations still waiting for a decision, oldest first."""
        with self._lock:
            now = self.now()
            return [
                d.user_code
                for d in self._devices.values()
                if d.status == "pending" and d.expires_at > now
            ]

    def decide_device(self, user_code: str, allow: bool) -> None:
        """Approve or deny a device authorization; ApiError if the code is unknown or expired."""
        with self._lock:
            device = self._device_by_user_code(user_code)
            if device.status != "pending":
                raise ApiError("InvalidRequestException", "this code was already used")
            device.status = "approved" if allow else "denied"

    def device_status(self, user_code: str) -> str:
        with self._lock:
            return self._device_by_user_code(user_code).status

    def _device_by_user_code(self, user_code: str) -> DeviceAuthorization:
        code = user_code.strip().upper()
        if len(code) == 8 and "-" not in code:
            code = f"{code[:4]}-{code[4:]}"
        device_code = self._user_codes.get(code)
        device = self._devices.get(device_code) if device_code else None
        if device is None:
            raise ApiError("InvalidRequestException", "unknown code: check the code and retry")
        if device.expires_at <= self.now():
            raise ApiError("ExpiredTokenException", "this code has expired: start the login again")
        return device

    def _secret(self, value: str) -> str:
        self._issued.add(value)
        return value

    def remember_secret(self, value: str) -> str:
        """Count `value` among `issued_secrets()` (for the services beside this one)."""
        with self._lock:
            return self._secret(value)

    def issued_credentials(self, access_key_id: str) -> IssuedCredentials | None:
        """The role credentials issued under `access_key_id`, expired ones included."""
        with self._lock:
            return self._credentials.get(access_key_id)

    # -- sso-oidc ---------------------------------------------------------------------------

    def register_client(self, body: dict[str, Any]) -> dict[str, Any]:
        name = _str_field(body, "clientName", required=True)
        client_type = _str_field(body, "clientType", required=True)
        if client_type != "public":
            raise ApiError("InvalidClientMetadataException", "clientType must be 'public'")
        scopes = _str_list(body, "scopes") or ()
        bad_scopes = [s for s in scopes if not _scope_ok(s)]
        if bad_scopes:
            raise ApiError("InvalidScopeException", f"invalid scope: {bad_scopes[0]!r}")
        grant_types = _str_list(body, "grantTypes")
        if grant_types is not None:
            unknown = [g for g in grant_types if g not in KNOWN_GRANTS]
            if unknown:
                raise ApiError("UnsupportedGrantTypeException", f"unsupported grant: {unknown[0]}")
        redirect_uris = _str_list(body, "redirectUris") or ()
        for uri in redirect_uris:
            if not _valid_uri(uri):
                raise ApiError("InvalidRedirectUriException", f"invalid redirect URI: {uri!r}")
        if grant_types and AUTH_CODE_GRANT in grant_types and not redirect_uris:
            raise ApiError(
                "InvalidRedirectUriException", "authorization_code clients need redirectUris"
            )
        issuer_url = _str_field(body, "issuerUrl")
        if issuer_url is not None and not _valid_uri(issuer_url):
            raise ApiError("InvalidRequestException", "issuerUrl is not a URL")
        with self._lock:
            now = self.now()
            client = Client(
                client_id=secrets.token_urlsafe(16),
                client_secret=self._secret("eyJraWQiOiJlbXUifQ." + secrets.token_urlsafe(96)),
                name=name or "",
                scopes=scopes,
                grant_types=grant_types,
                redirect_uris=redirect_uris,
                issuer_url=issuer_url,
                issued_at=now,
                expires_at=now + self.config.registration_ttl,
            )
            self._clients[client.client_id] = client
        return {
            "clientId": client.client_id,
            "clientSecret": client.client_secret,
            "clientIdIssuedAt": int(client.issued_at),
            "clientSecretExpiresAt": int(client.expires_at),
        }

    def _authenticate(self, body: dict[str, Any]) -> Client:
        client_id = _str_field(body, "clientId", required=True)
        client_secret = _str_field(body, "clientSecret", required=True)
        client = self._clients.get(client_id or "")
        if client is None:
            raise ApiError("InvalidClientException", "unknown client")
        if not secrets.compare_digest(client.client_secret, client_secret or ""):
            raise ApiError("InvalidClientException", "invalid client secret")
        if client.expires_at <= self.now():
            raise ApiError("InvalidClientException", "client registration has expired")
        return client

    def start_device_authorization(self, body: dict[str, Any], base_url: str) -> dict[str, Any]:
        with self._lock:
            client = self._authenticate(body)
            start_url = _str_field(body, "startUrl", required=True) or ""
            if not _valid_uri(start_url):
                raise ApiError("InvalidRequestException", "startUrl is not a URL")
            if not client.allows(DEVICE_CODE_GRANT):
                raise ApiError(
                    "UnauthorizedClientException", "client is not registered for device code"
                )
            user_code = _user_code()
            while user_code in self._user_codes:
                user_code = _user_code()
            device = DeviceAuthorization(
                device_code=secrets.token_urlsafe(48),
                user_code=user_code,
                client_id=client.client_id,
                start_url=start_url,
                expires_at=self.now() + self.config.device_code_ttl,
                interval=self.config.device_poll_interval,
            )
            self._devices[device.device_code] = device
            self._user_codes[user_code] = device.device_code
        return {
            "deviceCode": device.device_code,
            "userCode": user_code,
            "verificationUri": f"{base_url}/device",
            "verificationUriComplete": f"{base_url}/device?user_code={user_code}",
            "expiresIn": int(self.config.device_code_ttl),
            "interval": device.interval,
        }

    def create_token(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            client = self._authenticate(body)
            grant = _str_field(body, "grantType", required=True) or ""
            if grant not in KNOWN_GRANTS:
                raise ApiError("UnsupportedGrantTypeException", f"unsupported grant: {grant}")
            if not client.allows(grant):
                raise ApiError(
                    "UnauthorizedClientException", f"client is not registered for {grant}"
                )
            if grant == DEVICE_CODE_GRANT:
                return self._token_from_device_code(client, body)
            if grant == AUTH_CODE_GRANT:
                return self._token_from_auth_code(client, body)
            return self._token_from_refresh(client, body)

    def _token_from_device_code(self, client: Client, body: dict[str, Any]) -> dict[str, Any]:
        device_code = _str_field(body, "deviceCode", required=True) or ""
        device = self._devices.get(device_code)
        if device is None or device.client_id != client.client_id or device.status == "used":
            raise ApiError("InvalidGrantException", "invalid device code")
        now = self.now()
        if device.expires_at <= now:
            raise ApiError("ExpiredTokenException", "device code has expired")
        if device.status == "denied":
            raise ApiError("AccessDeniedException", "the user denied the authorization")
        if device.status == "pending":
            previous, device.last_poll = device.last_poll, now
            # 50 ms of slack: a client sleeping exactly `interval` must never be told to slow down.
            if previous is not None and now - previous < device.interval - 0.05:
                raise ApiError("SlowDownException", "polling faster than the interval")
            raise ApiError("AuthorizationPendingException", "waiting for the user to approve")
        device.status = "used"
        return self._new_login(client, client.scopes)

    def _token_from_auth_code(self, client: Client, body: dict[str, Any]) -> dict[str, Any]:
        code_value = _str_field(body, "code", required=True) or ""
        redirect_uri = _str_field(body, "redirectUri", required=True) or ""
        verifier = _str_field(body, "codeVerifier", required=True) or ""
        code = self._codes.get(code_value)
        if code is None or code.client_id != client.client_id:
            raise ApiError("InvalidGrantException", "invalid authorization code")
        if code.used:
            # RFC 6749 10.5: a replayed code revokes what it already granted.
            if code.session_id is not None:
                self._sessions[code.session_id].revoked = True
            raise ApiError("InvalidGrantException", "authorization code already used")
        if code.expires_at <= self.now():
            raise ApiError("InvalidGrantException", "authorization code has expired")
        if redirect_uri != code.redirect_uri:
            raise ApiError("InvalidGrantException", "redirectUri does not match the authorization")
        if not secrets.compare_digest(pkce_challenge(verifier), code.code_challenge):
            raise ApiError("InvalidGrantException", "code verifier does not match the challenge")
        code.used = True
        answer = self._new_login(client, code.scopes)
        code.session_id = self._access[answer["accessToken"]].session_id
        return answer

    def _token_from_refresh(self, client: Client, body: dict[str, Any]) -> dict[str, Any]:
        value = _str_field(body, "refreshToken", required=True) or ""
        record = self._refresh.get(value)
        if record is None or record.client_id != client.client_id or record.revoked:
            raise ApiError("InvalidGrantException", "invalid refresh token")
        session = self._sessions[record.session_id]
        if session.revoked:
            raise ApiError("InvalidGrantException", "the session was revoked: log in again")
        if session.ends_at <= self.now():
            raise ApiError("InvalidGrantException", "the session has ended: log in again")
        answer = self._issue(session, client, rotate_from=value)
        return answer

    def _new_login(self, client: Client, scopes: tuple[str, ...]) -> dict[str, Any]:
        now = self.now()
        session = Session(
            session_id=secrets.token_hex(8),
            client_id=client.client_id,
            scopes=scopes,
            started_at=now,
            ends_at=now + self.config.session_ttl,
        )
        self._sessions[session.session_id] = session
        return self._issue(session, client, rotate_from=None)

    def _issue(self, session: Session, client: Client, rotate_from: str | None) -> dict[str, Any]:
        now = self.now()
        # An access token never outlives its SSO session.
        lifetime = max(1, int(min(self.config.access_token_ttl, session.ends_at - now)))
        access = self._secret("aoa" + secrets.token_urlsafe(120))
        self._access[access] = AccessToken(session.session_id, now + lifetime)
        answer: dict[str, Any] = {
            "accessToken": access,
            "tokenType": "Bearer",
            "expiresIn": lifetime,
        }
        if rotate_from is not None and not self.config.rotate_refresh_tokens:
            answer["refreshToken"] = rotate_from
        elif client.gets_refresh_tokens:
            refresh = self._secret("aor" + secrets.token_urlsafe(120))
            self._refresh[refresh] = RefreshToken(session.session_id, client.client_id)
            answer["refreshToken"] = refresh
            if rotate_from is not None:
                self._refresh[rotate_from].revoked = True
        return answer

    # -- browser pages ----------------------------------------------------------------------

    def check_authorize(self, params: dict[str, str]) -> Client:
        """Validate client_id and redirect_uri of an /authorize request (ApiError if bad)."""
        with self._lock:
            client = self._clients.get(params.get("client_id", ""))
            if client is None:
                raise ApiError("InvalidClientException", "unknown client_id")
            if client.expires_at <= self.now():
                raise ApiError("InvalidClientException", "client registration has expired")
            redirect_uri = params.get("redirect_uri", "")
            if not redirect_uri:
                raise ApiError("InvalidRedirectUriException", "redirect_uri is required")
            if not any(redirect_matches(r, redirect_uri) for r in client.redirect_uris):
                raise ApiError("InvalidRedirectUriException", "redirect_uri is not registered")
            return client

    def open_authorize(self, params: dict[str, str]) -> AuthRequest:
        """Validate the rest of an /authorize request (after `check_authorize`).

        Raises ApiError whose `oauth_error` belongs in the redirect back to the client.
        """
        with self._lock:
            client = self.check_authorize(params)
            if params.get("response_type") != "code":
                raise ApiError("UnsupportedGrantTypeException", "response_type must be 'code'")
            if not client.allows(AUTH_CODE_GRANT):
                raise ApiError("UnauthorizedClientException", "client is not registered for codes")
            if params.get("code_challenge_method") != "S256":
                raise ApiError("InvalidRequestException", "code_challenge_method must be S256")
            challenge = params.get("code_challenge", "")
            if not 43 <= len(challenge) <= 128:
                raise ApiError("InvalidRequestException", "code_challenge is missing or malformed")
            scopes = tuple(params.get("scopes", "").replace(",", " ").split())
            if client.scopes and not set(scopes) <= set(client.scopes):
                raise ApiError("InvalidScopeException", "scopes were not registered")
            request = AuthRequest(
                request_id=secrets.token_urlsafe(24),
                client_id=client.client_id,
                redirect_uri=params["redirect_uri"],
                state=params.get("state"),
                code_challenge=challenge,
                scopes=scopes or client.scopes,
                expires_at=self.now() + self.config.auth_code_ttl,
            )
            self._auth_requests[request.request_id] = request
            return request

    def decide_authorize(self, request_id: str, allow: bool) -> tuple[AuthRequest, str | None]:
        """Close an /authorize request: returns it and the new code (None when denied)."""
        with self._lock:
            request = self._auth_requests.pop(request_id, None)
            if request is None or request.expires_at <= self.now():
                raise ApiError("InvalidRequestException", "this sign-in request has expired")
            if not allow:
                return request, None
            code = AuthCode(
                code=secrets.token_urlsafe(32),
                client_id=request.client_id,
                redirect_uri=request.redirect_uri,
                code_challenge=request.code_challenge,
                scopes=request.scopes,
                expires_at=self.now() + self.config.auth_code_ttl,
            )
            self._codes[code.code] = code
            return request, code.code

    # -- sso (portal) -----------------------------------------------------------------------

    def _session_for(self, access_token: str | None) -> Session:
        record = self._access.get(access_token or "")
        if record is None:
            raise ApiError("UnauthorizedException", "Session token not found or invalid")
        session = self._sessions[record.session_id]
        if record.revoked or session.revoked:
            raise ApiError("UnauthorizedException", "Session token not found or invalid")
        if record.expires_at <= self.now():
            raise ApiError("UnauthorizedException", "Session token not found or invalid")
        return session

    def _account(self, account_id: str | None) -> Account | None:
        return next((a for a in self.config.accounts if a.account_id == account_id), None)

    def get_role_credentials(
        self, access_token: str | None, role_name: str | None, account_id: str | None
    ) -> dict[str, Any]:
        with self._lock:
            self._role_calls.append((account_id or "", role_name or "", self.now()))
            self._session_for(access_token)
            if not role_name or not account_id:
                raise ApiError("InvalidRequestException", "role_name and account_id are required")
            account = self._account(account_id)
            if account is None or role_name not in account.roles:
                raise ApiError(self.config.missing_role_error, "No access")
            upper = string.ascii_uppercase + string.digits
            secret_alphabet = string.ascii_letters + string.digits + "+/"
            credentials: dict[str, Any] = {
                "accessKeyId": "ASIA" + _random(upper, 16),
                "secretAccessKey": self._secret(_random(secret_alphabet, 40)),
                "sessionToken": self._secret(
                    "IQoJb3JpZ2luX2VjE" + base64.b64encode(secrets.token_bytes(300)).decode("ascii")
                ),
                "expiration": int((self.now() + self.config.credential_ttl) * 1000),
            }
            self._credentials[credentials["accessKeyId"]] = IssuedCredentials(
                credentials["accessKeyId"],
                credentials["secretAccessKey"],
                credentials["sessionToken"],
                account_id,
                role_name,
                credentials["expiration"] / 1000,
            )
        return {"roleCredentials": credentials}

    def issue_credentials(self, account_id: str, role_name: str, ttl: float) -> IssuedCredentials:
        """New `ASIA...` credentials for a role, living `ttl` (STS AssumeRole, emulator/sts.py):
        remembered like GetRoleCredentials' so they sign STS requests and the federation."""
        upper = string.ascii_uppercase + string.digits
        secret_alphabet = string.ascii_letters + string.digits + "+/"
        with self._lock:
            issued = IssuedCredentials(
                "ASIA" + _random(upper, 16),
                self._secret(_random(secret_alphabet, 40)),
                self._secret(
                    "IQoJb3JpZ2luX2VjE" + base64.b64encode(secrets.token_bytes(300)).decode("ascii")
                ),
                account_id,
                role_name,
                self.now() + ttl,
            )
            self._credentials[issued.access_key_id] = issued
        return issued

    @staticmethod
    def _page(
        items: list[Any], next_token: str | None, max_result: str | None
    ) -> tuple[list[Any], str | None]:
        try:
            start = int(base64.urlsafe_b64decode((next_token or "").encode()).decode() or 0)
            size = int(max_result) if max_result else 20
        except ValueError:
            raise ApiError("InvalidRequestException", "invalid next_token or max_result") from None
        if start < 0 or start > len(items) or not 1 <= size <= 1000:
            raise ApiError("InvalidRequestException", "invalid next_token or max_result")
        end = start + size
        token = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(items) else None
        return items[start:end], token

    def list_accounts(
        self, access_token: str | None, next_token: str | None, max_result: str | None
    ) -> dict[str, Any]:
        with self._lock:
            self._session_for(access_token)
            accounts = [
                {"accountId": a.account_id, "accountName": a.name, "emailAddress": a.email}
                for a in self.config.accounts
            ]
        page, token = self._page(accounts, next_token, max_result)
        answer: dict[str, Any] = {"accountList": page}
        if token:
            answer["nextToken"] = token
        return answer

    def list_account_roles(
        self,
        access_token: str | None,
        account_id: str | None,
        next_token: str | None,
        max_result: str | None,
    ) -> dict[str, Any]:
        with self._lock:
            self._session_for(access_token)
            if not account_id:
                raise ApiError("InvalidRequestException", "account_id is required")
            account = self._account(account_id)
            if account is None:
                raise ApiError("ResourceNotFoundException", "account not found")
            roles = [{"roleName": r, "accountId": account.account_id} for r in account.roles]
        page, token = self._page(roles, next_token, max_result)
        answer: dict[str, Any] = {"roleList": page}
        if token:
            answer["nextToken"] = token
        return answer

    def logout(self, access_token: str | None) -> None:
        with self._lock:
            session = self._session_for(access_token)
            # Ending the session invalidates every access and refresh token it issued.
            session.revoked = True
