"""The SSO profiles and sso-sessions in the AWS config file, read exactly as botocore reads them.

Owns: finding `SsoProfile` / `SsoSession` values in `$AWS_CONFIG_FILE` or `~/.aws/config`, and
turning every problem in that file into a one-line `ConfigError` that names the file, the line or
profile, and the fix.

Parsing is botocore's own (`botocore.configloader.raw_config_parse` + `build_profile_map`), so a
profile means here what it means to the AWS CLI and every SDK (`[DEFAULT]` inheritance, quoted
names, `[default]` vs `[profile default]`, inline `#` kept in values). The rules for what makes a
usable SSO profile follow botocore's `SSOProvider` / `SSOTokenProvider`:

- a *role profile* has `sso_account_id` and `sso_role_name`, plus either `sso_start_url` and
  `sso_region` (legacy form) or `sso_session = S` with a `[sso-session S]` section holding them;
- keys the profile repeats from its sso-session must agree with it (botocore refuses otherwise);
- a profile with only `sso_session` (no account, no role) is a valid *token-only* profile (e.g.
  CodeCatalyst): not a role profile, not a problem;
- a *chained profile* (`ChainedProfile`) has `role_arn` and `source_profile`, and its source is an
  SSO role profile or, hop by hop, another chained profile ending in one, as botocore's
  `AssumeRoleProvider` follows them (a source with static keys, `credential_source` or a source
  outside the config are botocore's, not ours); `mfa_serial` is refused (no MFA prompt in a tray);
- every other profile (keys, `credential_process`...) is not ours to judge and is
  ignored by the SSO views; nothing in it can stop the SSO list.

Errors: malformed INI (botocore cannot read the file at all) is fatal: `read_config` and
`load_profiles` raise `ConfigError`. A broken SSO profile or sso-session is *not* fatal: it is left
out of the lists and recorded as a `ConfigProblem` (see `config_problems()`), so a tray user with
one typo still sees every other profile, while `get_profile` / `get_session` of the broken entry
raise that problem as a `ConfigError`.

Cost: `credential-process` runs `get_profile` for every AWS command a user types, so this module
imports only `botocore.configloader` (no boto3, no `botocore.session`), and a parsed file is cached
on (path, mtime_ns, size, inode) so repeated calls in a long-lived process re-parse only after the
file changed.
"""

from __future__ import annotations

import configparser
import locale
import os
import re
import shlex
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aws_sso_tray.errors import ConfigError
from aws_sso_tray.files import paths

__all__ = [
    "ChainedProfile",
    "ConfigProblem",
    "NotSsoProfileError",
    "ProfileNotFoundError",
    "SsoConfig",
    "SsoProfile",
    "SsoSession",
    "config_mtime",
    "config_problems",
    "config_signature",
    "display_path",
    "find_chained",
    "find_profile",
    "find_role_profile",
    "get_profile",
    "get_session",
    "load_profiles",
    "profiles_by_session",
    "read_config",
    "sessions",
    "valid_region",
]

# The keys botocore's SSOProvider requires once a profile has an account id or a role name.
_ROLE_KEYS = ("sso_account_id", "sso_role_name")
_SESSION_KEYS = ("sso_start_url", "sso_region")
# Ours first: it sets up sessions and profiles from the portal; the AWS CLI's does one profile.
_CONFIGURE_SSO = "run `aws-sso-tray configure` (or `aws configure sso`)"
# botocore's own rule for a region (`utils.validate_region_name`, checked when it creates a
# client): a host label. Stricter would refuse regions AWS has not opened yet.
_REGION_RE = re.compile(r"^[a-zA-Z0-9](?:[a-zA-Z0-9\-]{0,61}[a-zA-Z0-9])?$")


class ProfileNotFoundError(ConfigError):
    """No profile of that name in the AWS config (it may still exist in ~/.aws/credentials)."""


class NotSsoProfileError(ConfigError):
    """The profile exists but gets no credentials from SSO: callers may fall back to boto3."""


@dataclass(frozen=True)
class SsoSession:
    """One SSO login: a `[sso-session NAME]` section, or a legacy profile's implicit session."""

    name: str | None  # None for a legacy profile's implicit session
    start_url: str
    region: str
    registration_scopes: tuple[str, ...] = ()  # () when not set

    @property
    def cache_key(self) -> str:
        """What the token cache file name is the sha1 of: session name, or start URL (legacy)."""
        return self.name if self.name is not None else self.start_url

    @property
    def display_name(self) -> str:
        """Session name, or for legacy the start URL host's first label ("d-123abc")."""
        if self.name is not None:
            return self.name
        host = urlsplit(self.start_url).hostname
        return host.split(".")[0] if host else self.start_url


