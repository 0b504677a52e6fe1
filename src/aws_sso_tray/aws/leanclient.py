"""The `sso` and `sso-oidc` calls made without botocore, in the plain case.

Every call the always-on engine and the tray make is one of seven unsigned REST-JSON requests
(`OPERATIONS`): the portal's GetRoleCredentials, ListAccounts, ListAccountRoles and Logout, and
sso-oidc's RegisterClient, StartDeviceAuthorization and CreateToken. Importing botocore's session
and client machinery to send them costs the long-running tray about 10 MB (issue 13: the tray
under 70 MB), so `clients.client()` hands out a `LeanClient` instead of a botocore client
whenever the case is plain, and botocore only where it is not.

A LeanClient answers the same method calls with the same answers and raises botocore's own
exceptions (imported from `botocore.exceptions`, a small module), so `clients`' error table,
`to_app_error` and every caller work unchanged:

- the request is the one botocore's model describes (tests/test_leanclient.py compares
  `OPERATIONS` with botocore's service models and the requests both send to the emulator);
- an error answer is parsed as botocore's RestJSONParser parses it (code from `x-amzn-ErrorType`,
  else the body's `code` / `__type`, else the HTTP status; message from `message` / `Message`)
  and raised as `ClientError`; a failed connection as EndpointConnectionError,
  ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError or SSLError, with `endpoint_url`;
- retries are botocore's standard mode: up to `max_attempts` retries (botocore's
  `retries={"max_attempts": N}` counts retries, not attempts) for throttling codes and 429,
  500/502/503/504, transient codes and connection failures, after
  `rand(0, 1) * min(scale * 2 ** (attempt - 1), 20)` seconds (scale 1 s when throttled, 50 ms
  otherwise). Not copied: the retry quota (botocore's token bucket) and `x-amz-retry-after`.

Plain means (`endpoint`): the endpoint is AWS_ENDPOINT_URL_SSO / _SSO_OIDC as given, or the
`aws` partition's `https://PREFIX.REGION.amazonaws.com` (botocore's ruleset; tests compare the
two); no AWS_ENDPOINT_URL, FIPS or dual-stack setting in the environment, no endpoint, FIPS,
dual-stack, `services` or `ca_bundle` key anywhere in the AWS config; no proxy applies; and the
CA bundle (AWS_CA_BUNDLE, else certifi's, else botocore's own, what botocore verifies with) loads.
Anything else (and any call whose parameters are not plainly valid: botocore validates them and
words the failure) goes to the botocore client, created when first needed.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import http.client
    import ssl

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5  # clients.CONNECT_TIMEOUT / READ_TIMEOUT
READ_TIMEOUT = 20
MAX_ANSWER_BYTES = 1 << 20
BEARER_HEADER = "x-amz-sso_bearer_token"
USER_AGENT = "aws-sso-tray (lean client)"


@dataclass(frozen=True)
class Operation:
    """One REST-JSON operation as botocore's service model has it: where each member goes."""

    name: str  # the API name (GetRoleCredentials), for ClientError's message
    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)  # member -> query parameter
    headers: Mapping[str, str] = field(default_factory=dict)  # member -> header
    body: tuple[str, ...] = ()  # members sent as the JSON body
    required: tuple[str, ...] = ()
    lists: tuple[str, ...] = ()  # members that are lists of strings
    integers: tuple[str, ...] = ()  # members that are integers (1..100 here)
    answer: tuple[str, ...] = ()  # the answer's members (botocore drops any other field)


