"""credential-process's fast path: answer from the AWS CLI role cache with almost no imports.

`credential_process = aws-sso-tray credential-process --profile P` runs before every AWS command a
user types, so its start-up time is a product feature. When the answer is already cached, this
module gives it with `os`, `time` and a few C modules (`_json`, `_sha1`) and our `paths`: no
`re`, `enum`, `json`, `datetime`, `configparser`, argparse, logging, typing, pathlib, OpenSSL or
botocore (tests/test_warmcache.py keeps that budget). Each shortcut gives exactly what the full
modules give, and declines to the full one on anything it is not sure of (tests compare them):

- the config is read by `simple_sections`, which understands only the plain case (sections,
  `key = value` lines, comments, blank lines) exactly as `configparser.RawConfigParser` reads it
  (what `botocore.configloader.raw_config_parse` runs); anything else (an indented line, a
  continuation, a duplicate, `[DEFAULT]`, non-ASCII text) is parsed by RawConfigParser itself;
- JSON is parsed by the C scanner `json.loads` runs (`_json.make_scanner`), and written with the
  C string encoder `json.dumps` uses (`formats.process_json_text`, `role_cache_key`);
- `Expiration` in the AWS CLI's own form (`2026-11-25T23:42:31Z`) is read as epoch seconds by
  arithmetic and printed back as it was; any other form goes through `clock`.

It answers only when everything is plain: the profile is an SSO profile with all its keys, the
cache folder (and `~/.aws/cli` around it) is ours and closed to others (`paths.folder_problem`),
and the role-credential cache file, not a symlink, holds credentials with more than
`--min-remaining` left. Anything else (a missing or expiring cache, an odd profile, `--debug`,
an unknown flag) returns None and the CLI takes the full path, which validates, refreshes and
explains errors.

Bursts: when the cache is cold, `answer_or_lock` waits for a per-role lock (`fcntl.flock` in our
`locks` folder) before the full path runs, and asks the cache again once it has it. Of 20 SDK
workers started at once, the first fetches (holding the lock while the CLI runs) and the other
19 answer from the cache it wrote, without ever importing the CLI or botocore.

Without `--min-remaining`, `min_remaining` from settings.toml applies, as on the full path. Parsing
TOML here would cost an import as large as the rest of this path, so the full path, which parses
and validates the file (`settings`), leaves a note in our state folder: the value it read and the
file's identity (path, size, inode, modification and change times). This module trusts the note
only while the file is exactly that one; with no settings file the default applies; anything else
(an edited file, no note yet) takes the full path once, which writes the note anew.

`role_cache_key` lives here so that `rolecreds` (the full path) and this module name the cache
file the same way; it is botocore's `SSOCredentialFetcher._create_cache_key`.

The other warm paths (`warmchained` for chained roles, `enginecreds` for the engine's endpoint)
read their request and the config as this module does, through its public helpers, on its import
budget: `parse_args`, `noted_min_remaining_us`, `config_sections`, `profile_section`,
`answer_from_cache`, `iso_epoch_seconds`, `loads_json`, `json_string` and `sha1_hex`.
"""

from __future__ import annotations

import os
import time

from aws_sso_tray.files import paths

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import timedelta
    from typing import Any

try:  # CPython's own SHA-1: hashlib would first load OpenSSL, a few ms of every AWS command
    from _sha1 import sha1 as _sha1  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # pragma: no cover - other interpreters
    from hashlib import sha1 as _sha1

try:  # json.dumps' own C string encoder, without json's `re` and `enum`
    from _json import encode_basestring_ascii as _json_string
except ImportError:  # pragma: no cover - other interpreters
    from json.encoder import encode_basestring_ascii as _json_string


def json_string(text: str) -> str:
    """`json.dumps(text)` of a str (quoted, ASCII-escaped) by json's own C encoder, without
    importing json (`re`, `enum`). Shared by the warm paths for the JSON their cache keys hash."""
    return _json_string(text)


def sha1_hex(text: str) -> str:
    """The SHA-1 hex digest of `text` in UTF-8 by CPython's own `_sha1`, without hashlib (which
    loads OpenSSL first). Shared by the warm paths for botocore's cache file names."""
    return str(_sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest())


