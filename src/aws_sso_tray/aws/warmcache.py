"""credential-process's fast path: answer from the AWS CLI role cache with almost no imports.

`credential_process = aws-sso-tray credential-process --profile P` runs before every AWS command a
user types, so its start-up time is a product feature. When the answer is already cached, this
module gives it using the standard library and our light modules (`paths`, `clock`, `formats`):
no argparse, logging, dataclasses, typing, pathlib, OpenSSL or botocore. The config is read with
`configparser.RawConfigParser`, which is exactly what `botocore.configloader.raw_config_parse`
runs (importing botocore for it would cost more than the rest of this path); the keys read here
are never nested values, the one thing botocore adds on top.

It answers only when everything is plain: the profile is an SSO profile with all its keys, the
cache folder (and `~/.aws/cli` around it) is ours and closed to others (`paths.folder_problem`),
and the role-credential cache file, not a symlink, holds credentials with more than
`--min-remaining` left. Anything else (a missing or expiring cache, an odd profile, `--debug`,
an unknown flag) returns None and the CLI takes the full path, which validates, refreshes and
explains errors.

Without `--min-remaining`, `min_remaining` from settings.toml applies, as on the full path. Parsing
TOML here would cost an import as large as the rest of this path, so the full path, which parses
and validates the file (`settings`), leaves a note in our state folder: the value it read and the
file's identity (path, size, inode, modification and change times). This module trusts the note
only while the file is exactly that one; with no settings file the default applies; anything else
(an edited file, no note yet) takes the full path once, which writes the note anew.

`role_cache_key` lives here so that `rolecreds` (the full path) and this module name the cache
file the same way; it is botocore's `SSOCredentialFetcher._create_cache_key`.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from types import SimpleNamespace

from aws_sso_tray import clock
from aws_sso_tray.files import paths

try:  # CPython's own SHA-1: hashlib would first load OpenSSL, a few ms of every AWS command
    from _sha1 import sha1 as _sha1  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # pragma: no cover - other interpreters
    from hashlib import sha1 as _sha1

DEFAULT_MIN_REMAINING = timedelta(minutes=15)
SETTINGS_NOTE = "fastpath-settings.json"


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
    if min_remaining is None:
        min_remaining = settings_min_remaining()
        if min_remaining is None:
            return None
    key = _cache_key_for(profile)
    if key is None:
        return None
    cache_dir = paths.cli_cache_location()
    # A cache folder another user owns or can write to may hold their keys, not ours: the full
    # path refuses it with the message (two stat calls here).
    if paths.folder_problem(cache_dir) or paths.folder_problem(os.path.dirname(cache_dir)):
        return None
    try:
        cache_file = os.path.join(cache_dir, f"{key}.json")
        fd = os.open(cache_file, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with open(fd, encoding="utf-8") as handle:
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
    from aws_sso_tray.aws.formats import process_json

    return process_json(values)


def settings_location() -> str:
    return os.path.join(paths.config_location(), "settings.toml")


def _note_location() -> str:
    return os.path.join(paths.state_location(), SETTINGS_NOTE)


def settings_identity(location: str) -> list[int] | None:
    """What tells one version of the settings file from another; None when there is none.

    Raises OSError when the file cannot be looked at (the caller then trusts nothing)."""
    try:
        st = os.stat(location)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def settings_min_remaining() -> timedelta | None:
    """settings.toml's min_remaining as the full path last read it; None: unknown here."""
    location = settings_location()
    try:
        identity = settings_identity(location)
    except OSError:
        return None
    if identity is None:
        return DEFAULT_MIN_REMAINING
    note_file = _note_location()
    if paths.folder_problem(os.path.dirname(note_file)):
        return None  # the full path says what is wrong with our state folder
    try:
        fd = os.open(note_file, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with open(fd, encoding="utf-8") as handle:
            note = json.load(handle)
        seconds = note["min_remaining_seconds"]
        if (
            note["settings_file"] == location
            and note["identity"] == identity
            and type(seconds) in (int, float)
            and seconds > 0
        ):
            return timedelta(seconds=seconds)
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


def remember_min_remaining(identity: list[int] | None, min_remaining: timedelta) -> None:
    """Note `min_remaining`, read from the settings file while it had `identity`, for this module.

    Called by the full path after it parsed the file; nothing is noted when the file changed
    since (or is absent: the default needs no note). A note that cannot be written only costs
    speed, so failures are ignored."""
    location = settings_location()
    try:
        if identity is None or settings_identity(location) != identity:
            return
        note = {
            "settings_file": location,
            "identity": identity,
            "min_remaining_seconds": min_remaining.total_seconds(),
        }
        from aws_sso_tray.errors import AppError
        from aws_sso_tray.files.atomicfile import read_text, write_atomic

        note_file = paths.state_dir() / SETTINGS_NOTE
        try:
            # A private file: read from a checked folder only, never through a symlink (in a
            # folder others can write to, a FIFO or /dev/zero there would hang us).
            if json.loads(read_text(note_file) or "null") == note:
                return
        except (OSError, ValueError, AppError):
            pass  # an unsafe folder: write_atomic refuses it too
        try:
            write_atomic(note_file, json.dumps(note).encode("utf-8"))
        except AppError:
            return
    except OSError:
        return


def _parse_args(args: list[str]) -> tuple[str, timedelta | None] | None:
    profile = os.environ.get("AWS_PROFILE") or os.environ.get("AWS_DEFAULT_PROFILE") or "default"
    min_remaining: timedelta | None = None
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