_BEARER = {"accessToken": BEARER_HEADER}
_PAGE = {"nextToken": "next_token", "maxResults": "max_result"}
OPERATIONS: Mapping[str, Mapping[str, Operation]] = {
    "sso": {
        "get_role_credentials": Operation(
            "GetRoleCredentials",
            "GET",
            "/federation/credentials",
            query={"roleName": "role_name", "accountId": "account_id"},
            headers=_BEARER,
            required=("roleName", "accountId", "accessToken"),
            answer=("roleCredentials",),
        ),
        "list_accounts": Operation(
            "ListAccounts",
            "GET",
            "/assignment/accounts",
            query=_PAGE,
            headers=_BEARER,
            required=("accessToken",),
            integers=("maxResults",),
            answer=("nextToken", "accountList"),
        ),
        "list_account_roles": Operation(
            "ListAccountRoles",
            "GET",
            "/assignment/roles",
            query={**_PAGE, "accountId": "account_id"},
            headers=_BEARER,
            required=("accessToken", "accountId"),
            integers=("maxResults",),
            answer=("nextToken", "roleList"),
        ),
        "logout": Operation(
            "Logout", "POST", "/logout", headers=_BEARER, required=("accessToken",)
        ),
    },
    "sso-oidc": {
        "register_client": Operation(
            "RegisterClient",
            "POST",
            "/client/register",
            body=(
                "clientName",
                "clientType",
                "scopes",
                "redirectUris",
                "grantTypes",
                "issuerUrl",
                "entitledApplicationArn",
            ),
            required=("clientName", "clientType"),
            lists=("scopes", "redirectUris", "grantTypes"),
            answer=(
                "clientId",
                "clientSecret",
                "clientIdIssuedAt",
                "clientSecretExpiresAt",
                "authorizationEndpoint",
                "tokenEndpoint",
            ),
        ),
        "start_device_authorization": Operation(
            "StartDeviceAuthorization",
            "POST",
            "/device_authorization",
            body=("clientId", "clientSecret", "startUrl"),
            required=("clientId", "clientSecret", "startUrl"),
            answer=(
                "deviceCode",
                "userCode",
                "verificationUri",
                "verificationUriComplete",
                "expiresIn",
                "interval",
            ),
        ),
        "create_token": Operation(
            "CreateToken",
            "POST",
            "/token",
            body=(
                "clientId",
                "clientSecret",
                "grantType",
                "deviceCode",
                "code",
                "refreshToken",
                "scope",
                "redirectUri",
                "codeVerifier",
            ),
            required=("clientId", "clientSecret", "grantType"),
            lists=("scope",),
            answer=("accessToken", "tokenType", "expiresIn", "refreshToken", "idToken"),
        ),
    },
}
# botocore's paginators for the portal: the result key of each (input and output nextToken,
# limit maxResults, from PaginationConfig's PageSize).
PAGINATORS: Mapping[str, str] = {"list_accounts": "accountList", "list_account_roles": "roleList"}

# The endpoint prefix and the service's own endpoint variable (botocore's names).
SERVICES: Mapping[str, tuple[str, str]] = {
    "sso": ("portal.sso", "AWS_ENDPOINT_URL_SSO"),
    "sso-oidc": ("oidc", "AWS_ENDPOINT_URL_SSO_OIDC"),
}
DECLINE_VARS = (
    "AWS_ENDPOINT_URL",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
)
# Config keys that change where or how botocore connects: any of them, anywhere (even in a
# comment), and botocore resolves the endpoint.
DECLINE_KEYS = (
    "endpoint_url",
    "services",
    "use_fips_endpoint",
    "use_dualstack_endpoint",
    "ca_bundle",
    "ignore_configured_endpoint_urls",
)
# botocore's partitions.json: the `aws` partition's regionRegex.
_AWS_REGION_PREFIXES = ("us", "eu", "ap", "sa", "ca", "me", "af", "il", "mx")

# botocore.retries.standard: what is retried, and how long it waits.
THROTTLED_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)
TRANSIENT_CODES = frozenset(
    {"RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete"}
)
TRANSIENT_STATUS = frozenset({500, 502, 503, 504})
MAX_BACKOFF = 20.0
THROTTLED_SCALE = 1.0
OTHER_SCALE = 0.05

sleep: Callable[[float], None] = time.sleep  # tests replace it (the clock is an edge)


# --- where to send, and whether we may -------------------------------------------------------


