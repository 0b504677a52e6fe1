"""credential-process's cold fetch without an engine: GetRoleCredentials without botocore.

When neither the role cache (`warmcache`) nor a running tray or daemon (`enginecreds`) answers,
`launch` holds the role's lock and asks this module before it loads the CLI. Importing botocore
and creating its `sso` client costs more than the whole of aws-export-credentials' call, so
this module makes the one request with `leanclient` (the same GetRoleCredentials botocore's
`sso` client sends, over `http.client`, one attempt), and reuses the full path's own pieces for
everything else: `profiles` reads and validates the profile, `tokens.read_token` /
`needs_refresh` the SSO token, `rolecreds` reads the answer, writes the cache entry the warm
path reads and `formats` prints it. Nothing here imports argparse, the CLI, `api`, filelock,
boto3 or botocore's session, client or urllib3. Besides the role lock its caller holds (which
orders credential-process callers), it takes the full path's own lock on the cache file
(`atomicfile.locked`, filelock's `flock`) with `fcntl`, without waiting: a `sync`, an engine or
a full-path caller fetching the same role is never raced.

It answers only the plain case and returns None for anything else, so that the full path runs
exactly as before (the same output, messages and exit codes): a chained or odd profile, a token
missing or inside its refresh window (only the full path refreshes), any warning the shared
readers log, a case `leanclient` leaves to botocore (an endpoint or CA setting in the config,
AWS_ENDPOINT_URL, FIPS, dual-stack, a region outside the standard partition, a proxy that
applies), and any answer but a usable 200. A refused or failed call costs one extra request:
the full path makes it again and words the failure.
"""

from __future__ import annotations

import logging
import os

from aws_sso_tray.aws import warmcache

TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import timedelta
    from pathlib import Path

    from aws_sso_tray.aws.profiles import SsoProfile
    from aws_sso_tray.aws.rolecreds import RoleCredentials


def answer(args: list[str]) -> str | None:
    """The credential_process JSON for `credential-process ARGS`, fetched here, or None to take
    the full path. Call it holding the role's lock (`warmcache.answer_or_lock`)."""
    request = warmcache.request(args)
    if request is None:
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
    if watch.seen:
        return None
    creds = _fetch(profile, token.access_token)
    if creds is None:
        return None
    rolecreds.write_cached(profile, creds)
    return formats.process_json(creds)


def _fetch(profile: SsoProfile, access_token: str) -> RoleCredentials | None:
    """GetRoleCredentials with one attempt of the lean client; None when it does not apply
    (`leanclient`'s plain case) or on anything but a usable answer."""
    from aws_sso_tray.aws import leanclient, rolecreds

    client = leanclient.client("sso", profile.session.region, max_attempts=0, fallback=_no_fallback)
    if client is None:
        return None
    try:
        response = client.get_role_credentials(
            roleName=profile.role_name, accountId=profile.account_id, accessToken=access_token
        )
        return rolecreds.credentials_from_response(profile, response)
    except Exception:
        return None


def _no_fallback() -> None:
    raise LookupError("the full path validates this call")  # never botocore's client here


class _Warnings(logging.Handler):
    """Notes that a shared reader logged a warning (an unusable cache file, ...): the full path
    then runs, and prints it as it always has."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen = False

    def emit(self, record: logging.LogRecord) -> None:
        self.seen = True
