"""The AWS services we talk to, as clients with botocore's interface, and their errors as AppErrors.

Both `sso` (the access portal) and `sso-oidc` authenticate with bearer tokens or client secrets,
not SigV4, so the clients are UNSIGNED: no credential lookup, no instance-metadata probe. In the
plain case `client()` hands out a `leanclient.LeanClient` (the same calls, answers and botocore
exceptions over `http.client`, without botocore's client machinery in memory); otherwise, and for
what the lean client leaves to it, a botocore client (`botocore_client`). Those come from a
botocore session that never reads the shared credentials file: botocore's
`Session.full_config` merges that file's profiles into the config (only to know their names),
so one duplicate section, BOM or stray line there would make every `sso` / `sso-oidc` call fail
with ConfigParseError, login and logout included. The AWS config file is still read, so
config-based endpoint settings keep working. botocore honours `AWS_ENDPOINT_URL_SSO` /
`AWS_ENDPOINT_URL_SSO_OIDC`, which is how the tests and the demo point everything at the local
emulator. We use `botocore.session` rather than boto3: same clients, a smaller import.

`sts_client` is the one SIGNED client: STS AssumeRole for roles chained on SSO profiles
(`aws/chained.py`), signed with the source credentials it is handed (explicit credentials, so
botocore looks up none of its own); `AWS_ENDPOINT_URL_STS` points it elsewhere.

`ERROR_CODES` is the one table of the services' error codes (and `ERROR_EXCEPTIONS` of botocore's
own exceptions): which `AppError` class each becomes, and so its exit code and its `recovery`.
`to_app_error()` / `translate_errors()` apply it; a caller that words a class's message for its
own context (rolecreds: "no access to role X") classifies through the table and rewords.
Flows that react to a code as a step, not a failure (AuthorizationPending, SlowDown while
polling) check `error_code()` first.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import TYPE_CHECKING, Any, cast

from aws_sso_tray.errors import (
    AppError,
    ConfigError,
    LoginDeniedError,
    LoginNeededError,
    NetworkError,
    NoRoleAccessError,
    Recovery,
    RegistrationError,
    RequestRejectedError,
    ServiceError,
    ThrottledError,
)

if TYPE_CHECKING:  # the stubs (botocore-stubs, types-boto3-sso[-oidc]) are for mypy only
    from botocore.client import BaseClient
    from botocore.session import Session
    from types_boto3_sso import SSOClient
    from types_boto3_sso_oidc import SSOOIDCClient
    from types_boto3_sts import STSClient

    from aws_sso_tray.aws.rolecreds import RoleCredentials

CONNECT_TIMEOUT = 5
READ_TIMEOUT = 20
MAX_ATTEMPTS = 4  # standard retry mode: throttling and 5xx retried with backoff and jitter

# The services' error codes (sso portal, sso-oidc) -> the AppError class they become. A code not
# listed is a ServiceError, retried with backoff (5xx, InternalServerException, new codes).
ERROR_CODES: Mapping[str, type[AppError]] = {
    # throttling: botocore's standard mode retried them already; back off further
    "TooManyRequestsException": ThrottledError,
    "ThrottlingException": ThrottledError,
    "Throttling": ThrottledError,
    "RequestLimitExceeded": ThrottledError,
    "SlowDownException": ThrottledError,  # the OIDC API's throttling answer
    # the token, refresh token or sign-in is no good: only a new login helps
    "UnauthorizedException": LoginNeededError,  # portal 401: token expired or revoked
    "InvalidGrantException": LoginNeededError,
    "ExpiredTokenException": LoginNeededError,
    "AccessDeniedException": LoginDeniedError,
    "InvalidClientException": RegistrationError,
    "UnauthorizedClientException": RegistrationError,
    # the request names something this user cannot have: fix the config or ask for access
    "ForbiddenException": NoRoleAccessError,  # AWS's answer for a role you lack (403)
    "ResourceNotFoundException": NoRoleAccessError,
    "InvalidRequestException": RequestRejectedError,
    "InvalidScopeException": RequestRejectedError,
    "InvalidClientMetadataException": RequestRejectedError,
    "InvalidRedirectUriException": RequestRejectedError,
    "UnsupportedGrantTypeException": RequestRejectedError,
    # STS AssumeRole (roles chained on SSO profiles)
    "AccessDenied": NoRoleAccessError,  # the source role may not assume this role
    "ValidationError": RequestRejectedError,  # e.g. DurationSeconds over the chaining limit
    "MalformedPolicyDocument": RequestRejectedError,
    "RegionDisabledException": RequestRejectedError,
    # the source credentials were refused: they are fetched afresh at the next try
    "ExpiredToken": ServiceError,
    "InvalidClientTokenId": ServiceError,
    "SignatureDoesNotMatch": ServiceError,
}

# botocore's own exceptions, by class name (matched along the MRO, so subclasses count) ->
# the AppError class. Names, not classes: importing botocore here would slow every command.
ERROR_EXCEPTIONS: Mapping[str, type[AppError]] = {
    "EndpointConnectionError": NetworkError,
    "ConnectionError": NetworkError,  # botocore's: connect timeouts, proxies, TLS (SSLError)
    "HTTPClientError": NetworkError,  # read timeouts, closed connections
    "InvalidRegionError": ConfigError,  # a malformed sso_region
    "NoRegionError": ConfigError,
    "ParamValidationError": ConfigError,  # e.g. an empty sso_account_id
}

_ADVICE: Mapping[type[AppError], str] = {
    ThrottledError: "AWS is throttling requests ({code}); wait a minute and retry",
    LoginDeniedError: "access was denied ({code}): log in again and choose Allow",
    RegistrationError: "the OIDC client registration was rejected ({message}); "
    "log in again to register a new client",
    NoRoleAccessError: "no access ({code}: {message}): check sso_account_id and "
    "sso_role_name in the AWS config, or ask your administrator for access",
    RequestRejectedError: "AWS rejected the request ({code}: {message}): "
    "check the profile in the AWS config",
}


def error_class(exc: BaseException) -> type[AppError]:
    """The AppError class the table gives `exc` (a botocore exception or an AppError)."""
    if isinstance(exc, AppError):
        return type(exc)
    code = error_code(exc)
    if code:
        return ERROR_CODES.get(code, ServiceError)
    for cls in type(exc).__mro__:
        found = ERROR_EXCEPTIONS.get(cls.__name__)
        if found is not None:
            return found
    return ServiceError


def recovery_of(exc: BaseException) -> Recovery:
    """What to do next after `exc`: log in, retry later, or have the user fix something."""
    return error_class(exc).recovery


# The variables botocore reads when it creates a client. Nothing here sets a proxy or a
# `verify` of our own: botocore resolves `ca_bundle` (AWS_CA_BUNDLE, else the config's
# `ca_bundle`) and HTTPS_PROXY / NO_PROXY (urllib's getproxies / proxy_bypass) as for any client.
_CLIENT_VARS = (
    "AWS_ENDPOINT_URL_SSO_OIDC",
    "AWS_ENDPOINT_URL_SSO",
    "AWS_ENDPOINT_URL",
    "AWS_CA_BUNDLE",
    "HTTPS_PROXY",
    "https_proxy",
    "NO_PROXY",
    "no_proxy",
)
_lock = threading.Lock()
_clients: dict[tuple[str, str, int], BaseClient] = {}
_session: Session | None = None


def client(service: str, region: str, *, max_attempts: int = MAX_ATTEMPTS) -> BaseClient:
    """A cached, thread-safe, unsigned client for `sso` or `sso-oidc` in `region`: a
    `leanclient.LeanClient` in the plain case (the same calls, answers and exceptions without
    botocore's client machinery in memory), else botocore's."""
    from aws_sso_tray.aws import leanclient

    lean = leanclient.client(
        service,
        region,
        max_attempts=max_attempts,
        fallback=lambda: botocore_client(service, region, max_attempts=max_attempts),
    )
    if lean is not None:
        return cast("BaseClient", lean)
    return botocore_client(service, region, max_attempts=max_attempts)


def botocore_client(service: str, region: str, *, max_attempts: int = MAX_ATTEMPTS) -> BaseClient:
    """A cached, thread-safe, unsigned botocore client for `sso` or `sso-oidc` in `region`."""
    import os

    # botocore reads the endpoint override, the CA bundle and the proxies when the client is
    # created: key the cache on them, so a process that changes them (tests, the demo) gets a
    # fresh client.
    endpoints = "|".join(os.environ.get(var, "") for var in _CLIENT_VARS)
    verify = _scoped_bundle()
    key = (f"{service}|{endpoints}|{verify}", region, max_attempts)
    with _lock:
        found = _clients.get(key)
        if found is not None:
            return found
        global _session
        from botocore import UNSIGNED
        from botocore.config import Config

        if _session is None:
            _session = _new_session()
        config = Config(
            signature_version=UNSIGNED,
            region_name=region,
            connect_timeout=CONNECT_TIMEOUT,
            read_timeout=READ_TIMEOUT,
            retries={"mode": "standard", "max_attempts": max_attempts},
        )
        created = _session.create_client(service, region_name=region, config=config, verify=verify)
        _clients[key] = created
        return created


def ca_bundle(profile: str | None = None) -> str | None:
    """The CA bundle botocore verifies our clients' endpoints with (AWS_CA_BUNDLE, else the
    `ca_bundle` of `profile` or of the block's `profile_ca_bundle`, else the process-wide one),
    for the AWS calls made without botocore (the console sign-in)."""
    global _session
    found = _scoped_bundle() if profile is None else _profile_bundle(profile)
    if found:
        return found
    from aws_sso_tray.aws import leanclient

    if not leanclient.config_declines():  # no ca_bundle anywhere in the config: no session
        return _env_bundle()
    with _lock:
        if _session is None:
            _session = _new_session()
        found = _session.get_config_variable("ca_bundle")
    return str(found) if found else None


# --- ca_bundle per profile ---------------------------------------------------------------------
# botocore reads `ca_bundle` from the *selected* profile's section (`aws --profile dev`), and every
# call made for that profile uses it: the sso portal, sso-oidc's token refresh, and for a chained
# profile STS and its source hops too (the source's own ca_bundle is not read). We act for many
# profiles in one process, so the profile is chosen per call: inside `profile_ca_bundle(NAME)`
# every client verifies with AWS_CA_BUNDLE when set (it wins, as in botocore), else NAME's
# `ca_bundle`, else the process-wide one botocore resolves (AWS_PROFILE's profile, or [default]).
# A call for an sso-session alone (login, logout) has no selected profile: `session_ca_bundle`
# uses the `ca_bundle` its profiles agree on (all that set one set the same), else the
# process-wide one, as `aws sso login --sso-session` would.

_scope: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "aws_sso_tray_ca_bundle", default=None
)  # None: no block; "": a block without a bundle of its own (botocore's default applies)


@contextlib.contextmanager
def profile_ca_bundle(profile: str) -> Iterator[None]:
    """Verify the block's AWS calls with `profile`'s CA bundle. The outermost block wins: a
    chained profile's source hops use the chained profile's, as botocore's do."""
    with _bundle_scope(lambda: _profile_bundle(profile)):
        yield


@contextlib.contextmanager
def session_ca_bundle(session_name: str | None, start_url: str) -> Iterator[None]:
    """Verify the block's calls for an sso-session (login, logout) with the `ca_bundle` its
    profiles agree on (`sso_session = NAME`, or legacy ones with that `sso_start_url`)."""

    def belongs(section: Mapping[str, object]) -> bool:
        named = section.get("sso_session")
        if session_name:
            return named == session_name
        return not named and section.get("sso_start_url") == start_url

    def agreed() -> str | None:
        found = {_section_bundle(s) for s in _config_profiles().values() if belongs(s)}
        found.discard(None)
        return found.pop() if len(found) == 1 else None

    with _bundle_scope(lambda: _env_bundle() or agreed()):
        yield


@contextlib.contextmanager
def _bundle_scope(choose: Callable[[], str | None]) -> Iterator[None]:
    if _scope.get() is not None:
        yield
        return
    token = _scope.set(choose() or "")
    try:
        yield
    finally:
        _scope.reset(token)


def _scoped_bundle() -> str | None:
    """The bundle the enclosing block chose; None: botocore resolves it (AWS_CA_BUNDLE first)."""
    return _scope.get() or None


def _env_bundle() -> str | None:
    import os

    return os.environ.get("AWS_CA_BUNDLE") or None


def _profile_bundle(profile: str) -> str | None:
    """AWS_CA_BUNDLE, else `profile`'s own ca_bundle (None: botocore's default)."""
    return _env_bundle() or _section_bundle(_config_profiles().get(profile, {}))


def _section_bundle(section: Mapping[str, object]) -> str | None:
    value = section.get("ca_bundle")
    return (value.strip() or None) if isinstance(value, str) else None


def _config_profiles() -> Mapping[str, Mapping[str, object]]:
    """The config file's profiles as botocore reads them, from `profiles`' parse of the file
    (cached until it changes: a long-running engine sees a new ca_bundle)."""
    from aws_sso_tray.aws import profiles

    try:
        return profiles.read_config().sections
    except ConfigError:  # the call itself then says what is wrong
        return {}


def _new_session() -> Session:
    """A botocore session for unsigned clients: the AWS config, but never the credentials file."""
    import os

    import botocore.session

    session = botocore.session.Session()
    session.set_config_variable("credentials_file", os.devnull)
    profile = session.get_config_variable("profile")
    if profile is not None and profile not in session.full_config.get("profiles", {}):
        # AWS_PROFILE names a profile of the credentials file only (or none at all): it has
        # nothing our clients use, and botocore would refuse to create any client for it.
        session = botocore.session.Session(session_vars={"profile": (None, None, None, None)})
        session.set_config_variable("credentials_file", os.devnull)
    _use_slim_endpoint_data(session)
    return session


# The endpoint prefixes of the services we create clients for (sso, sso-oidc, sts).
ENDPOINT_PREFIXES = ("portal.sso", "oidc", "sts")


def _use_slim_endpoint_data(session: Session) -> None:
    """Resolve client endpoints from endpoints.json cut down to our three services.

    botocore keeps all of endpoints.json (1.2 MB of JSON, ~7 MB as Python objects) for the
    life of the session, in its loader's cache and in its endpoint resolver, to resolve the
    three services we ever ask for. The file is read the way botocore reads it (the first one
    on the loader's search path, so a user's ~/.aws/models copy still wins), every partition's
    regions and defaults are kept, and only other services' entries are dropped: the answers
    for sso, sso-oidc and sts are the same (tests/test_clients.py compares them), and the
    long-running tray and daemon do not carry the rest.
    """
    from pathlib import Path

    from botocore.regions import EndpointResolver

    def create() -> EndpointResolver:
        loader = session.get_component("data_loader")
        for folder in loader.search_paths:
            path = str(Path(folder, "endpoints"))
            text = _read_json_text(path) if Path(folder).is_dir() else None
            if text is not None:
                return EndpointResolver(
                    _endpoints_of(text, ENDPOINT_PREFIXES),
                    uses_builtin_data=loader.is_builtin_path(path),
                )
        data, path = loader.load_data_with_path("endpoints")  # raises DataNotFoundError
        return EndpointResolver(data, uses_builtin_data=loader.is_builtin_path(path))

    components = session._internal_components  # type: ignore[attr-defined]
    components.lazy_register_component("endpoint_resolver", create)


def _read_json_text(path: str) -> str | None:
    """The text of botocore data file `path` (+ .json or .json.gz, as its loader looks)."""
    import gzip
    from pathlib import Path

    if Path(path + ".json").is_file():
        return Path(path + ".json").read_bytes().decode("utf-8")
    if Path(path + ".json.gz").is_file():
        with gzip.open(path + ".json.gz", "rb") as packed:
            return packed.read().decode("utf-8")
    return None


def _endpoints_of(text: str, services: Collection[str]) -> dict[str, Any]:
    """endpoints.json decoded with only `services` in each partition's `services`.

    Other services are decoded one at a time and dropped at once, so the whole file never
    exists as Python objects (they would leave megabytes of freed but unreturned heap). A file
    not shaped as expected is decoded whole and then cut down: the same answer, less frugally.
    """
    import json

    try:
        return dict(_EndpointsReader(text, services).read())
    except (ValueError, IndexError):
        data = json.loads(text)
        for part in data.get("partitions", []):
            part["services"] = {k: v for k, v in part.get("services", {}).items() if k in services}
        return dict(data)


class _EndpointsReader:
    """A walk over endpoints.json's top object, its partitions and their services."""

    _DROPPED = object()

    def __init__(self, text: str, services: Collection[str]) -> None:
        import json
        import re

        self.text = text
        self.services = services
        self.decoder = json.JSONDecoder()
        self.scanstring = json.decoder.scanstring  # type: ignore[attr-defined]
        self.space = re.compile(r"[ \t\n\r]*")

    def read(self) -> Any:
        return self.obj(self.skip(0), self.top)[0]

    def skip(self, pos: int) -> int:
        return self.space.match(self.text, pos).end()  # type: ignore[union-attr]  # always

    def expect(self, pos: int, char: str) -> None:
        if self.text[pos] != char:
            raise ValueError(f"{char!r} expected at {pos}")

    def obj(self, pos: int, member: Callable[[str, int], tuple[Any, int]]) -> tuple[Any, int]:
        text = self.text
        self.expect(pos, "{")
        found: dict[str, Any] = {}
        pos = self.skip(pos + 1)
        while text[pos] != "}":
            self.expect(pos, '"')
            key, pos = self.scanstring(text, pos + 1)
            pos = self.skip(pos)
            self.expect(pos, ":")
            value, pos = member(key, self.skip(pos + 1))
            if value is not self._DROPPED:
                found[key] = value
            pos = self.skip(pos)
            if text[pos] == ",":
                pos = self.skip(pos + 1)
        return found, pos + 1

    def top(self, key: str, pos: int) -> tuple[Any, int]:
        if key != "partitions" or self.text[pos] != "[":
            return self.decoder.raw_decode(self.text, pos)
        found: list[Any] = []
        pos = self.skip(pos + 1)
        while self.text[pos] != "]":
            item, pos = self.obj(pos, self.partition)
            found.append(item)
            pos = self.skip(pos)
            if self.text[pos] == ",":
                pos = self.skip(pos + 1)
        return found, pos + 1

    def partition(self, key: str, pos: int) -> tuple[Any, int]:
        if key == "services":
            return self.obj(pos, self.service)
        return self.decoder.raw_decode(self.text, pos)

    def service(self, key: str, pos: int) -> tuple[Any, int]:
        value, end = self.decoder.raw_decode(self.text, pos)
        return (value if key in self.services else self._DROPPED), end


def oidc_client(region: str, *, max_attempts: int = MAX_ATTEMPTS) -> SSOOIDCClient:
    """The `sso-oidc` client (register, device authorization, create_token) for `region`."""
    return cast("SSOOIDCClient", client("sso-oidc", region, max_attempts=max_attempts))


def portal_client(region: str, *, max_attempts: int = MAX_ATTEMPTS) -> SSOClient:
    """The `sso` access-portal client (accounts, roles, role credentials, logout) for `region`."""
    return cast("SSOClient", client("sso", region, max_attempts=max_attempts))


def sts_client(region: str, source: RoleCredentials) -> STSClient:
    """An `sts` client for `region`, SIGNED with `source` (and no other credential lookup).

    Not cached: each set of source credentials is its own client, and AssumeRole is rare."""
    from botocore.config import Config

    with _lock:
        global _session
        if _session is None:
            _session = _new_session()
        session = _session
    config = Config(
        region_name=region,
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS},
    )
    created = session.create_client(
        "sts",
        region_name=region,
        config=config,
        aws_access_key_id=source.access_key_id,
        aws_secret_access_key=source.secret_access_key,
        aws_session_token=source.session_token,
        verify=_scoped_bundle(),
    )
    return cast("STSClient", created)