@dataclass(frozen=True)
class SsoProfile:
    """A profile whose credentials come from an IAM Identity Center role."""

    name: str
    session: SsoSession
    account_id: str
    role_name: str
    region: str | None  # the profile's own `region` (for the services), if any


@dataclass(frozen=True)
class ChainedProfile:
    """A profile that assumes `role_arn` (STS AssumeRole) with its source profile's credentials:
    an SSO role profile, or a chained profile again (`role_arn` + `source_profile` chains).

    It quacks like an `SsoProfile` where the engine and the snapshot look (`name`, `session`,
    `account_id`, `role_name`, `region`): it belongs to the SSO session at the chain's root.
    """

    name: str
    role_arn: str
    source: SsoProfile | ChainedProfile
    role_session_name: str | None = None
    duration_seconds: int | None = None  # as botocore reads it: an int, else unset
    external_id: str | None = field(default=None, repr=False)
    region: str | None = None

    @property
    def root(self) -> SsoProfile:
        """The SSO role profile the chain starts from."""
        source = self.source
        while isinstance(source, ChainedProfile):
            source = source.source
        return source

    @property
    def session(self) -> SsoSession:
        return self.root.session

    @property
    def account_id(self) -> str:
        return self.role_arn.split(":")[4]

    @property
    def role_name(self) -> str:
        return self.role_arn.split(":", 5)[5].rsplit("/", 1)[-1]

    @property
    def hops(self) -> tuple[str, ...]:
        """The profile names from the SSO root to this one."""
        names = [self.name]
        source: SsoProfile | ChainedProfile = self.source
        while isinstance(source, ChainedProfile):
            names.append(source.name)
            source = source.source
        names.append(source.name)
        return tuple(reversed(names))


# Where a chain's credentials come from: an SSO role profile, or a role chained on one.
SsoBackedProfile = SsoProfile | ChainedProfile


@dataclass(frozen=True)
class ConfigProblem:
    """One broken SSO profile or sso-session; `message` is complete and one line."""

    message: str
    profile: str | None = None  # the broken profile, if the problem is a profile's
    session: str | None = None  # the sso-session involved, if any
    line: int | None = None  # 1-based line of the section header (or offending line)

    def __str__(self) -> str:
        return self.message

    def error(self) -> ConfigError:
        return ConfigError(self.message)


