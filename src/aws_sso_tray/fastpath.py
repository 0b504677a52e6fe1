"""credential-process's fast path: answer from the AWS CLI role cache with almost no imports.

`credential_process = aws-sso-tray credential-process --profile P` runs before every AWS command a
user types, so its start-up time is a product feature. When the answer is already cached, this
module gives it using the standard library and our light modules (`paths`, `clock`, `formats`):
no argparse, logging, dataclasses, typing, pathlib, OpenSSL or botocore. The config is read with
`configparser.RawConfigParser`, which is exactly what `botocore.configloader.raw_config_parse`
runs (importing botocore for it would cost more than the rest of this path); the keys read here
are never nested values, the one thing botocore adds on top.

It answers only when everything is plain: the profile is an SSO profile with all its keys, and
the role-credential cache file holds credentials with more than `--min-remaining` left. Anything
else (a missing or expiring cache, an odd profile, `--debug`, an unknown flag) returns None and
the CLI takes the full path, which validates, refreshes and explains errors.

`role_cache_key` lives here so that `rolecreds` (the full path) and this module name the cache
file the same way; it is botocore's `SSOCredentialFetcher._create_cache_key`.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from types import SimpleNamespace

from aws_sso_tray import clock, paths

try:  # CPython's own SHA-1: hashlib would first load OpenSSL, a few ms of every AWS command
    from _sha1 import sha1 as _sha1  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # pragma: no cover - other interpreters
    from hashlib import sha1 as _sha1

DEFAULT_MIN_REMAINING = timedelta(minutes=15)


def role_cache_key(
    account_id: str, role_name: str, session_name: str | None, start_url: str
) -> str:
    """botocore `SSOCredentialFetcher._create_cache_key`, byte for byte."""
    args = {"roleName": role_name, "accountId": account_id}
    if session_name:
        args["sessionName"] = session_name
    else:
        args["startUrl"] = start_url
    text = json.dumps(args, sort_keys=True, separators=(",", ":"))
    digest = str(_sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest())
    # botocore's _make_file_safe: a hex digest has nothing to replace; kept for the record.
    return digest.replace(":", "_").replace(os.sep, "_").replace("/", "_")


def usable_key_text(value: object) -> bool:
    """Whether a cached key, secret or token can be handed out: a non-empty string without
    whitespace (a space or line break would break a credentials file and every signature)."""
    return isinstance(value, str) and bool(value) and not any(c.isspace() for c in value)


def answer(args: list[str]) -> str | None:
    """The credential_process JSON for `credential-process ARGS`, or None to take the full path."""
    parsed = _parse_args(args)
    if parsed is None:
        return None
    profile, min_remaining = parsed
    key = _cache_key_for(profile)
    if key is None:
        return None
    try:
        cache_file = os.path.join(paths.cli_cache_location(), f"{key}.json")
        with open(cache_file, encoding="utf-8") as handle:
            data = json.load(handle)
        creds = data["Credentials"]
        expiration = clock.parse_time(creds["Expiration"])
        values = SimpleNamespace(
            access_key_id=creds["AccessKeyId"],
            secret_access_key=creds["SecretAccessKey"],
            session_token=creds.get("SessionToken") or None,
            expiration=expiration,
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if not (usable_key_text(values.access_key_id) and usable_key_text(values.secret_access_key)):
        return None
    if values.session_token is not None and not usable_key_text(values.session_token):
        return None
    if expiration - clock.now() <= min_remaining:
        return None
    from aws_sso_tray.formats import process_json

    return process_json(values)


def _parse_args(args: list[str]) -> tuple[str, timedelta] | None:
    profile = os.environ.get("AWS_PROFILE") or os.environ.get("AWS_DEFAULT_PROFILE") or "default"
    min_remaining = DEFAULT_MIN_REMAINING
    rest = list(args)
    while rest:
        flag = rest.pop(0)
        name, eq, inline = flag.partition("=")
        if name not in ("--profile", "-p", "--min-remaining"):
            return None  # --debug, --help or anything unexpected: the full CLI handles it
        if eq:
            value = inline
        elif rest:
            value = rest.pop(0)
        else:
            return None
        if name == "--min-remaining":
            try:
                min_remaining = clock.parse_duration(value)
            except ValueError:
                return None
        else:
            profile = value
    return profile, min_remaining


def _cache_key_for(profile: str) -> str | None:
    import configparser

    config = configparser.RawConfigParser()
    try:
        config.read([paths.aws_config_location()], encoding="utf-8")
    except (configparser.Error, OSError, UnicodeError):
        return None

    def section(name: str) -> dict[str, str] | None:
        return dict(config.items(name)) if config.has_section(name) else None

    # botocore's profile map: `[profile NAME]`, and `[default]` for the default profile.
    values = section(f"profile {profile}")
    if values is None and profile == "default":
        values = section("default")
    if not values:
        return None
    account, role = values.get("sso_account_id"), values.get("sso_role_name")
    if not account or not role:
        return None
    session_name = values.get("sso_session")
    if session_name:
        if not section(f"sso-session {session_name}"):
            return None
        return role_cache_key(account, role, session_name, "")
    start_url = values.get("sso_start_url")
    if not start_url or not values.get("sso_region"):
        return None
    return role_cache_key(account, role, None, start_url)
