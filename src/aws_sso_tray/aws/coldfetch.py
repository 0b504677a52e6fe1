"""credential-process's cold fetch without an engine: GetRoleCredentials without botocore.

When neither the role cache (`warmcache`) nor a running tray or daemon (`enginecreds`) answers,
`launch` holds the role's lock and asks this module before it loads the CLI. Importing botocore
and creating its `sso` client costs more than the whole of aws-export-credentials' call, so
this module makes the one HTTPS request itself (`GET /federation/credentials` with the
`x-amz-sso_bearer_token` header, what botocore's `sso` client sends) with `http.client`, and
reuses the full path's own pieces for everything else: `profiles` reads and validates the
profile, `tokens.read_token` / `needs_refresh` the SSO token, `rolecreds` reads the answer,
writes the cache entry the warm path reads and `formats` prints it. Nothing here imports
argparse, the CLI, `api`, filelock, boto3 or botocore's session, client or urllib3. Besides the
role lock its caller holds (which orders credential-process callers), it takes the full path's
own lock on the cache file (`atomicfile.locked`, filelock's `flock`) with `fcntl`, without
waiting: a `sync`, an engine or a full-path caller fetching the same role is never raced.

It answers only the plain case and returns None for anything else, so that the full path runs
exactly as before (the same output, messages and exit codes): a chained or odd profile, a token
missing or inside its refresh window (only the full path refreshes), any warning the shared
readers log, an endpoint setting it does not resolve as botocore does (AWS_ENDPOINT_URL,
`endpoint_url` / `services` / FIPS / dual-stack / `ca_bundle` in the config, a region outside
the standard partition), a proxy that applies, and any answer but a usable 200. The endpoint is
AWS_ENDPOINT_URL_SSO as given, else `https://portal.sso.REGION.amazonaws.com` (botocore's
ruleset for the `aws` partition; tests compare the two), verified with the CA bundle botocore
uses (certifi's, else botocore's own). A refused or failed call costs one extra request: the
full path makes it again and words the failure.
"""

from __future__ import annotations

import logging
import os

from aws_sso_tray.aws import warmcache

TYPE_CHECKING = False
if TYPE_CHECKING:
    import ssl
    from datetime import timedelta
    from pathlib import Path

    from aws_sso_tray.aws.profiles import SsoProfile
    from aws_sso_tray.aws.rolecreds import RoleCredentials

CONNECT_TIMEOUT = 5  # clients.CONNECT_TIMEOUT / READ_TIMEOUT
READ_TIMEOUT = 20
MAX_ANSWER_BYTES = 1 << 20
BEARER_HEADER = "x-amz-sso_bearer_token"
_DECLINE_VARS = (
    "AWS_ENDPOINT_URL",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
    "AWS_CA_BUNDLE",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
)
# Config keys that change where or how botocore connects: any of them, anywhere, and the full
# path resolves the endpoint.
_DECLINE_KEYS = (
    "endpoint_url",
    "services",
    "use_fips_endpoint",
    "use_dualstack_endpoint",
    "ca_bundle",
    "ignore_configured_endpoint_urls",
)
# botocore's partitions.json: the `aws` partition's regionRegex.
_AWS_REGION_PREFIXES = ("us", "eu", "ap", "sa", "ca", "me", "af", "il", "mx")


def answer(args: list[str]) -> str | None:
    """The credential_process JSON for `credential-process ARGS`, fetched here, or None to take
    the full path. Call it holding the role's lock (`warmcache.answer_or_lock`)."""
    request = warmcache.request(args)
    if request is None or any(var in os.environ for var in _DECLINE_VARS):
        return None
    name, min_remaining_us = request
    from aws_sso_tray import logs

    watch = _Warnings()
    root = logging.getLogger()
    root.addHandler(watch)
    output: str | None = None
    try:
        # Handing over, the full path must warn about what it finds as if first to look.
        with logs.warnings_forgotten_unless(lambda: output is not None):
            try:
                output = _answer(name, min_remaining_us, watch)
            except Exception:  # anything unexpected: the full path runs and explains it
                output = None
    finally:
        root.removeHandler(watch)
    return output


def _answer(name: str, min_remaining_us: int, watch: _Warnings) -> str | None:
    from datetime import timedelta

    from aws_sso_tray.aws import profiles, rolecreds

    if profiles.find_chained(name) is not None:
        return None
    profile = profiles.get_profile(name)
    lock = _cache_lock(rolecreds.cache_file(profile))
    if lock is None:
        return None
    try:
        return _fetch_locked(profile, timedelta(microseconds=min_remaining_us), watch)
    finally:
        os.close(lock)