def endpoint(service: str, region: str) -> str | None:
    """The endpoint botocore would call for `service` in `region` in the plain case, else None."""
    prefix, variable = SERVICES[service]
    if any(var in os.environ for var in DECLINE_VARS):
        return None
    override = os.environ.get(variable)
    if override is not None:
        from urllib.parse import urlsplit

        parts = urlsplit(override)
        plain = parts.path in ("", "/") and not (parts.query or parts.fragment or parts.username)
        ok = parts.scheme in ("http", "https") and parts.hostname and plain
        url = override.rstrip("/") if ok else None
    elif standard_region(region):
        url = f"https://{prefix}.{region}.amazonaws.com"
    else:
        url = None
    return None if url is None or config_declines() or uses_proxy(url) else url


def standard_region(region: str) -> bool:
    """Whether `region` matches the `aws` partition's regionRegex (botocore's partitions.json)."""
    pieces = region.split("-")
    return (
        len(pieces) == 3
        and pieces[0] in _AWS_REGION_PREFIXES
        and pieces[1].isascii()
        and pieces[1].isalpha()
        and pieces[1].islower()
        and pieces[2].isascii()
        and pieces[2].isdigit()
    )


_declines_lock = threading.Lock()
_declines_seen: tuple[object, bool] | None = None


def config_declines() -> bool:
    """Whether the AWS config may hold an endpoint or CA setting (or cannot be read to tell).
    Read again only when the file changes (path, inode, size, mtime)."""
    global _declines_seen
    from aws_sso_tray.files import paths

    location = paths.aws_config_location()
    try:
        st = os.stat(location)  # noqa: PTH116 - a str path, as paths gives it
    except FileNotFoundError:
        return False
    except OSError:
        return True
    key = (str(location), st.st_ino, st.st_size, st.st_mtime_ns)
    with _declines_lock:
        if _declines_seen is not None and _declines_seen[0] == key:
            return _declines_seen[1]
    try:
        with open(location, encoding="utf-8") as handle:
            text = handle.read().lower()
    except FileNotFoundError:
        declines = False
    except (OSError, UnicodeError):
        declines = True
    else:
        declines = any(name in text for name in DECLINE_KEYS)
    with _declines_lock:
        _declines_seen = (key, declines)
    return declines


def uses_proxy(url: str) -> bool:
    """Whether botocore would send `url` through a proxy (botocore.utils.get_environ_proxies
    and ProxyConfiguration.proxy_url_for, with the same urllib functions)."""
    import sys
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    variable = f"{parts.scheme}_proxy"
    if not sys.platform.startswith(("darwin", "win")) and not any(
        value and name.lower() == variable for name, value in os.environ.items()
    ):
        return False  # getproxies() reads only the environment here, and no proxy is set
    from urllib.request import getproxies, proxy_bypass

    try:
        if proxy_bypass(parts.netloc):
            return False
    except (TypeError, OSError):
        pass
    return bool(getproxies().get(parts.scheme))


def ca_file() -> str:
    """The CA bundle botocore verifies with here: AWS_CA_BUNDLE, else certifi's, else its own.
    (A `ca_bundle` in the config sends the call to botocore: see `config_declines`.)"""
    bundle = os.environ.get("AWS_CA_BUNDLE")
    if bundle:
        return bundle
    try:
        from certifi import where

        return str(where())
    except ImportError:
        import importlib.util
        from pathlib import Path

        spec = importlib.util.find_spec("botocore")
        if spec is None or spec.origin is None:
            raise OSError("no CA bundle") from None
        return str(Path(spec.origin).parent / "cacert.pem")


def tls_context() -> ssl.SSLContext:
    """An SSL context verifying with `ca_file()`; OSError or ssl.SSLError when it cannot load."""
    import ssl

    return ssl.create_default_context(cafile=ca_file())


_clients_lock = threading.Lock()
_clients: dict[tuple[object, ...], LeanClient] = {}