DEFAULT_MIN_REMAINING_SECONDS = 15 * 60
SETTINGS_NOTE = "fastpath-settings.json"
MAX_NOTED_SECONDS = 365 * 86400  # settings' MAX_DURATION: a larger note is not ours
BURST_WAIT_SECONDS = 60.0  # then the full path runs anyway (its own lock waits 30 s more)
BURST_POLL_SECONDS = 0.01
_MICRO = 1_000_000
_EPOCH_DAYS = 719468  # days from 0000-03-01 to 1970-01-01 in the proleptic Gregorian calendar


def __getattr__(name: str) -> timedelta:
    # DEFAULT_MIN_REMAINING as the timedelta callers compare with, without importing datetime
    # on the fast path.
    if name == "DEFAULT_MIN_REMAINING":
        from datetime import timedelta

        return timedelta(seconds=DEFAULT_MIN_REMAINING_SECONDS)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def role_cache_key(
    account_id: str, role_name: str, session_name: str | None, start_url: str
) -> str:
    """botocore `SSOCredentialFetcher._create_cache_key`, byte for byte: sha1 of
    `json.dumps(args, sort_keys=True, separators=(",", ":"))`, written here by hand."""
    last = (
        f'"sessionName":{json_string(session_name)}'
        if session_name
        else (f'"startUrl":{json_string(start_url)}')
    )
    text = f'{{"accountId":{json_string(account_id)},"roleName":{json_string(role_name)},{last}}}'
    digest = sha1_hex(text)
    # botocore's _make_file_safe: a hex digest has nothing to replace; kept for the record.
    return digest.replace(":", "_").replace(os.sep, "_").replace("/", "_")


def usable_key_text(value: object) -> bool:
    """Whether a cached key, secret or token can be handed out: a non-empty string without
    whitespace (a space or line break would break a credentials file and every signature)."""
    return isinstance(value, str) and bool(value) and not any(c.isspace() for c in value)


def answer(args: list[str]) -> str | None:
    """The credential_process JSON for `credential-process ARGS`, or None to take the full path."""
    output, key = _lookup(args)
    if output is None and key is None:  # not an SSO profile: perhaps a role chained on one
        from aws_sso_tray.aws import warmchained

        return warmchained.answer(args)
    return output


def answer_or_lock(args: list[str]) -> tuple[str | None, int | None]:
    """`answer`, and when the cache is cold, the same after waiting for the role's lock.

    Returns (output, None) when answered, else (None, lock): `lock` (a file descriptor, or None
    when no lock could be taken) is held by this process until `release`, so the full path that
    follows is the one fetch other callers wait for."""
    output, key = _lookup(args)
    if output is not None or key is None:
        return output, None
    lock = _wait_for_role_lock(key)
    if lock is None:
        return None, None
    output, _ = _lookup(args)
    if output is not None:
        release(lock)
        return output, None
    return None, lock


def release(lock: int | None) -> None:
    """Let the next caller waiting in `answer_or_lock` ask the cache (the lock goes with it)."""
    if lock is not None:
        os.close(lock)


def request(args: list[str]) -> tuple[str, int] | None:
    """(profile, min_remaining in microseconds) of `credential-process ARGS` as this module
    reads them (`--min-remaining`, else the noted settings); None when only the full path can
    tell. For `coldfetch`, which fetches on a cold cache with the same reading."""
    parsed = parse_args(args)
    if parsed is None:
        return None
    profile, min_remaining_us = parsed
    if min_remaining_us is None:
        min_remaining_us = noted_min_remaining_us()
    return None if min_remaining_us is None else (profile, min_remaining_us)


def _lookup(args: list[str]) -> tuple[str | None, str | None]:
    """(the answer, None); or (None, role cache key) when that role's cache is cold (missing,
    unusable or expiring, or the settings not known here); or (None, None) to decline."""
    parsed = parse_args(args)
    if parsed is None:
        return None, None
    profile, min_remaining_us = parsed
    key = _cache_key_for(profile)
    if key is None:
        return None, None
    cache_dir = paths.cli_cache_location()
    # A cache folder another user owns or can write to may hold their keys, not ours: the full
    # path refuses it with the message (two stat calls here).
    if paths.folder_problem(cache_dir) or paths.folder_problem(os.path.dirname(cache_dir)):
        return None, None
    if min_remaining_us is None:
        min_remaining_us = noted_min_remaining_us()
        if min_remaining_us is None:
            return None, key
    return answer_from_cache(os.path.join(cache_dir, f"{key}.json"), min_remaining_us), key