def _cache_lock(cache_file: Path) -> int | None:
    """The full path's lock on the role cache file (`atomicfile.locked`: filelock's `flock` on
    its lock file), taken with `fcntl` directly; None when another process holds it or the lock
    file is not there yet: the full path then waits for it (or makes it)."""
    import fcntl

    from aws_sso_tray.files import atomicfile

    flags = os.O_RDWR | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(atomicfile.lock_path_for(cache_file), flags)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def _fetch_locked(profile: SsoProfile, min_remaining: timedelta, watch: _Warnings) -> str | None:
    from aws_sso_tray import clock
    from aws_sso_tray.aws import formats, rolecreds, tokens

    cached = rolecreds.cached_credentials(profile, min_remaining=min_remaining)
    if cached is not None:  # written since the warm path looked
        return formats.process_json(cached)
    token = tokens.read_token(profile.session)
    if token is None or tokens.needs_refresh(token, clock.now()):
        return None  # no login (the full path says so) or a refresh (the full path makes it)
    url = endpoint_url(profile.session.region)
    if url is None or watch.seen or _uses_proxy(url):
        return None
    creds = _fetch(url, profile, token.access_token)
    if creds is None:
        return None
    rolecreds.write_cached(profile, creds)
    return formats.process_json(creds)


def endpoint_url(region: str) -> str | None:
    """The `sso` endpoint botocore would call for `region` in the plain case, else None."""
    override = os.environ.get("AWS_ENDPOINT_URL_SSO")
    if override is not None:
        from urllib.parse import urlsplit

        parts = urlsplit(override)
        plain = parts.path in ("", "/") and not (parts.query or parts.fragment or parts.username)
        ok = parts.scheme in ("http", "https") and parts.hostname and plain
        return override.rstrip("/") if ok and not _config_declines() else None
    pieces = region.split("-")
    standard = (
        len(pieces) == 3
        and pieces[0] in _AWS_REGION_PREFIXES
        and pieces[1].isascii()
        and pieces[1].isalpha()
        and pieces[1].islower()
        and pieces[2].isascii()
        and pieces[2].isdigit()
    )
    if not standard or _config_declines():
        return None
    return f"https://portal.sso.{region}.amazonaws.com"


def _config_declines() -> bool:
    """Whether the AWS config may hold an endpoint setting (or cannot be read to tell)."""
    from aws_sso_tray.files import paths

    try:
        with open(paths.aws_config_location(), encoding="utf-8") as handle:
            text = handle.read().lower()
    except FileNotFoundError:
        return False
    except (OSError, UnicodeError):
        return True
    return any(key in text for key in _DECLINE_KEYS)


def _uses_proxy(url: str) -> bool:
    """Whether botocore would send `url` through a proxy (botocore.utils.get_environ_proxies
    and ProxyConfiguration.proxy_url_for, with the same urllib functions)."""
    from urllib.parse import urlsplit
    from urllib.request import getproxies, proxy_bypass

    parts = urlsplit(url)
    try:
        if proxy_bypass(parts.netloc):
            return False
    except (TypeError, OSError):
        pass
    return bool(getproxies().get(parts.scheme))


def _fetch(url: str, profile: SsoProfile, access_token: str) -> RoleCredentials | None:
    """GetRoleCredentials over one connection; None on anything but a usable answer."""
    import http.client
    from urllib.parse import quote, urlsplit

    from aws_sso_tray.aws import rolecreds

    parts = urlsplit(url)
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(
            parts.netloc, timeout=CONNECT_TIMEOUT, context=_tls_context()
        )
    else:
        connection = http.client.HTTPConnection(parts.netloc, timeout=CONNECT_TIMEOUT)
    query = (
        f"role_name={quote(profile.role_name, safe='-_.~')}"
        f"&account_id={quote(profile.account_id, safe='-_.~')}"
    )
    try:
        connection.connect()
        if connection.sock is not None:
            connection.sock.settimeout(READ_TIMEOUT)
        connection.request(
            "GET",
            f"/federation/credentials?{query}",
            headers={BEARER_HEADER: access_token, "Accept": "application/json"},
        )
        response = connection.getresponse()
        body = response.read(MAX_ANSWER_BYTES + 1)
        if response.status != 200 or len(body) > MAX_ANSWER_BYTES:
            return None
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()
    try:
        document = warmcache.loads_json(body.decode("utf-8"))
        if not isinstance(document, dict):
            return None
        return rolecreds.credentials_from_response(profile, document)
    except Exception:
        return None


def _tls_context() -> ssl.SSLContext:
    """An SSL context verifying with the CA bundle botocore's httpsession uses by default."""
    import ssl

    try:
        from certifi import where

        cafile = where()
    except ImportError:
        import importlib.util

        spec = importlib.util.find_spec("botocore")
        origin = spec.origin if spec is not None else None
        if origin is None:
            raise OSError("no CA bundle") from None
        from pathlib import Path

        cafile = str(Path(origin).parent / "cacert.pem")
    return ssl.create_default_context(cafile=cafile)


class _Warnings(logging.Handler):
    """Notes that a shared reader logged a warning (an unusable cache file, ...): the full path
    then runs, and prints it as it always has."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen = False

    def emit(self, record: logging.LogRecord) -> None:
        self.seen = True