@dataclass(frozen=True)
class SsoConfig:
    """Everything SSO in one parse of the config file. Lists are in config-file order."""

    path: Path
    exists: bool
    profiles: tuple[SsoProfile, ...] = ()
    # Every usable session: each valid [sso-session] section (used or not) and each legacy
    # start URL, distinct by cache_key.
    sessions: tuple[SsoSession, ...] = ()
    problems: tuple[ConfigProblem, ...] = ()
    # Names of profiles that exist but are not role profiles (plain keys, token-only, ...).
    other_profiles: tuple[str, ...] = ()
    # Private lookups; compare=False keeps equality about the public content.
    _profile_problems: Mapping[str, ConfigProblem] = field(
        default_factory=dict, compare=False, repr=False
    )
    _session_problems: Mapping[str, ConfigProblem] = field(
        default_factory=dict, compare=False, repr=False
    )
    _token_only: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)
    _lines: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)
    # Roles chained on SSO profiles (role_arn + source_profile), in config order.
    chained: tuple[ChainedProfile, ...] = ()
    _chained_problems: Mapping[str, ConfigProblem] = field(
        default_factory=dict, compare=False, repr=False
    )
    # Every [profile] section as botocore reads it (`build_profile_map`), for the keys this view
    # does not model (a profile's `ca_bundle`, read per call by aws/clients).
    sections: Mapping[str, Mapping[str, Any]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def find_chained(self, name: str) -> ChainedProfile | None:
        """The chained profile `name`; None when it is not one resting on SSO.

        Raises ConfigError when it is one we refuse (mfa_serial) or a broken one."""
        for profile in self.chained:
            if profile.name == name:
                return profile
        problem = self._chained_problems.get(name)
        if problem is not None:
            raise problem.error()
        return None

    def find_role_profile(self, name: str) -> SsoProfile | ChainedProfile | None:
        """The SSO role profile or chained profile `name`; None when it is neither."""
        return self.find_profile(name) or self.find_chained(name)

    def find_profile(self, name: str) -> SsoProfile | None:
        """The SSO role profile `name`; None when it is not one (or not in this file).

        Raises ConfigError when `name` is an SSO profile that is broken.
        """
        for profile in self.profiles:
            if profile.name == name:
                return profile
        problem = self._profile_problems.get(name)
        if problem is not None:
            raise problem.error()
        return None

    def get_profile(self, name: str) -> SsoProfile:
        profile = self.find_profile(name)
        if profile is not None:
            return profile
        where = display_path(self.path)
        if not self.exists:
            raise ProfileNotFoundError(f"no AWS config at {where}: {_CONFIGURE_SSO}")
        if name in self._token_only:
            raise NotSsoProfileError(
                f"{self._at(name)}profile '{name}' uses sso_session "
                f"'{self._token_only[name]}' for tokens only (no sso_account_id / "
                f"sso_role_name); add them, run `aws configure sso --profile {name}`, or "
                "set up role profiles with `aws-sso-tray configure`"
            )
        if name in self.other_profiles:
            raise NotSsoProfileError(
                f"{self._at(name)}profile '{name}' is not an SSO profile (no sso_session or "
                f"sso_start_url, sso_account_id, sso_role_name); "
                f"run `aws configure sso --profile {name}` to make it one, or set up SSO "
                "profiles with `aws-sso-tray configure`"
            )
        known = ", ".join(p.name for p in self.profiles) or "none"
        raise ProfileNotFoundError(
            f"no profile '{name}' in {where} (SSO profiles: {known}); "
            f"check the name or {_CONFIGURE_SSO}"
        )

    def get_session(self, name: str) -> SsoSession:
        """The sso-session `name`; a legacy session is found by its start URL (its cache_key)."""
        for session in self.sessions:
            if session.cache_key == name:
                return session
        problem = self._session_problems.get(name)
        if problem is not None:
            raise problem.error()
        where = display_path(self.path)
        if not self.exists:
            raise ConfigError(f"no AWS config at {where}: {_CONFIGURE_SSO}")
        known = ", ".join(s.display_name for s in self.sessions) or "none"
        raise ConfigError(
            f"no [sso-session {name}] section in {where} (sessions: {known}); "
            f"add it or {_CONFIGURE_SSO}"
        )

    def _at(self, profile: str) -> str:
        return _where(self.path, self._lines.get(profile))


# ---------------------------------------------------------------------------------------------
# Public functions


def display_path(path: Path) -> str:
    """`path` as a person would type it: under HOME shown as `~/...`."""
    try:
        home = Path.home()
        rel = Path(path).relative_to(home)
    except (ValueError, RuntimeError, KeyError):
        return str(path)
    return "~" if str(rel) == "." else f"~/{rel.as_posix()}"


def config_signature(config_file: Path | None = None) -> tuple[int, int, int] | None:
    """(mtime_ns, size, inode) of the config file, None when there is none. One stat call."""
    path = _path(config_file)
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def config_mtime(config_file: Path | None = None) -> int | None:
    """The config file's mtime in ns (None when missing): cheap change detection."""
    sig = config_signature(config_file)
    return None if sig is None else sig[0]


def read_config(config_file: Path | None = None) -> SsoConfig:
    """The SSO view of the config file; cached until the file's (mtime, size, inode) change.

    A missing file gives an empty SsoConfig (`exists=False`). Raises ConfigError only when the
    file cannot be read or parsed at all.
    """
    path = _path(config_file)
    key = str(path)
    sig = config_signature(path)
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None and cached[0] == sig:
            return cached[1]
    result = SsoConfig(path=path, exists=False) if sig is None else _parse(path)
    # Only cache what we know belongs to `sig`: a write during the parse must not be hidden.
    if config_signature(path) == sig:
        with _cache_lock:
            _cache[key] = (sig, result)
    return result


def load_profiles(config_file: Path | None = None) -> list[SsoProfile]:
    """Every usable SSO role profile, in config order; broken ones are in `config_problems()`.

    Raises ConfigError only for a file that cannot be read or parsed (botocore can't either).
    """
    return list(read_config(config_file).profiles)


def config_problems(config_file: Path | None = None) -> list[ConfigProblem]:
    """The broken SSO profiles and sso-sessions that `load_profiles` left out."""
    return list(read_config(config_file).problems)


def get_profile(name: str, config_file: Path | None = None) -> SsoProfile:
    """The SSO role profile `name`.

    Raises `ProfileNotFoundError` (no such profile in the config, or no config), or
    `NotSsoProfileError` (exists, but not an SSO role profile: fall back to boto3 for it), both
    ConfigErrors; or a plain ConfigError saying what is broken in it and how to fix it.
    """
    return read_config(config_file).get_profile(name)


def find_profile(name: str, config_file: Path | None = None) -> SsoProfile | None:
    """The SSO role profile `name`, or None when it is not one or not in the config file.

    For `export` / `credential-process`: None means "let boto3 handle this profile" (it may be
    a static-keys profile, or live only in ~/.aws/credentials). A *broken* SSO profile still
    raises ConfigError, since boto3 would fail on it with a worse message.
    """
    return read_config(config_file).find_profile(name)


def find_chained(name: str, config_file: Path | None = None) -> ChainedProfile | None:
    """The role chained on SSO profiles named `name` (see `ChainedProfile`), None when `name`
    is not one; ConfigError for a chained profile we refuse (mfa_serial) or a broken one."""
    return read_config(config_file).find_chained(name)


def find_role_profile(
    name: str, config_file: Path | None = None
) -> SsoProfile | ChainedProfile | None:
    """The SSO role profile or the role chained on one named `name`; None when it is neither
    (botocore's to resolve); ConfigError when it is a broken or refused one."""
    return read_config(config_file).find_role_profile(name)


def get_session(name: str, config_file: Path | None = None) -> SsoSession:
    """The `[sso-session NAME]` session, or a legacy one by its start URL; else ConfigError."""
    return read_config(config_file).get_session(name)


def sessions(profiles: Iterable[SsoProfile]) -> list[SsoSession]:
    """The distinct sessions of `profiles` (by cache_key, first one wins), in their order."""
    return list(profiles_by_session(profiles))


def profiles_by_session(profiles: Iterable[SsoProfile]) -> dict[SsoSession, list[SsoProfile]]:
    """Profiles grouped under their session, in order. Sessions are merged by cache_key, since
    they share one token: two legacy profiles with one start URL but different sso_region are
    grouped under the first one's session."""
    by_key: dict[str, SsoSession] = {}
    grouped: dict[SsoSession, list[SsoProfile]] = {}
    for profile in profiles:
        session = by_key.setdefault(profile.session.cache_key, profile.session)
        grouped.setdefault(session, []).append(profile)
    return grouped


# ---------------------------------------------------------------------------------------------
# Parsing

_cache_lock = threading.Lock()
_cache: dict[str, tuple[tuple[int, int, int] | None, SsoConfig]] = {}


def _path(config_file: Path | str | None) -> Path:
    if config_file is None:
        return paths.aws_config_file()
    return Path(os.path.expandvars(str(config_file))).expanduser()


def valid_region(text: str) -> bool:
    """Whether botocore accepts `text` as a region name (`us east 1` it does not)."""
    return bool(_REGION_RE.match(text))


def _bad_region(region: str) -> str:
    return (
        f"sso_region = {region!r}, which is not an AWS region; use the region's code, "
        "like us-east-1 or eu-west-1"
    )


def _where(path: Path, line: int | None) -> str:
    shown = display_path(path)
    return f"{shown} line {line}: " if line is not None else f"{shown}: "


def _parse(path: Path) -> SsoConfig:
    from botocore.configloader import build_profile_map, raw_config_parse
    from botocore.exceptions import ConfigNotFound, ConfigParseError

    where = display_path(path)
    try:
        # configparser (and so botocore) silently skips a file it cannot open: read it ourselves
        # first so "permission denied" is an error, not an empty profile list.
        data = path.read_bytes()
    except IsADirectoryError:
        raise ConfigError(
            f"{where} is a directory, not a file: move it away or point AWS_CONFIG_FILE at a file"
        ) from None
    except FileNotFoundError:
        return SsoConfig(path=path, exists=False)
    except OSError as exc:
        raise ConfigError(
            f"cannot read {where}: {exc.strerror or exc}; fix its permissions (chmod 600 {where})"
        ) from None
    text = data.decode(_botocore_encoding(), errors="replace")
    try:
        raw = raw_config_parse(str(path))
    except ConfigNotFound:
        return SsoConfig(path=path, exists=False)
    except ConfigParseError as exc:
        raise _syntax_error(path, data, text, exc.kwargs.get("error")) from None
    return _build(path, build_profile_map(raw), raw, text)


def _botocore_encoding() -> str:
    # configparser.read(encoding=None) opens with the locale's encoding, as botocore does.
    return locale.getpreferredencoding(False)


def _header_lines(text: str) -> dict[str, int]:
    """Section header -> 1-based line of its first occurrence.

    Only unindented lines: configparser treats an indented line after an option as a
    continuation, and an unindented one never."""
    sectcre = configparser.RawConfigParser.SECTCRE
    lines: dict[str, int] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line or line[0].isspace():
            continue
        match = sectcre.match(line.strip())
        if match:
            lines.setdefault(match.group("header"), lineno)
    return lines


def _section_names(raw: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """Profile name -> section header, sso-session name -> section header, the way
    botocore's build_profile_map maps them (later sections win, like its dict.update)."""
    profile_sections: dict[str, str] = {}
    session_sections: dict[str, str] = {}
    for key in raw:
        target: dict[str, str] | None = None
        if key.startswith("profile"):
            target = profile_sections
        elif key.startswith("sso-session"):
            target = session_sections
        elif key == "default":
            profile_sections["default"] = key
            continue
        if target is None:
            continue
        try:
            parts = shlex.split(key)
        except ValueError:
            continue
        if len(parts) == 2:
            target[parts[1]] = key
    return profile_sections, session_sections


def _value(section: Mapping[str, Any], key: str) -> str | None:
    """A key's value as a non-empty string; None when absent or empty (empty == unset for us)."""
    value = section.get(key)
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return None  # absent, or a nested block (`key =` + indented lines): never a valid SSO value


def _scopes(raw: str | None) -> tuple[str, ...]:
    # As the AWS CLI's parse_sso_registration_scopes: comma-separated, blanks dropped.
    if not raw:
        return ()
    return tuple(s.strip() for s in raw.split(",") if s.strip())


def _build(path: Path, config: Mapping[str, Any], raw: Mapping[str, Any], text: str) -> SsoConfig:
    builder = _ConfigBuilder(path, config.get("sso_sessions", {}), raw, text)
    # sso-sessions first: every profile naming one depends on it.
    for name, section in builder.raw_sessions.items():
        builder.add_session(name, section)
    raw_profiles: Mapping[str, Mapping[str, Any]] = config.get("profiles", {})
    for name, section in raw_profiles.items():
        builder.add_profile(name, section)
    return builder.result(raw_profiles)


class _ConfigBuilder:
    """What `_build` gathers from botocore's profile map, one section at a time."""

    def __init__(
        self,
        path: Path,
        raw_sessions: Mapping[str, Mapping[str, Any]],
        raw: Mapping[str, Any],
        text: str,
    ) -> None:
        self.path = path
        self.raw_sessions = raw_sessions
        self.headers = _header_lines(text)
        self.profile_sections, self.session_sections = _section_names(raw)
        self.valid_sessions: dict[str, SsoSession] = {}
        self.session_problems: dict[str, ConfigProblem] = {}
        self.profiles: list[SsoProfile] = []
        self.others: list[str] = []
        self.token_only: dict[str, str] = {}
        self.profile_problems: dict[str, ConfigProblem] = {}
        self.problems: list[ConfigProblem] = []
        self.lines: dict[str, int] = {}
        self.seen_session_problems: set[str] = set()
        self.other_sections: dict[str, Mapping[str, Any]] = {}

    def _line_of_profile(self, name: str) -> int | None:
        section = self.profile_sections.get(name)
        return self.headers.get(section) if section is not None else None

    def _line_of_session(self, name: str) -> int | None:
        section = self.session_sections.get(name)
        return self.headers.get(section) if section is not None else None

    # -- [sso-session NAME] -------------------------------------------------------------------

    def add_session(self, name: str, section: Mapping[str, Any]) -> None:
        missing = [k for k in _SESSION_KEYS if _value(section, k) is None]
        if missing:
            line = self._line_of_session(name)
            self.session_problems[name] = ConfigProblem(
                message=(
                    f"{_where(self.path, line)}[sso-session {name}] has no "
                    f"{' or '.join(missing)}; "
                    f"add {' and '.join(f'`{k} = ...`' for k in missing)} to it "
                    f"or run `aws configure sso-session`"
                ),
                session=name,
                line=line,
            )
            return
        region = _value(section, "sso_region") or ""
        if not valid_region(region):
            line = self._line_of_session(name)
            self.session_problems[name] = ConfigProblem(
                message=f"{_where(self.path, line)}[sso-session {name}] has {_bad_region(region)}",
                session=name,
                line=line,
            )
            return
        self.valid_sessions[name] = SsoSession(
            name=name,
            start_url=_value(section, "sso_start_url") or "",
            region=region,
            registration_scopes=_scopes(_value(section, "sso_registration_scopes")),
        )

    # -- [profile NAME] -----------------------------------------------------------------------

    def _problem(
        self, name: str, line: int | None, message: str, session: str | None = None
    ) -> None:
        found = ConfigProblem(message=message, profile=name, session=session, line=line)
        self.profile_problems[name] = found
        self.problems.append(found)

    def add_profile(self, name: str, section: Mapping[str, Any]) -> None:
        line = self._line_of_profile(name)
        if line is not None:
            self.lines[name] = line
        at = _where(self.path, line)
        session_name = _value(section, "sso_session")
        has_role_keys = any(k in section for k in _ROLE_KEYS)
        # sso_region alone is not an SSO profile: botocore ignores it, and a `[DEFAULT]`
        # section's sso_region is inherited by every profile.
        has_legacy_keys = "sso_start_url" in section
        if "sso_session" in section and session_name is None:
            self._problem(
                name,
                line,
                f"{at}profile '{name}' has an empty sso_session; set it or remove that line",
            )
            return
        if session_name is None and not has_role_keys and not has_legacy_keys:
            self.others.append(name)  # not an SSO profile: not ours to judge
            self.other_sections[name] = section  # unless it chains a role on one
            return
        if session_name is not None:
            session = self._named_session(name, section, line, session_name, has_role_keys)
        else:
            session = self._legacy_session(name, section, line)
        if session is None:
            return
        role_missing = [k for k in _ROLE_KEYS if _value(section, k) is None]
        if role_missing:  # only reachable for sso_session profiles: legacy checked all keys
            needed = " and ".join(role_missing)
            self._problem(
                name,
                line,
                f"{at}profile '{name}' uses sso_session '{session_name}' but has no {needed}; "
                f"add {needed} or {_fix(name)}",
                session_name,
            )
            return
        self.profiles.append(
            SsoProfile(
                name=name,
                session=session,
                account_id=_value(section, "sso_account_id") or "",
                role_name=_value(section, "sso_role_name") or "",
                region=_value(section, "region"),
            )
        )

    def _named_session(
        self,
        name: str,
        section: Mapping[str, Any],
        line: int | None,
        session_name: str,
        has_role_keys: bool,
    ) -> SsoSession | None:
        """The [sso-session] a profile names; None when it has a problem or no role."""
        at = _where(self.path, line)
        if session_name in self.session_problems:
            # The session's own problem says what to fix; report it once, not per profile.
            session_problem = self.session_problems[session_name]
            self.profile_problems[name] = session_problem
            if session_name not in self.seen_session_problems:
                self.seen_session_problems.add(session_name)
                self.problems.append(session_problem)
            return None
        if session_name not in self.valid_sessions:
            self._problem(
                name,
                line,
                f"{at}profile '{name}' names sso_session '{session_name}' but "
                f"{display_path(self.path)} has no [sso-session {session_name}] section; "
                f"add it or {_CONFIGURE_SSO}",
                session_name,
            )
            return None
        # botocore's SSOProvider: every key the profile repeats from the session must match.
        session_section = self.raw_sessions[session_name]
        conflict = next(
            (k for k, v in session_section.items() if k in section and section[k] != v),
            None,
        )
        if conflict is not None:
            self._problem(
                name,
                line,
                f"{at}profile '{name}' sets {conflict} = {section[conflict]} but its "
                f"[sso-session {session_name}] has {conflict} = {session_section[conflict]} "
                f"(the AWS SDKs refuse this); remove {conflict} from the profile or make "
                f"them match",
                session_name,
            )
            return None
        if not has_role_keys:
            self.token_only[name] = session_name  # valid for botocore's token provider
            self.others.append(name)
            return None
        return self.valid_sessions[session_name]

    def _legacy_session(
        self, name: str, section: Mapping[str, Any], line: int | None
    ) -> SsoSession | None:
        """The session a legacy profile (sso_start_url in the profile) spells out itself."""
        at = _where(self.path, line)
        missing = [k for k in (*_SESSION_KEYS, *_ROLE_KEYS) if _value(section, k) is None]
        if missing:
            present = [k for k in (*_SESSION_KEYS, *_ROLE_KEYS) if k not in missing]
            self._problem(
                name,
                line,
                f"{at}profile '{name}' has {', '.join(present) or 'sso keys'} but no "
                f"{', '.join(missing)}; add them (or `sso_session = NAME` with a "
                f"[sso-session NAME] section) or {_fix(name)}",
            )
            return None
        region = _value(section, "sso_region") or ""
        if not valid_region(region):
            self._problem(name, line, f"{at}profile '{name}' has {_bad_region(region)}")
            return None
        return SsoSession(
            name=None,
            start_url=_value(section, "sso_start_url") or "",
            region=region,
        )

    # -- the whole file -----------------------------------------------------------------------

    def result(self, sections: Mapping[str, Mapping[str, Any]]) -> SsoConfig:
        # Sessions: the declared ones in file order, then legacy ones, distinct by cache_key.
        all_sessions: dict[str, SsoSession] = {s.cache_key: s for s in self.valid_sessions.values()}
        for profile in self.profiles:
            all_sessions.setdefault(profile.session.cache_key, profile.session)
        # Unused broken sessions are problems too: someone may log in to them directly.
        problems = list(self.problems)
        for name, session_problem in self.session_problems.items():
            if name not in self.seen_session_problems:
                problems.append(session_problem)
        chains = _Chains(self)
        for name in self.other_sections:
            chains.resolve(name, ())
        problems += chains.broken
        problems.sort(key=lambda p: (p.line is None, p.line or 0))
        return SsoConfig(
            path=self.path,
            exists=True,
            profiles=tuple(self.profiles),
            sessions=tuple(all_sessions.values()),
            problems=tuple(problems),
            other_profiles=tuple(self.others),
            _profile_problems=self.profile_problems,
            _session_problems=self.session_problems,
            _token_only=self.token_only,
            _lines=self.lines,
            chained=tuple(
                p
                for n in self.other_sections
                if isinstance(p := chains.found.get(n), ChainedProfile)
            ),
            _chained_problems=chains.problems,
            sections=sections,
        )


def _fix(profile: str) -> str:
    return f"run `aws configure sso --profile {profile}`"


# ---------------------------------------------------------------------------------------------
# Roles chained on SSO profiles: role_arn + source_profile, followed as botocore's
# AssumeRoleProvider follows them.

# arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME
_ROLE_ARN_RE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/(?:[\x21-\x7e]+/)?[\w+=,.@-]{1,64}$")
_STATIC_KEYS = ("aws_access_key_id", "aws_secret_access_key")
MAX_CHAINED_SECONDS = 3600  # STS limits a role assumed by role chaining (SSO's too) to 1 h
MIN_ASSUME_SECONDS = 900


class _Chains:
    """Follows each non-SSO profile's role_arn / source_profile down to an SSO role profile."""

    def __init__(self, builder: _ConfigBuilder) -> None:
        self.builder = builder
        self.sso = {p.name: p for p in builder.profiles}
        # name -> the profile it resolves to (None: not a chain on SSO, botocore's business)
        self.found: dict[str, SsoProfile | ChainedProfile | None] = {}
        self.problems: dict[str, ConfigProblem] = {}  # refused or broken chained profiles
        self.broken: list[ConfigProblem] = []  # the broken ones (mfa_serial is not broken)

    def resolve(self, name: str, visiting: tuple[str, ...]) -> SsoProfile | ChainedProfile | None:
        """`name` as a chain link; None when it is none of ours. Records refusals."""
        if name in self.sso:
            return self.sso[name]
        if name in self.found:
            return self.found[name]
        section = self.builder.other_sections.get(name)
        if section is None or name in self.problems:
            return None
        source_name = _value(section, "source_profile")
        role_arn = _value(section, "role_arn")
        has_static = all(_value(section, k) for k in _STATIC_KEYS)
        if (
            role_arn is None
            or source_name is None
            or "credential_source" in section
            # a source profile's static keys win over its role_arn (botocore); a profile
            # naming itself as source uses its own keys
            or (visiting and has_static)
            or source_name == name
        ):
            self.found[name] = None
            return None
        if source_name in visiting:
            self._refuse(name, f"has source_profile '{source_name}', which leads back to it")
            return None
        source = self.resolve(source_name, (*visiting, name))
        if source is None:
            source_problem = self.problems.get(source_name) or self.builder.profile_problems.get(
                source_name
            )
            if source_problem is not None:  # a chain on a broken or refused profile
                self.problems[name] = source_problem
            self.found[name] = None
            return None
        refusal = self._refusal(section, role_arn)
        if refusal is not None:
            self._refuse(name, refusal, broken="mfa_serial" not in refusal)
            return None
        duration = _value(section, "duration_seconds")
        found = ChainedProfile(
            name=name,
            role_arn=role_arn,
            source=source,
            role_session_name=_value(section, "role_session_name"),
            duration_seconds=int(duration) if duration and duration.isdigit() else None,
            external_id=_value(section, "external_id"),
            region=_value(section, "region"),
        )
        self.found[name] = found
        return found

    @staticmethod
    def _refusal(section: Mapping[str, Any], role_arn: str) -> str | None:
        if _value(section, "mfa_serial") is not None:
            return (
                "sets mfa_serial, and aws-sso-tray cannot ask for an MFA code (no prompt in "
                "a tray); use the AWS CLI for this profile, or remove mfa_serial"
            )
        if not _ROLE_ARN_RE.match(role_arn):
            return (
                f"has role_arn = {role_arn!r}, which is not a role ARN; use "
                "arn:aws:iam::ACCOUNT_ID:role/ROLE_NAME"
            )
        duration = _value(section, "duration_seconds")
        if duration and duration.isdigit():
            seconds = int(duration)
            if not MIN_ASSUME_SECONDS <= seconds <= MAX_CHAINED_SECONDS:
                return (
                    f"has duration_seconds = {seconds}, but a role chained on SSO lasts "
                    f"{MIN_ASSUME_SECONDS} to {MAX_CHAINED_SECONDS} seconds (STS refuses more "
                    "for role chaining); set it in that range or remove it"
                )
        return None

    def _refuse(self, name: str, why: str, *, broken: bool = True) -> None:
        line = self.builder._line_of_profile(name)
        found = ConfigProblem(
            message=f"{_where(self.builder.path, line)}profile '{name}' {why}",
            profile=name,
            line=line,
        )
        self.problems[name] = found
        self.found[name] = None
        if broken:
            self.broken.append(found)


# ---------------------------------------------------------------------------------------------
# Syntax errors: botocore's ConfigParseError names only the file; find the line.


def _syntax_error(path: Path, data: bytes, text: str, error: object) -> ConfigError:
    if isinstance(error, UnicodeDecodeError):
        return _decode_error(path, data)
    if not isinstance(error, (configparser.Error, ValueError)):
        # Unknown shape: ask configparser again, on the same text, for something with a line.
        error = _reparse(text)
    if text.startswith("\ufeff"):  # botocore reads it as part of the first line
        from aws_sso_tray.files.inifile import BOM_PROBLEM

        return ConfigError(f"{_where(path, 1)}{BOM_PROBLEM}")
    found: ConfigError | None = None
    if isinstance(error, configparser.Error):
        found = _parser_error(path, text, error)
    elif isinstance(error, ValueError):
        found = _nested_block_error(path, text)
    if found is not None:
        return found
    return ConfigError(
        f"{display_path(path)} cannot be parsed ({error}); fix the file (`aws configure list` "
        f"shows the same problem)"
    )


def _quoted(text: str, lineno: int) -> str:
    """Line `lineno` of `text`, stripped, shortened and quoted for a message."""
    lines = text.splitlines()
    line = lines[lineno - 1].strip() if 0 < lineno <= len(lines) else ""
    if len(line) > 60:
        line = line[:57] + "..."
    return repr(line)


def _parser_error(path: Path, text: str, error: configparser.Error) -> ConfigError | None:
    """configparser's complaint as a line to fix; None when it names no line."""
    if isinstance(error, configparser.MissingSectionHeaderError):
        return ConfigError(
            f"{_where(path, error.lineno)}{_quoted(text, error.lineno)} comes before any "
            f"[section] header; move it under a [profile NAME] or [default] section, or "
            f"remove it"
        )
    if isinstance(error, configparser.ParsingError):
        lineno = error.errors[0][0] if error.errors else None
        if lineno is not None:
            return ConfigError(
                f"{_where(path, lineno)}{_quoted(text, lineno)} is not `key = value` or a "
                f"[section] header; fix or remove that line"
            )
    if isinstance(error, configparser.DuplicateSectionError) and error.lineno is not None:
        first = _header_lines(text).get(error.section)
        also = f" (first at line {first})" if first is not None else ""
        return ConfigError(
            f"{_where(path, error.lineno)}[{error.section}] appears twice{also}; "
            f"merge the two sections or remove one"
        )
    if isinstance(error, configparser.DuplicateOptionError) and error.lineno is not None:
        return ConfigError(
            f"{_where(path, error.lineno)}{error.option} is set twice in [{error.section}]; "
            f"remove one of them"
        )
    return None


def _nested_block_error(path: Path, text: str) -> ConfigError | None:
    """botocore's nested-block parser's ValueError as a line to fix; None when none is found."""
    lineno = _bad_nested_line(text)
    if lineno is None:
        return None
    return ConfigError(
        f"{_where(path, lineno)}{_quoted(text, lineno)} is inside an indented block under "
        f"`key =` but is not `key = value`; fix it, or unindent it if it is a setting "
        f"of its own"
    )


def _reparse(text: str) -> object:
    try:
        configparser.RawConfigParser().read_string(text)
    except configparser.Error as exc:
        return exc
    return None


def _decode_error(path: Path, data: bytes) -> ConfigError:
    encoding = _botocore_encoding()
    try:
        data.decode(encoding)
    except UnicodeDecodeError as exc:
        lineno = data.count(b"\n", 0, exc.start) + 1
        return ConfigError(
            f"{_where(path, lineno)}byte 0x{data[exc.start]:02x} is not valid {encoding} text; "
            f"save the file as {encoding} or remove that character"
        )
    return ConfigError(f"{display_path(path)} is not valid {encoding} text; save it as {encoding}")


def _bad_nested_line(text: str) -> int | None:
    """The line botocore's nested-block parser (`s3 =` + indented `k = v` lines) chokes on."""
    in_block = False
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";")):
            continue
        if not line[0].isspace():
            # `key =` / `key:` with nothing after it opens a block of indented lines.
            in_block = (
                not stripped.startswith("[")
                and stripped[-1] in "=:"
                and (stripped.rstrip("=:").strip() != "")
            )
            continue
        if in_block and "=" not in stripped:
            return lineno
    return None