def answer_from_cache(
    cache_file: str,
    min_remaining_us: int,
    expiration: Callable[[object], tuple[int, str]] | None = None,
) -> str | None:
    """The credential_process JSON from the cached credentials in `cache_file` (a role cache
    entry: `{"Credentials": {...}}`) when they have more than `min_remaining_us` left, else None.
    `expiration` reads the cached `Expiration` as (epoch microseconds, the text printed), raising
    ValueError for one it does not take; by default `_expiration`, the role cache's reading."""
    from aws_sso_tray.aws.formats import process_json_text

    read_expiration = _expiration if expiration is None else expiration

    try:
        fd = os.open(cache_file, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with open(fd, encoding="utf-8") as handle:
            data = loads_json(handle.read())
        creds = data["Credentials"]
        key_id, secret = creds["AccessKeyId"], creds["SecretAccessKey"]
        token = creds.get("SessionToken") or None
        expiration = creds["Expiration"]
        expires_us, expiration_text = read_expiration(expiration)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if not (usable_key_text(key_id) and usable_key_text(secret)):
        return None
    if token is not None and not usable_key_text(token):
        return None
    # datetime.now's microseconds are floored too: the same comparison as the full path's.
    if expires_us - time.time_ns() // 1000 <= min_remaining_us:
        return None
    return process_json_text(key_id, secret, token, expiration_text)


def _expiration(value: object) -> tuple[int, str]:
    """(epoch microseconds, the text credential_process prints) of a cached `Expiration`.

    The AWS CLI's form is computed here; any other goes through `clock` (ValueError when it is
    no usable time)."""
    seconds = iso_epoch_seconds(value) if isinstance(value, str) else None
    if seconds is not None:
        return seconds * _MICRO, str(value)
    from datetime import timedelta

    from aws_sso_tray import clock

    parsed = clock.parse_time(value)  # type: ignore[arg-type]
    return (parsed - clock.EARLIEST) // timedelta(microseconds=1), clock.format_time(parsed)


def iso_epoch_seconds(text: str) -> int | None:
    """Epoch seconds of `YYYY-MM-DDTHH:MM:SSZ` (the form the AWS CLI and we write), years 1970
    to 8999; None for anything else, valid or not (`clock.parse_time` then decides)."""
    if len(text) != 20 or not text.isascii() or text[4::3] != "--T::Z":
        return None
    fields = (text[0:4], text[5:7], text[8:10], text[11:13], text[14:16], text[17:19])
    if not all(f.isdigit() for f in fields):
        return None
    year, month, day, hour, minute, second = (int(f) for f in fields)
    if not (1970 <= year <= 8999 and 1 <= month <= 12 and 1 <= day <= 28 + 3):
        return None
    if day > _days_in_month(year, month) or hour > 23 or minute > 59 or second > 59:
        return None
    return _days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return 29 if leap else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 (Howard Hinnant's days_from_civil)."""
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - _EPOCH_DAYS


_JSON_CONSTANTS = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}


class _JsonContext:
    """What `json.JSONDecoder()` gives the C scanner: json.loads' defaults exactly."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = _JSON_CONSTANTS.__getitem__


_scan: Callable[[str, int], tuple[Any, int]] | None = None


def loads_json(text: str) -> Any:
    """`json.loads(text)` for a str, run by the same C scanner without importing json (which
    imports `re`). ValueError where json.loads raises one."""
    global _scan
    if _scan is None:
        try:
            from _json import make_scanner
        except ImportError:  # pragma: no cover - other interpreters
            import json

            return json.loads(text)
        _scan = make_scanner(_JsonContext)  # type: ignore[arg-type]
    if text.startswith("\ufeff"):
        raise ValueError("Unexpected UTF-8 BOM (decode using utf-8-sig)")
    index = _skip_json_space(text, 0)
    try:
        value, end = _scan(text, index)
    except StopIteration as exc:
        raise ValueError(f"Expecting value at {exc.value}") from None
    if _skip_json_space(text, end) != len(text):
        raise ValueError("Extra data")
    return value


def _skip_json_space(text: str, index: int) -> int:
    # json.decoder.WHITESPACE: [ \t\n\r]*
    while index < len(text) and text[index] in " \t\n\r":
        index += 1
    return index


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
    from datetime import timedelta

    seconds = _noted_min_remaining_seconds()
    return None if seconds is None else timedelta(seconds=seconds)


def noted_min_remaining_us() -> int | None:
    """settings.toml's min_remaining in microseconds as the full path last noted it (the default
    when there is no settings file); None: unknown here, the full path reads the file. Shared by
    the warm paths, for a `credential-process` without `--min-remaining`."""
    seconds = _noted_min_remaining_seconds()
    if seconds is None:
        return None
    if seconds == int(seconds):
        return int(seconds) * _MICRO
    from datetime import timedelta  # timedelta's own rounding of a fraction of a microsecond

    return timedelta(seconds=seconds) // timedelta(microseconds=1)


def _noted_min_remaining_seconds() -> int | float | None:
    location = settings_location()
    try:
        identity = settings_identity(location)
    except OSError:
        return None
    if identity is None:
        return DEFAULT_MIN_REMAINING_SECONDS
    note_file = _note_location()
    if paths.folder_problem(os.path.dirname(note_file)):
        return None  # the full path says what is wrong with our state folder
    try:
        fd = os.open(note_file, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with open(fd, encoding="utf-8") as handle:
            note = loads_json(handle.read())
        seconds = note["min_remaining_seconds"]
        if (
            note["settings_file"] == location
            and note["identity"] == identity
            and type(seconds) in (int, float)
            and 0 < seconds <= MAX_NOTED_SECONDS
        ):
            return seconds  # type: ignore[no-any-return]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


def remember_min_remaining(identity: list[int] | None, min_remaining: timedelta) -> None:
    """Note `min_remaining`, read from the settings file while it had `identity`, for this module.

    Called by the full path after it parsed the file; nothing is noted when the file changed
    since (or is absent: the default needs no note). A note that cannot be written only costs
    speed, so failures are ignored."""
    import json

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


_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_MAX_DURATION_SECONDS = 365 * 86400  # clock.MAX_DURATION


def _duration_us(value: str) -> int | None:
    """`--min-remaining VALUE` in microseconds, as `clock.parse_duration` reads it; None when it
    is not a duration. The plain forms (`900`, `90s`, `15m`, `1h`, `2d`) are read here, because
    `clock` imports `re` and `datetime`, which would double this path's start-up; any other form
    (decimals, spaces, capitals) goes to `clock`."""
    unit = value[-1:] if value[-1:] in ("s", "m", "h", "d") else ""
    digits = value[: len(value) - len(unit)]
    if digits and digits.isascii() and digits.isdigit() and len(digits) <= 12:
        seconds = int(digits) * _UNIT_SECONDS[unit]
        return seconds * 1_000_000 if 1 <= seconds <= _MAX_DURATION_SECONDS else None
    from datetime import timedelta

    from aws_sso_tray import clock

    try:
        return clock.parse_duration(value) // timedelta(microseconds=1)
    except ValueError:
        return None


def parse_args(args: list[str]) -> tuple[str, int | None] | None:
    """(profile, --min-remaining in microseconds or None) of `credential-process ARGS`, or None
    for the full CLI (`--debug`, `--help`, any other flag, a duration it does not read). The
    profile defaults as the full CLI's does (AWS_PROFILE, AWS_DEFAULT_PROFILE, `default`). Shared
    by the warm paths (`warmchained`, `enginecreds`), so that all of them read ARGS alike."""
    profile = os.environ.get("AWS_PROFILE") or os.environ.get("AWS_DEFAULT_PROFILE") or "default"
    min_remaining_us: int | None = None
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
            min_remaining_us = _duration_us(value)
            if min_remaining_us is None:
                return None
        else:
            profile = value
    return profile, min_remaining_us


# --- the config file --------------------------------------------------------------------------


def simple_sections(text: str) -> dict[str, dict[str, str]] | None:
    """The sections of a plain config file as `configparser.RawConfigParser` reads them
    (`{name: dict(parser.items(name))}`), or None when the file is not plain enough to be sure.

    Plain: ASCII; every line blank, a comment (`#`, `;`), a `[section]` header or a `key = value`
    (`=` or `:`) line starting in the first column, inside a section; no section (`DEFAULT`
    included) or key twice. The rules followed are RawConfigParser's: keys lower-cased and
    stripped, values stripped, no inline comments, no interpolation."""
    if not text.isascii():
        return None
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        value = line.strip()
        if not value or value.startswith(("#", ";")):
            continue
        if line[0].isspace():
            return None  # a continuation or an indented line: configparser's rules get subtle
        if value.startswith("["):
            name = value[1:-1]
            if not value.endswith("]") or not name or name in sections or name == "DEFAULT":
                return None
            current = sections[name] = {}
            continue
        equals, colon = value.find("="), value.find(":")
        split = min(i for i in (equals, colon, len(value)) if i >= 0)
        key = value[:split].rstrip().lower()
        if current is None or split == len(value) or not key or key in current:
            return None
        current[key] = value[split + 1 :].strip()
    return sections


def config_sections() -> dict[str, dict[str, str]] | None:
    """The config file's sections as botocore's parse reads them (`simple_sections`, else
    RawConfigParser), `{}` when there is no file, or None when it cannot be read. Shared by the
    warm paths (`warmchained` follows a chain through them)."""
    location = paths.aws_config_location()
    try:
        with open(location, encoding="utf-8") as handle:
            text = handle.read()
    except OSError:
        return {}  # configparser's read() skips a file it cannot open: no profiles
    except UnicodeError:
        return None
    sections = simple_sections(text)
    if sections is not None:
        return sections
    import configparser

    config = configparser.RawConfigParser()
    try:
        config.read_string(text, source=location)
    except configparser.Error:
        return None
    return {name: dict(config.items(name)) for name in config.sections()}


def profile_section(sections: dict[str, dict[str, str]], name: str) -> dict[str, str] | None:
    """Profile `name`'s keys in `sections` as botocore's profile map finds them: `[profile NAME]`,
    and `[default]` for the default profile; None when there is none. Shared by the warm paths."""
    values = sections.get(f"profile {name}")
    if values is None and name == "default":
        values = sections.get("default")
    return values


def _cache_key_for(profile: str) -> str | None:
    sections = config_sections()
    if sections is None:
        return None
    values = profile_section(sections, profile)
    if not values:
        return None
    account, role = values.get("sso_account_id"), values.get("sso_role_name")
    if not account or not role:
        return None
    session_name = values.get("sso_session")
    if session_name:
        if not sections.get(f"sso-session {session_name}"):
            return None
        return role_cache_key(account, role, session_name, "")
    start_url = values.get("sso_start_url")
    if not start_url or not values.get("sso_region"):
        return None
    return role_cache_key(account, role, None, start_url)


# --- bursts -----------------------------------------------------------------------------------


def role_lock_location(key: str) -> str:
    """The lock credential-process callers of one role take before the full path runs."""
    return os.path.join(paths.state_location(), "locks", f"credential-process-{key[:16]}.lock")


def _wait_for_role_lock(key: str) -> int | None:
    """The role's lock (an open descriptor holding `flock`), or None: no lock to wait for here.

    Only where the full path has made our locks folder (0700, ours) and only on POSIX; after
    BURST_WAIT_SECONDS (a holder stuck in the network) the caller goes on without it."""
    try:
        import fcntl
    except ImportError:  # Windows: the full path's own lock still makes one fetch
        return None
    location = role_lock_location(key)
    folder = os.path.dirname(location)
    if paths.folder_problem(folder) or paths.folder_problem(os.path.dirname(folder)):
        return None
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(location, flags, 0o600)
    except OSError:
        return None  # no locks folder yet (the full path makes it), or not ours to open
    try:
        owner = paths.new_owner(folder)  # root under `sudo -E`: the file is the user's
        if owner is not None:
            os.fchown(fd, *owner)
        deadline = time.monotonic() + BURST_WAIT_SECONDS
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return fd
            except BlockingIOError:
                if time.monotonic() > deadline:
                    break
                time.sleep(BURST_POLL_SECONDS)
    except OSError:
        pass
    os.close(fd)
    return None
