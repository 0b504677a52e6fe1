"""credential-process's fast path for a role chained on SSO: the assume-role cache, no botocore.

`warmcache.answer` hands a profile it does not know as an SSO profile to `answer` here. When the
profile is a plain chained profile (`role_arn` + `source_profile`, hop by hop down to an SSO role
profile) and the AWS CLI's assume-role cache in `~/.aws/cli/cache` holds its credentials with
more than the required lifetime left, this answers with exactly the JSON the full path
(`chained.get_credentials` + `formats.process_json`) prints, with the warm path's own budget:
`warmcache`'s public helpers (its reading of the arguments, the settings note and the config, its
JSON scanner and encoder, SHA-1 and arithmetic on times), nothing else (no `re`, `json`,
`hashlib`, `datetime`, `configparser` on the plain case; tests/test_warmcache.py).

The cache file's name is `chained.cache_key` (botocore's `_create_cache_key`: the sha1 of
`json.dumps(assume_kwargs, sort_keys=True)`), written here by hand; the file may be ours
(`Expiration` ends in `Z`) or the AWS CLI's (its JSONFileCache writes `...UTC`), both read.

It declines (None: the full path runs, validates and explains) on anything it is not sure the
full path accepts the same way: a link with `sso_*` keys, static keys, `credential_source`,
`credential_process`, `web_identity_token_file` or `mfa_serial`; a role ARN or a
`duration_seconds` outside what `profiles` accepts; a loop; a root that is not an SSO role profile
with its keys (as `warmcache` checks them); a cache folder that is not ours; anything odd in the
cache file. A cold cache is not handled here: `launch` then asks the running engine (its endpoint
serves chained profiles too), and without one the full path assumes the role.
"""

from __future__ import annotations

import os

from aws_sso_tray.aws import warmcache
from aws_sso_tray.files import paths

# Keys that make a link something other than a plain role chained on SSO for `profiles`
# (or for botocore): the full path decides those.
_NOT_PLAIN = (
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "credential_source",
    "credential_process",
    "web_identity_token_file",
    "mfa_serial",
)
_ROLE_NAME_CHARS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+=,.@-"
)
_MIN_SECONDS, _MAX_SECONDS = 900, 3600  # profiles.MIN_ASSUME_SECONDS, MAX_CHAINED_SECONDS
_MAX_HOPS = 16


def answer(args: list[str]) -> str | None:
    """The credential_process JSON for `credential-process ARGS` of a chained profile from the
    assume-role cache, or None to take the next path."""
    parsed = warmcache.parse_args(args)
    if parsed is None:
        return None
    profile, min_remaining_us = parsed
    sections = warmcache.config_sections()
    if sections is None:
        return None
    key = cache_key_for(sections, profile)
    if key is None:
        return None
    cache_dir = paths.cli_cache_location()
    if paths.folder_problem(cache_dir) or paths.folder_problem(os.path.dirname(cache_dir)):
        return None
    if min_remaining_us is None:
        min_remaining_us = warmcache.noted_min_remaining_us()
        if min_remaining_us is None:
            return None
    cache_file = os.path.join(cache_dir, f"{key}.json")
    return warmcache.answer_from_cache(cache_file, min_remaining_us, _expiration)


def cache_key_for(sections: dict[str, dict[str, str]], profile: str) -> str | None:
    """`chained.cache_key` of `profile` when it is a plain chained profile in `sections`."""
    values = warmcache.profile_section(sections, profile)
    if values is None or values.get("role_arn") is None:
        return None
    seen = {profile}
    link = values
    for _ in range(_MAX_HOPS):
        if not _plain_link(link):
            return None
        source = _value(link, "source_profile")
        if source is None or source in seen:
            return None  # a loop (or itself as its source): `profiles` or botocore decides
        seen.add(source)
        link = warmcache.profile_section(sections, source) or {}
        if _is_sso_root(sections, link):
            return _key(values)
        if _value(link, "role_arn") is None:
            return None
    return None


def _key(values: dict[str, str]) -> str | None:
    """sha1 of `json.dumps(chained.assume_kwargs(profile), sort_keys=True)`."""
    fields: list[str] = []
    duration = _value(values, "duration_seconds")
    if duration is not None:
        fields.append(f'"DurationSeconds": {int(duration)}')
    external_id = _value(values, "external_id")
    if external_id is not None:
        fields.append(f'"ExternalId": {warmcache.json_string(external_id)}')
    fields.append(f'"RoleArn": {warmcache.json_string(str(_value(values, "role_arn")))}')
    session_name = _value(values, "role_session_name")
    if session_name is not None:
        fields.append(f'"RoleSessionName": {warmcache.json_string(session_name)}')
    text = "{" + ", ".join(fields) + "}"
    return warmcache.sha1_hex(text)


def _value(values: dict[str, str], key: str) -> str | None:
    """`profiles._value`: a non-empty stripped string, else None."""
    value = values.get(key)
    return value.strip() or None if isinstance(value, str) else None


def _plain_link(values: dict[str, str]) -> bool:
    """Whether `profiles` takes this section as a chained link exactly as read here."""
    if any(k in values for k in _NOT_PLAIN) or any(k.startswith("sso_") for k in values):
        return False
    if any("\n" in v for v in values.values()):
        return False  # a nested block botocore reads as a dict
    role_arn = _value(values, "role_arn")
    if role_arn is None or not plain_role_arn(role_arn):
        return False
    duration = values.get("duration_seconds")
    if duration is not None:
        text = duration.strip()
        if not (text.isascii() and text.isdigit() and len(text) <= 5):
            return False
        if not _MIN_SECONDS <= int(text) <= _MAX_SECONDS:
            return False
    return True


def plain_role_arn(arn: str) -> bool:
    """Whether `arn` is an ASCII role ARN `profiles._ROLE_ARN_RE` accepts (without `re`):
    `arn:aws[a-z-]*:iam::ACCOUNT:role/[PATH/]NAME`."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or not arn.isascii() or parts[0] != "arn":
        return False
    partition, service, region, account, resource = parts[1:]
    suffix = partition[3:]
    if not partition.startswith("aws") or not all(c.islower() or c == "-" for c in suffix):
        return False
    if service != "iam" or region or len(account) != 12 or not account.isdigit():
        return False
    if not resource.startswith("role/"):
        return False
    path, slash, name = resource[5:].rpartition("/")
    if slash and not (path and all("\x21" <= c <= "\x7e" for c in path)):
        return False
    return 1 <= len(name) <= 64 and all(c in _ROLE_NAME_CHARS for c in name)


def _is_sso_root(sections: dict[str, dict[str, str]], values: dict[str, str]) -> bool:
    """An SSO role profile with all its keys (what `warmcache` answers for)."""
    if not values.get("sso_account_id") or not values.get("sso_role_name"):
        return False
    session = values.get("sso_session")
    if session:
        return bool(sections.get(f"sso-session {session}"))
    return bool(values.get("sso_start_url") and values.get("sso_region"))


def _expiration(value: object) -> tuple[int, str]:
    """An assume-role cache entry's `Expiration`: ours (`...Z`) or the AWS CLI's JSONFileCache
    form (`strftime('%Y-%m-%dT%H:%M:%S%Z')`, `...UTC`), printed as `...Z`; ValueError for any
    other form of time (the full path reads it)."""
    if not isinstance(value, str):
        raise ValueError("not a time")
    text = value[:-3] + "Z" if value.endswith("UTC") else value
    seconds = warmcache.iso_epoch_seconds(text)
    if seconds is None:
        raise ValueError("another form of time")
    return seconds * 1_000_000, text