def client(
    service: str, region: str, *, max_attempts: int, fallback: Callable[[], Any]
) -> LeanClient | None:
    """A LeanClient for `service` in `region`, or None when the case is not plain (botocore's
    client then does it all). `fallback` makes the botocore client for the calls we leave to it."""
    url = endpoint(service, region)
    if url is None:
        return None
    bundle = ca_file_or_none() if url.startswith("https:") else None
    if url.startswith("https:") and bundle is None:
        return None
    key = (service, region, max_attempts, url, bundle)
    with _clients_lock:
        found = _clients.get(key)
        if found is not None:
            return found
    tls: ssl.SSLContext | None = None
    if bundle is not None:
        try:
            tls = tls_context()
        except (OSError, ValueError):  # ssl.SSLError is an OSError: botocore words it
            return None
    made = LeanClient(service, region, url, tls, max_attempts=max_attempts, fallback=fallback)
    with _clients_lock:
        return _clients.setdefault(key, made)


def ca_file_or_none() -> str | None:
    try:
        return ca_file()
    except OSError:
        return None


# --- the client --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Meta:
    """What callers read of a botocore client's `meta`."""

    endpoint_url: str
    region_name: str
    service: str


class LeanClient:
    """The methods of `OPERATIONS[service]` and `get_paginator`, as botocore's client has them;
    any other attribute is the botocore client's (made by `fallback` when first needed)."""

    def __init__(
        self,
        service: str,
        region: str,
        url: str,
        tls: ssl.SSLContext | None,
        *,
        max_attempts: int,
        fallback: Callable[[], Any],
    ) -> None:
        self.meta = Meta(url, region, service)
        self._operations = OPERATIONS[service]
        self._tls = tls
        self._attempts = max(0, max_attempts) + 1  # botocore's max_attempts counts retries
        self._fallback = fallback
        self._botocore: Any = None
        self._botocore_lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        operation = self._operations.get(name)
        if operation is None:
            return getattr(self._full(), name)

        def call(**params: Any) -> dict[str, Any]:
            if not _plainly_valid(operation, params):
                return getattr(self._full(), name)(**params)  # type: ignore[no-any-return]
            return self._call(operation, params)

        call.__name__ = name
        return call

    def get_paginator(self, name: str) -> Any:
        if name in PAGINATORS:
            return _Paginator(self, name)
        return self._full().get_paginator(name)

    def _full(self) -> Any:
        """The botocore client, for what this one leaves to it."""
        with self._botocore_lock:
            if self._botocore is None:
                log.debug("%s: the botocore client takes this call", self.meta.service)
                self._botocore = self._fallback()
            return self._botocore

    # -- one call, with botocore's standard retries ------------------------------------------

    def _call(self, operation: Operation, params: Mapping[str, Any]) -> dict[str, Any]:
        target, body, headers = _request(operation, params)
        attempt = 1
        while True:
            started = time.monotonic()
            try:
                status, answer_headers, answer = self._send(operation.method, target, body, headers)
            except _Failure as failure:
                log.debug(
                    "%s attempt %d: %s", operation.name, attempt, type(failure.error).__name__
                )
                if attempt >= self._attempts:
                    raise failure.error from failure.cause
                sleep(_backoff(attempt, throttled=False))
                attempt += 1
                continue
            log.debug(
                "%s %s (%s) -> %d in %.0f ms",
                operation.method,
                operation.path,
                operation.name,
                status,
                (time.monotonic() - started) * 1000,
            )
            if 200 <= status < 300:
                return _parsed(operation, answer, status, answer_headers, attempt - 1)
            error = _error_response(status, answer_headers, answer, attempt - 1)
            code = error["Error"]["Code"]
            throttled = code in THROTTLED_CODES or status == 429
            retryable = throttled or code in TRANSIENT_CODES or status in TRANSIENT_STATUS
            if not retryable or attempt >= self._attempts:
                from botocore.exceptions import ClientError

                if retryable:
                    error["ResponseMetadata"]["MaxAttemptsReached"] = True
                raise ClientError(error, operation.name)  # type: ignore[arg-type]
            sleep(_backoff(attempt, throttled=throttled))
            attempt += 1

    def _send(
        self, method: str, target: str, body: bytes | None, headers: Mapping[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        import http.client
        import ssl
        from urllib.parse import urlsplit

        parts = urlsplit(self.meta.endpoint_url)
        url = self.meta.endpoint_url + target  # what botocore's errors name: the request's URL
        connection: http.client.HTTPConnection
        if self._tls is not None:
            connection = http.client.HTTPSConnection(
                parts.netloc, timeout=CONNECT_TIMEOUT, context=self._tls
            )
        else:
            connection = http.client.HTTPConnection(parts.netloc, timeout=CONNECT_TIMEOUT)
        try:
            try:
                connection.connect()
            except (ssl.SSLError, ssl.CertificateError) as exc:
                raise _Failure(_botocore_error("SSLError", url, exc), exc) from exc
            except TimeoutError as exc:
                raise _Failure(_botocore_error("ConnectTimeoutError", url, exc), exc) from exc
            except OSError as exc:
                raise _Failure(_botocore_error("EndpointConnectionError", url, exc), exc) from exc
            if connection.sock is not None:
                connection.sock.settimeout(READ_TIMEOUT)
            try:
                connection.request(method, target, body=body, headers=dict(headers))
                response = connection.getresponse()
                answer = response.read(MAX_ANSWER_BYTES + 1)
            except TimeoutError as exc:
                raise _Failure(_botocore_error("ReadTimeoutError", url, exc), exc) from exc
            except (ssl.SSLError, ssl.CertificateError) as exc:
                raise _Failure(_botocore_error("SSLError", url, exc), exc) from exc
            except (OSError, http.client.HTTPException) as exc:
                raise _Failure(_botocore_error("ConnectionClosedError", url, exc), exc) from exc
            if len(answer) > MAX_ANSWER_BYTES:
                too_large = http.client.HTTPException("answer too large")
                raise _Failure(_botocore_error("ConnectionClosedError", url, too_large), too_large)
            return response.status, {k.lower(): v for k, v in response.getheaders()}, answer
        finally:
            connection.close()


class _Failure(Exception):
    """A request that got no answer: `error` is what botocore raises for it."""

    def __init__(self, error: Exception, cause: BaseException) -> None:
        super().__init__(str(error))
        self.error = error
        self.cause = cause


def _botocore_error(name: str, url: str, exc: BaseException) -> Exception:
    import botocore.exceptions

    cls = getattr(botocore.exceptions, name)
    if name == "ConnectionClosedError":
        return cls(endpoint_url=url)  # type: ignore[no-any-return]
    return cls(endpoint_url=url, error=exc)  # type: ignore[no-any-return]


def _backoff(attempt: int, *, throttled: bool) -> float:
    scale = THROTTLED_SCALE if throttled else OTHER_SCALE
    jitter: float = random.random()  # noqa: S311 - a backoff's jitter, not a secret
    return jitter * min(scale * 2.0 ** (attempt - 1), MAX_BACKOFF)


def _plainly_valid(operation: Operation, params: Mapping[str, Any]) -> bool:
    """Every parameter known and of its type, the required ones present and not empty: what we
    send as botocore would. Anything else is botocore's to validate and word."""
    known = set(operation.query) | set(operation.headers) | set(operation.body)
    if not set(params) <= known or not all(params.get(name) for name in operation.required):
        return False
    for name, value in params.items():
        if name in operation.lists:
            if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
                return False
        elif name in operation.integers:
            if type(value) is not int or not 1 <= value <= 100:
                return False
        elif not isinstance(value, str):
            return False
    return True


def _request(
    operation: Operation, params: Mapping[str, Any]
) -> tuple[str, bytes | None, dict[str, str]]:
    """The path with its query, the body and the headers botocore's RestJSONSerializer makes."""
    from urllib.parse import quote

    query = "&".join(
        f"{wire}={quote(str(params[member]), safe='-_.~')}"
        for member, wire in operation.query.items()
        if params.get(member) is not None
    )
    target = f"{operation.path}?{query}" if query else operation.path
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    headers.update(
        {wire: str(params[m]) for m, wire in operation.headers.items() if params.get(m) is not None}
    )
    body: bytes | None = None
    if operation.body:
        import json

        document = {
            m: list(params[m]) if m in operation.lists else params[m]
            for m in operation.body
            if params.get(m) is not None
        }
        body = json.dumps(document, separators=(",", ":")).encode("utf-8")
        headers["Content-Type"] = "application/json"
    elif operation.method == "POST":
        body = b""
    return target, body, headers


def _metadata(status: int, headers: Mapping[str, str], retries: int) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "HTTPStatusCode": status,
        "HTTPHeaders": dict(headers),
        "RetryAttempts": retries,
    }
    if "x-amzn-requestid" in headers:
        meta["RequestId"] = headers["x-amzn-requestid"]
    return meta


def _parsed(
    operation: Operation, answer: bytes, status: int, headers: Mapping[str, str], retries: int
) -> dict[str, Any]:
    import json

    document: Any = json.loads(answer.decode("utf-8")) if answer.strip() else {}
    if not isinstance(document, dict):
        document = {}
    parsed = {name: document[name] for name in operation.answer if document.get(name) is not None}
    parsed["ResponseMetadata"] = _metadata(status, headers, retries)
    return parsed


def _error_response(
    status: int, headers: Mapping[str, str], answer: bytes, retries: int
) -> dict[str, Any]:
    """botocore's parse of an error answer (RestJSONParser, or the generic one for an HTML or
    empty 5xx page). Not added: the modeled error's own fields (`error_description`, ...),
    which botocore copies next to `Error` and nothing of ours reads."""
    import http.client
    import json

    meta = _metadata(status, headers, retries)
    stripped = answer.strip()
    if status >= 500 and (not stripped or stripped.startswith(b"<html>")):
        message = http.client.responses.get(status, "")
        return {"Error": {"Code": str(status), "Message": message}, "ResponseMetadata": meta}
    text = answer.decode("utf-8", "replace")
    try:
        body: Any = json.loads(text) if stripped else {}
    except ValueError:
        body = {"message": text}
    if not isinstance(body, dict):
        body = {}
    message = body.get("message", body.get("Message", ""))
    code: Any = body.get("__type", str(status))
    if "x-amzn-errortype" in headers:
        code = headers["x-amzn-errortype"]
    elif "code" in body or "Code" in body:
        code = body.get("code", body.get("Code", ""))
    if isinstance(code, str):
        code = code.split(":", 1)[0].rsplit("#", 1)[-1]
    return {"Error": {"Code": code, "Message": message}, "ResponseMetadata": meta}


class _Paginator:
    """botocore's paginator for a portal listing: pages while the answer has a nextToken."""

    def __init__(self, client: LeanClient, name: str) -> None:
        self._client = client
        self._name = name

    def paginate(self, **params: Any) -> Iterator[dict[str, Any]]:
        config = params.pop("PaginationConfig", None) or {}
        if set(config) - {"PageSize"}:
            yield from (
                self._client._full()
                .get_paginator(self._name)
                .paginate(**params, PaginationConfig=config)
            )
            return
        if config.get("PageSize") is not None:
            params["maxResults"] = config["PageSize"]
        call = getattr(self._client, self._name)
        seen: set[str] = set()
        while True:
            page = call(**params)
            yield page
            token = page.get("nextToken")
            if not token:
                return
            if token in seen:  # botocore's PageIterator refuses to loop
                from botocore.exceptions import PaginationError

                raise PaginationError(message=f"The same next token was received twice: {token}")
            seen.add(token)
            params["nextToken"] = token