def error_code(exc: BaseException) -> str | None:
    """The service error code of a botocore ClientError (e.g. 'InvalidGrantException')."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code else None
    return None


def error_message(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error", {})
        return str(error.get("Message") or error.get("Code") or exc)
    return str(exc)


def to_app_error(exc: BaseException, *, what: str, login_hint: str = "") -> AppError:
    """Turn a botocore exception raised while doing `what` into a one-line AppError."""
    if isinstance(exc, AppError):
        return exc
    cls = error_class(exc)
    code = error_code(exc)
    if cls is NetworkError and _is_tls_error(exc):
        return NetworkError(f"{what}: {_tls_problem(exc)}")
    proxy_url = getattr(exc, "kwargs", {}).get("proxy_url")
    if cls is NetworkError and proxy_url:
        return NetworkError(
            f"{what}: cannot reach the proxy {_without_password(proxy_url)} (HTTPS_PROXY); "
            "check it, or list the AWS endpoint in NO_PROXY"
        )
    if cls is NetworkError:
        endpoint = getattr(exc, "kwargs", {}).get("endpoint_url", "") or ""
        where = f" {endpoint}" if endpoint else ""
        return NetworkError(
            f"{what}: cannot reach the AWS endpoint{where} ({type(exc).__name__}); "
            "check your network or proxy and try again"
        )
    if cls is LoginNeededError:
        hint = f": {login_hint}" if login_hint else ""
        return LoginNeededError(f"{what}: the SSO session has expired or was revoked{hint}")
    if cls is ConfigError:
        return ConfigError(f"{what}: {str(exc).rstrip('.')}; check the profile in the AWS config")
    advice = _ADVICE.get(cls)
    if advice is not None:
        return cls(f"{what}: " + advice.format(code=code, message=error_message(exc)))
    if code:
        return cls(f"{what}: {code}: {error_message(exc)}")
    return cls(f"{what}: {type(exc).__name__}: {exc}")


def _without_password(url: str) -> str:
    """A proxy URL fit for a message: `user:password@` dropped."""
    from urllib.parse import urlsplit

    parts = urlsplit(str(url))
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


def _is_tls_error(exc: BaseException) -> bool:
    return any(cls.__name__ == "SSLError" for cls in type(exc).__mro__)


def _tls_problem(exc: BaseException) -> str:
    """What went wrong with TLS, and the setting that fixes it (botocore's SSLError)."""
    from urllib.parse import urlsplit

    kwargs = getattr(exc, "kwargs", {})
    endpoint = urlsplit(str(kwargs.get("endpoint_url") or "")).netloc or "the AWS endpoint"
    return tls_problem(endpoint, str(kwargs.get("error") or exc))


def tls_problem(endpoint: str, reason: str) -> str:
    """The words for a TLS failure at `endpoint` (host:port) with `reason` (the SSL error's
    text), for botocore's calls and ours made without it (the console sign-in)."""
    if "No such file" in reason or "Errno 2" in reason:
        return unreadable_bundle(endpoint)
    # "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate
    # in certificate chain (_ssl.c:1006)": keep only the why.
    detail = reason.partition("certificate verify failed")[2].partition(" (_ssl.c")[0].strip(": ")
    why = f" ({detail})" if detail else ""
    return (
        f"the TLS certificate of {endpoint} is not trusted{why}; if a proxy or your company "
        "inspects HTTPS, set ca_bundle in the AWS config or AWS_CA_BUNDLE to its CA "
        "certificate file (PEM)"
    )


def unreadable_bundle(endpoint: str) -> str:
    """The words for a CA bundle that cannot be read (missing, or no certificate in it)."""
    return (
        f"the CA bundle for {endpoint} cannot be read: fix the path in ca_bundle "
        "(AWS config) or AWS_CA_BUNDLE"
    )


@contextlib.contextmanager
def translate_errors(what: str, *, login_hint: str = "") -> Iterator[None]:
    """Re-raise botocore errors inside the block as AppErrors (see `to_app_error`)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (BotoCoreError, ClientError) as exc:
        raise to_app_error(exc, what=what, login_hint=login_hint) from exc
