"""Our settings: one human-editable TOML file, `settings.toml` in the user config folder.

The file lives at `paths.config_dir() / "settings.toml"` (platformdirs:
`$XDG_CONFIG_HOME/aws-sso-tray` on Linux). It holds which profiles are kept fresh in the
credentials file (and under which section), the refresh and warning lead times, login
preferences, per-session durations, the tray's favourites, recently used profiles and left
click, and the console's browser commands (global, per session, per profile).
`Settings` is the frozen value; `load_settings`, `save_settings` and `update_settings` are the
only ways in and out of the file.

Reading never fails: an unknown key or a bad value gives a warning naming the key and the file
and falls back to the default for that key only; a file that is not TOML at all gives one warning
with its line number and all defaults. Writing is atomic, 0600, under the inter-process lock, and
`update_settings` is a locked read-modify-write so the CLI and a running tray never lose each
other's changes.

Comments: TOML writers drop comments, and `aws-sso-tray auto add/remove` and the tray (favourites,
recent profiles) rewrite this file. Rather than pretend to keep comments, every write puts a header
comment at the top explaining each key. What we do keep on a rewrite is the user's data we could
not use: unknown keys (perhaps from a newer version) and bad values stay in the file verbatim, so
the warning stays visible until the user fixes it, unless the rewrite itself sets that key. A file
that is not valid TOML is never rewritten: `update_settings` raises `SettingsError` instead.

Symlinks and the folder: settings.toml may be a symlink into a dotfiles folder, and both reads
and writes follow it to the user's file (`write_atomic(..., follow_symlinks=True)`), as for
~/.aws/credentials. What makes following it safe is the folder the link is in: our config
folder is a private folder (`atomicfile.check_private_folder`: ours, closed to group and
others), checked before every read and so before every `update_settings` write too, so only
the user can have put a link there. In a folder other users can write to, the file is not read
at all: `load_settings` warns (naming the folder and the `chmod`) and uses the defaults, and
`update_settings` raises `UnsafeFolderError` (exit 6) and writes nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal, Protocol, get_args

from aws_sso_tray.clock import DURATION_RANGE, OutOfRangeError, parse_duration
from aws_sso_tray.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

LoginFlow = Literal["auto", "pkce", "device"]
LOGIN_FLOWS: tuple[str, ...] = get_args(LoginFlow)
LeftClick = Literal["dashboard", "menu"]  # what a left click on the tray icon does
LEFT_CLICKS: tuple[str, ...] = get_args(LeftClick)
RECENT_LIMIT = 10
SETTINGS_FILE_NAME = "settings.toml"

_FORBIDDEN_SECTION_CHARS = ("[", "]", "\n", "\r")


class SettingsError(ConfigError):
    """The settings file cannot be changed (it is broken), or a requested change is invalid."""

    title = "Settings problem"


@dataclass(frozen=True)
class SyncTarget:
    """Keep `profile`'s role credentials fresh in the credentials-file section `section`."""

    profile: str
    section: str


@dataclass(frozen=True)
class SessionSettings:
    """Per-SSO-session settings: `[sessions.NAME]` in the file."""

    name: str
    session_duration: timedelta


@dataclass(frozen=True)
class ConsoleBrowser:
    """The browser command that opens the console of one profile or of one SSO session's
    profiles: `console_browser = "firefox -P prod %s"` in `[profiles.NAME]` or `[sessions.NAME]`
    (`%s` is the URL, else it is appended; split like a shell would, never run by one)."""

    scope: Literal["profile", "session"]
    name: str
    command: str


# --- labels: [[labels]] match = "*prod*" label = "PROD" color = "red" ---------------------------

LABEL_COLORS = ("red", "orange", "yellow", "green", "blue", "purple", "gray")
LABEL_LIMIT = 16  # characters of a label's text: it leads a menu line


@dataclass(frozen=True)
class ProfileLabel:
    """A tag for the profiles whose name matches `match` (fnmatch, case-sensitive as profile
    names are: `*prod*`, `team-?-admin`); the first matching entry of the file wins."""

    match: str
    label: str
    color: str | None = None  # one of LABEL_COLORS or "#rrggbb" (None: the face's default)


def _parse_labels(
    raw: Any, path: Path, warnings: list[str], keep: list[_Kept]
) -> tuple[ProfileLabel, ...]:
    """The usable `[[labels]]` entries; each bad one is a warning, and then the file's list is
    kept verbatim on a rewrite (in its order: first match wins), so the warning stays until the
    user fixes it."""
    if not isinstance(raw, list):
        warnings.append(f'{path}: labels must be [[labels]] tables (match = "*prod*", ...)')
        keep.append((("labels",), raw, "labels"))
        return ()
    labels: list[ProfileLabel] = []
    for index, entry in enumerate(raw, 1):
        try:
            labels.append(_label_value(entry))
        except ValueError as exc:
            warnings.append(f"{path}: labels.{index} {exc}; it is ignored")
    if len(labels) != len(raw):
        keep.append((("labels",), raw, "labels"))
    return tuple(labels)


def _label_value(entry: Any) -> ProfileLabel:
    if not isinstance(entry, dict):
        raise ValueError('must be a table: match = "*prod*", label = "PROD", color = "red"')
    unknown = sorted(set(entry) - {"match", "label", "color"})
    if unknown:
        raise ValueError(f"has unknown keys {', '.join(map(repr, unknown))}")
    match, label, color = entry.get("match"), entry.get("label"), entry.get("color")
    if not isinstance(match, str) or not match.strip():
        raise ValueError(
            f'needs match = "PATTERN" (a profile name or fnmatch pattern), not {match!r}'
        )
    if not isinstance(label, str) or not label.strip() or len(label) > LABEL_LIMIT:
        raise ValueError(f"needs label = a text of 1 to {LABEL_LIMIT} characters, not {label!r}")
    if any(c in label for c in "\n\r[]"):
        raise ValueError(f"label {label!r} may not hold brackets or line breaks")
    if color is not None and not _is_color(color):
        names = ", ".join(LABEL_COLORS)
        raise ValueError(f'color must be one of {names} or "#rrggbb", not {color!r}')
    return ProfileLabel(match, label.strip(), color.lower() if isinstance(color, str) else None)


def _is_color(value: Any) -> bool:
    import re

    return isinstance(value, str) and (
        value.lower() in LABEL_COLORS or re.fullmatch(r"#[0-9a-fA-F]{6}", value) is not None
    )


@dataclass(frozen=True)
class SignInBrowser:
    """The browser command that opens one SSO session's sign-in page: `browser = "firefox -P
    work %s"` in `[sessions.NAME]`, for a person whose default browser is signed in to another
    identity provider account (split like a shell would, never run by one)."""

    session: str
    command: str


@dataclass(frozen=True)
class Settings:
    auto_sync: tuple[SyncTarget, ...] = ()
    refresh_before: timedelta = timedelta(minutes=10)  # refresh role credentials this early
    min_remaining: timedelta = timedelta(minutes=15)  # role-cred cache entries need this much left
    warn_before: timedelta = timedelta(minutes=15)  # warn this long before an SSO session ends
    auto_login: bool = True  # open the browser when a kept-fresh profile's session ended
    login_flow: LoginFlow = "auto"
    notifications: bool = True
    session_duration: timedelta = timedelta(hours=8)  # for sessions without their own entry
    sessions: tuple[SessionSettings, ...] = ()
    favorites: tuple[str, ...] = ()
    recent: tuple[str, ...] = ()
    console_browser: str | None = None  # the console's browser command (None: the default one)
    console_browsers: tuple[ConsoleBrowser, ...] = ()  # per profile and per session
    labels: tuple[ProfileLabel, ...] = ()  # [[labels]], in the file's order
    sign_in_browsers: tuple[SignInBrowser, ...] = ()  # per session: who opens its sign-in
    left_click: LeftClick = "dashboard"  # where the tray backend hands the left click to us

    # --- queries -------------------------------------------------------------------------------

    def auto_sync_map(self) -> dict[str, str]:
        """profile -> credentials-file section, in the file's order."""
        return {target.profile: target.section for target in self.auto_sync}

    def sync_section(self, profile: str) -> str | None:
        return self.auto_sync_map().get(profile)

    def session_duration_for(self, session_name: str | None) -> timedelta:
        for entry in self.sessions:
            if entry.name == session_name:
                return entry.session_duration
        return self.session_duration

    def console_browser_for(self, profile: str, session_name: str | None) -> str | None:
        """The browser command for `profile`'s console: its own, else its session's, else the
        global `console_browser`; None: the default browser."""
        for scope, name in (("profile", profile), ("session", session_name)):
            for entry in self.console_browsers:
                if (entry.scope, entry.name) == (scope, name):
                    return entry.command
        return self.console_browser

    def label_for(self, profile: str) -> ProfileLabel | None:
        """The first `[[labels]]` entry whose pattern matches `profile`'s name."""
        from fnmatch import fnmatchcase

        return next((e for e in self.labels if fnmatchcase(profile, e.match)), None)

    def sign_in_browser_for(self, session_name: str | None) -> str | None:
        """The browser command for `session_name`'s sign-in page; None: the default browser."""
        for entry in self.sign_in_browsers:
            if entry.session == session_name:
                return entry.command
        return None

    # --- updates (each returns a new Settings) -------------------------------------------------

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def with_auto_sync(self, profile: str, section: str | None = None) -> Settings:
        """Add (or retarget) `profile`; raises SettingsError when another profile owns `section`."""
        profile = _check_profile(profile)
        section = _check_section(profile if section is None else section)
        for target in self.auto_sync:
            if target.section == section and target.profile != profile:
                raise SettingsError(
                    f"section [{section}] is already kept fresh for profile '{target.profile}': "
                    f"choose another section (PROFILE:SECTION) or remove '{target.profile}' first"
                )
        new = SyncTarget(profile, section)
        if any(t.profile == profile for t in self.auto_sync):
            targets = tuple(new if t.profile == profile else t for t in self.auto_sync)
        else:
            targets = (*self.auto_sync, new)
        return self.replace(auto_sync=targets)

    def without_auto_sync(self, profile: str) -> Settings:
        return self.replace(auto_sync=tuple(t for t in self.auto_sync if t.profile != profile))

    def with_favorite(self, profile: str) -> Settings:
        if profile in self.favorites:
            return self
        return self.replace(favorites=(*self.favorites, _check_profile(profile)))

    def without_favorite(self, profile: str) -> Settings:
        return self.replace(favorites=tuple(p for p in self.favorites if p != profile))

    def with_recent(self, profile: str) -> Settings:
        """Move `profile` to the front of the recently used list (bounded to RECENT_LIMIT)."""
        profile = _check_profile(profile)
        rest = tuple(p for p in self.recent if p != profile)
        return self.replace(recent=(profile, *rest)[:RECENT_LIMIT])

    def with_session_duration(self, session_name: str, duration: timedelta | None) -> Settings:
        """Set `session_name`'s duration, or drop its entry with `duration=None`."""
        rest = tuple(s for s in self.sessions if s.name != session_name)
        if duration is None:
            return self.replace(sessions=rest)
        _check_positive(duration)
        return self.replace(sessions=(*rest, SessionSettings(session_name, duration)))


DEFAULTS = Settings()


def settings_file() -> Path:
    from aws_sso_tray.files.paths import config_dir

    return config_dir() / SETTINGS_FILE_NAME


def parse_target(spec: str) -> tuple[str, str]:
    """`"dev:default"` -> `("dev", "default")`; `"dev"` -> `("dev", "dev")`.

    The profile ends at the first colon. Raises SettingsError for an empty profile or a section
    that is empty or holds `[`, `]` or a line break (it could not be written as `[section]`).
    """
    profile, sep, section = spec.partition(":")
    profile = _check_profile(profile.strip())
    return profile, _check_section(section.strip() if sep else profile)


def _check_profile(profile: str) -> str:
    if not profile or profile != profile.strip() or "\n" in profile or "\r" in profile:
        raise SettingsError(f"invalid profile name {profile!r}: give a profile from ~/.aws/config")
    return profile


def _check_section(section: str) -> str:
    if not section:
        raise SettingsError("empty credentials-file section: use PROFILE or PROFILE:SECTION")
    bad = [c for c in _FORBIDDEN_SECTION_CHARS if c in section]
    if bad:
        raise SettingsError(
            f"invalid credentials-file section {section!r}: it may not contain "
            "'[', ']' or line breaks"
        )
    if section != section.strip():
        raise SettingsError(f"invalid credentials-file section {section!r}: remove the spaces")
    return section


def _check_positive(duration: timedelta) -> timedelta:
    if duration <= timedelta(0):
        raise SettingsError(f"duration must be positive, not {format_duration(duration)}")
    return duration


def format_duration(duration: timedelta) -> str:
    """The settings file's form: `10m`, `8h`, `90s`, `2d` (largest whole unit)."""
    seconds = round(duration.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{sign}{seconds // size}{unit}"
    return f"{sign}{seconds}s"


# --- reading --------------------------------------------------------------------------------------

_MISSING: Any = object()
_Path = tuple[str, ...]
_Kept = tuple[_Path, Any, "str | None"]


@dataclass
class _Parsed:
    """What one read of the file gave: the settings, warnings, and raw entries we could not use.

    `keep` holds (key path, raw value, Settings field or None). On a rewrite the raw value goes
    back unless the update changed that field (for a bad value of a whole field), or wrote
    something at that key path itself (unknown keys, dropped table entries).
    """

    settings: Settings
    warnings: list[str]
    keep: list[_Kept]


class _BrokenFile(Exception):
    """The whole file is unusable; `problem` says why, naming the file (and line)."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def load_settings(path: Path | None = None) -> tuple[Settings, list[str]]:
    """The settings and human-readable warnings about the file; never raises for file content,
    nor for an unsafe folder (a warning naming it and the fix, and the defaults)."""
    from aws_sso_tray.errors import UnsafeFolderError

    path = settings_file() if path is None else Path(path)
    try:
        parsed = _read(path)
    except _BrokenFile as exc:
        return DEFAULTS, [f"{exc.problem}: using default settings until it is fixed"]
    except UnsafeFolderError as exc:
        problem = f"settings file {path} not read: {exc.message}"
        return DEFAULTS, [f"{problem}; using default settings until it is fixed"]
    return parsed.settings, parsed.warnings


def load_min_remaining() -> timedelta:
    """`min_remaining` from the settings file, noted for credential-process's fast path."""
    from aws_sso_tray.aws import warmcache

    path = settings_file()
    try:
        identity = warmcache.settings_identity(str(path))
    except OSError:
        identity = None
    loaded, _warnings = load_settings(path)
    _note_for_fastpath(path, identity, loaded)
    return loaded.min_remaining


def _note_for_fastpath(path: Path, identity: list[int] | None, loaded: Settings) -> None:
    from aws_sso_tray.aws import warmcache

    # Only the file the fast path itself would look at (not a test's or a caller's own file).
    if identity is not None and str(path) == warmcache.settings_location():
        warmcache.remember_min_remaining(identity, loaded.min_remaining)


def settings_mtime(path: Path | None = None) -> int | None:
    """The file's modification time in nanoseconds (None when absent): compare to detect edits."""
    path = settings_file() if path is None else Path(path)
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


def _read(path: Path) -> _Parsed:
    """UnsafeFolderError when the folder holding the file is not closed to other users."""
    from aws_sso_tray.files.atomicfile import check_private_folder

    check_private_folder(path.parent)  # then through the user's own symlink, if it is one
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return _Parsed(DEFAULTS, [], [])
    except OSError as exc:
        raise _BrokenFile(f"cannot read settings file {path}: {exc.strerror or exc}") from exc
    if data.startswith(b"\xef\xbb\xbf"):  # tomllib would say only "Invalid statement"
        raise _BrokenFile(
            f"settings file {path} line 1: the file starts with a byte-order mark (U+FEFF), "
            "which TOML does not allow: save it as UTF-8 without BOM"
        )
    try:
        text = data.decode("utf-8")
        doc = tomllib.loads(text)
    except UnicodeDecodeError as exc:
        raise _BrokenFile(f"settings file {path} is not UTF-8 text (byte {exc.start})") from exc
    except tomllib.TOMLDecodeError as exc:
        # The message carries "(at line N, column M)".
        raise _BrokenFile(f"settings file {path} is not valid TOML: {exc}") from exc
    return _parse(doc, path)


def _parse(doc: Mapping[str, Any], path: Path) -> _Parsed:
    warnings: list[str] = []
    keep: list[_Kept] = []
    values: dict[str, Any] = {}
    browsers: list[ConsoleBrowser] = []
    sign_in: list[SignInBrowser] = []

    def bad(key_path: _Path, raw: Any, problem: str, shown: _Path | None = None) -> None:
        name = ".".join(key_path if shown is None else shown)
        if key_path[:2] == _UNUSED_TARGET:
            warnings.append(f"{path}: {name} {problem}; it is not kept fresh")
        else:
            warnings.append(f"{path}: {name} {problem}; using the default")
        keep.append((key_path, raw, key_path[0] if len(key_path) == 1 else None))

    for key, raw in doc.items():
        value_of = _VALUE_PARSERS.get(key)
        if value_of is not None:
            try:
                values[key] = value_of(raw)
            except ValueError as exc:
                bad((key,), raw, str(exc))
        elif key == "auto_sync":
            values[key] = _parse_auto_sync(raw, bad, path, warnings, keep)
        elif key == "sessions":
            values[key] = _parse_sessions(raw, bad, browsers, sign_in)
        elif key == "labels":
            values[key] = _parse_labels(raw, path, warnings, keep)
        elif key == "profiles":
            if isinstance(raw, dict):
                _parse_profiles(raw, bad, browsers)
            else:  # kept as it is, like an unknown key: there is no field for it
                warnings.append(f"{path}: profiles must be [profiles.NAME] tables (ignored)")
                keep.append(((key,), raw, None))
        else:
            warnings.append(f"{path}: unknown setting {key!r} (ignored)")
            keep.append(((key,), raw, None))
    values.update(_browser_values(browsers, sign_in))
    return _Parsed(Settings(**values), warnings, keep)


def _browser_values(browsers: list[ConsoleBrowser], sign_in: list[SignInBrowser]) -> dict[str, Any]:
    """The browser commands found in the tables, as Settings fields (none: the defaults)."""
    found: dict[str, Any] = {}
    if browsers:
        found["console_browsers"] = tuple(browsers)
    if sign_in:
        found["sign_in_browsers"] = tuple(sign_in)
    return found


def _bool_value(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    raise ValueError(f"must be true or false, not {raw!r}")


def _login_flow_value(raw: Any) -> str:
    if raw in LOGIN_FLOWS:
        return str(raw)
    choices = ", ".join(f'"{f}"' for f in LOGIN_FLOWS)
    raise ValueError(f"must be one of {choices}, not {raw!r}")


def _left_click_value(raw: Any) -> str:
    if raw in LEFT_CLICKS:
        return str(raw)
    choices = ", ".join(f'"{c}"' for c in LEFT_CLICKS)
    raise ValueError(f"must be one of {choices}, not {raw!r}")


def _profile_names_value(raw: Any) -> tuple[str, ...]:
    if isinstance(raw, list) and all(isinstance(p, str) and p.strip() for p in raw):
        return tuple(dict.fromkeys(p.strip() for p in raw))
    raise ValueError("must be a list of profile names")


def _recent_value(raw: Any) -> tuple[str, ...]:
    return _profile_names_value(raw)[:RECENT_LIMIT]


class _Bad(Protocol):
    def __call__(
        self, key_path: _Path, raw: Any, problem: str, shown: _Path | None = None
    ) -> None: ...


# Key paths under which a rewrite puts back auto_sync entries of the file (see `_render`):
# entries we could not use, and the unknown keys of entries we did use.
_UNUSED_TARGET = ("auto_sync", "[unused]")
_TARGET_EXTRAS = ("auto_sync", "[extras]")
_TARGET_KEYS = ("profile", "section")


def _parse_auto_sync(
    raw: Any, bad: _Bad, path: Path, warnings: list[str], keep: list[_Kept]
) -> tuple[SyncTarget, ...]:
    """`[[auto_sync]]` tables of `profile` and `section` (the format we write), or the
    `[auto_sync]` table of `profile = "section"` that earlier versions wrote."""
    entries: list[tuple[_Path, Any, Any]] = []  # (where, profile, section)
    if isinstance(raw, list):
        for index, entry in enumerate(raw):
            where: _Path = ("auto_sync", str(index + 1))
            if not isinstance(entry, dict) or not isinstance(entry.get("profile"), str):
                problem = 'must be a table with profile = "NAME" (and section = "SECTION")'
                bad((*_UNUSED_TARGET, where[1]), entry, problem, where)
                continue
            extras = {k: v for k, v in entry.items() if k not in _TARGET_KEYS}
            if extras:
                names = ", ".join(repr(k) for k in extras)
                warnings.append(f"{path}: auto_sync.{where[1]}: unknown keys {names} (ignored)")
                keep.append(((*_TARGET_EXTRAS, entry["profile"]), extras, None))
            entries.append((where, entry["profile"], entry.get("section", entry["profile"])))
    elif isinstance(raw, dict):
        entries = [(("auto_sync", str(p)), p, section) for p, section in raw.items()]
    else:
        bad(("auto_sync",), raw, "must be [[auto_sync]] tables of profile and section")
        return ()
    targets: list[SyncTarget] = []
    owners: dict[str, str] = {}
    for shown, profile, section in entries:
        unused = (*_UNUSED_TARGET, shown[1])
        entry = {"profile": profile, "section": section}
        if not isinstance(section, str):
            bad(unused, entry, f"must have a section name string, not {section!r}", shown)
            continue
        try:
            _check_profile(profile)
            _check_section(section)
        except SettingsError as exc:
            bad(unused, entry, f"is invalid ({exc})", shown)
            continue
        if section in owners:
            problem = f"targets section [{section}], already used by '{owners[section]}'"
            bad(unused, entry, problem, shown)
            continue
        owners[section] = profile
        targets.append(SyncTarget(profile, section))
    return tuple(targets)


def _parse_sessions(
    raw: Any, bad: _Bad, browsers: list[ConsoleBrowser], sign_in: list[SignInBrowser]
) -> tuple[SessionSettings, ...]:
    if not isinstance(raw, dict):
        bad(("sessions",), raw, "must be a table of [sessions.NAME] tables")
        return ()
    entries: list[SessionSettings] = []
    for name, table in raw.items():
        if not isinstance(table, dict):
            bad(("sessions", name), table, "must be a table")
            continue
        for key, value in table.items():
            where = ("sessions", name, key)
            if key == "console_browser":
                _add_console_browser(browsers, "session", name, value, bad, where)
                continue
            if key == "browser":
                try:
                    sign_in.append(SignInBrowser(name, _browser_command_value(value)))
                except ValueError as exc:
                    bad(where, value, str(exc))
                continue
            if key != "session_duration":
                bad(where, value, "is not a known session setting")
                continue
            try:
                entries.append(SessionSettings(name, _duration_value(value)))
            except ValueError as exc:
                bad(where, value, str(exc))
    return tuple(entries)


def _parse_profiles(raw: dict[str, Any], bad: _Bad, browsers: list[ConsoleBrowser]) -> None:
    """`[profiles.NAME]` tables: per-profile settings (the console's browser command)."""
    for name, table in raw.items():
        if not isinstance(table, dict):
            bad(("profiles", name), table, "must be a table")
            continue
        for key, value in table.items():
            where = ("profiles", name, key)
            if key != "console_browser":
                bad(where, value, "is not a known profile setting")
                continue
            _add_console_browser(browsers, "profile", name, value, bad, where)


def _add_console_browser(
    browsers: list[ConsoleBrowser],
    scope: Literal["profile", "session"],
    name: str,
    raw: Any,
    bad: _Bad,
    where: _Path,
) -> None:
    try:
        browsers.append(ConsoleBrowser(scope, name, _browser_command_value(raw)))
    except ValueError as exc:
        bad(where, raw, str(exc))


def _browser_command_value(raw: Any) -> str:
    """A browser command template: a string shlex can split into at least a program."""
    import shlex

    example = 'a browser command such as "firefox -P prod %s"'
    if not isinstance(raw, str):
        raise ValueError(f"must be {example}, not {raw!r}")
    try:
        words = shlex.split(raw)
    except ValueError as exc:
        raise ValueError(f"must be {example} ({exc}), not {raw!r}") from None
    if not words:
        raise ValueError(f"must be {example}, not an empty string")
    return raw


def _duration_value(raw: Any) -> timedelta:
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise ValueError(f'must be a duration such as "10m", not {raw!r}')
    try:
        return parse_duration(raw)  # plain numbers are seconds
    except OutOfRangeError:
        raise ValueError(f"must be {DURATION_RANGE}, not {raw!r}") from None
    except ValueError:
        raise ValueError(f'must be a duration such as "90s", "10m" or "8h", not {raw!r}') from None


# The settings whose value is one TOML value; each parser raises ValueError saying what is wrong.
_VALUE_PARSERS: dict[str, Callable[[Any], Any]] = {
    "refresh_before": _duration_value,
    "min_remaining": _duration_value,
    "warn_before": _duration_value,
    "session_duration": _duration_value,
    "auto_login": _bool_value,
    "notifications": _bool_value,
    "login_flow": _login_flow_value,
    "left_click": _left_click_value,
    "favorites": _profile_names_value,
    "recent": _recent_value,
    "console_browser": _browser_command_value,
}


# --- writing --------------------------------------------------------------------------------------

HEADER = """\
# aws-sso-tray settings (TOML). Edit freely; a running tray notices changes.
# `aws-sso-tray auto add/remove` and the tray rewrite this file: this header is written anew,
# other comments are not kept (unknown keys and values are).
#
# refresh_before    refresh kept-fresh role credentials this long before they expire ("10m")
# min_remaining     reuse cached role credentials only with at least this much time left ("15m")
# warn_before       warn this long before an SSO session ends ("15m")
# auto_login        open the browser by itself when a kept-fresh profile's session has ended
# login_flow        "auto", "pkce" (browser + local callback) or "device" (device code)
# notifications     desktop notifications on or off
# left_click        "dashboard" (open the dashboard) or "menu" (open the menu): the tray icon's
#                   left click where the desktop hands it to the app (X11 trays, Windows)
# session_duration  assumed SSO session length when a session has no entry below ("8h")
# favorites         profiles pinned at the top of the tray menu
# recent            recently used profiles (most recent first, managed by the app)
# [[auto_sync]]     one table per profile kept fresh: profile = "dev", section = "dev" (the
#                   credentials-file section; several tables for several profiles)
# [sessions.NAME]   session_duration = "12h" for the sso-session NAME
# console_browser   the browser command for `aws-sso-tray console` ("firefox -P work %s"; %s is
#                   the URL); also per session ([sessions.NAME]) and per profile ([profiles.NAME])
# [[labels]]        match = "*prod*", label = "PROD", color = "red": a tag for the profiles the
#                   pattern matches (first match wins; colours: red orange yellow green blue
#                   purple gray, or "#rrggbb")
# [sessions.NAME]   browser = "firefox -P work %s": the browser that opens NAME's sign-in page
"""


def _to_doc(settings: Settings) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "refresh_before": format_duration(settings.refresh_before),
        "min_remaining": format_duration(settings.min_remaining),
        "warn_before": format_duration(settings.warn_before),
        "auto_login": settings.auto_login,
        "login_flow": settings.login_flow,
        "notifications": settings.notifications,
        "left_click": settings.left_click,
        "session_duration": format_duration(settings.session_duration),
        "favorites": list(settings.favorites),
        "recent": list(settings.recent),
        "auto_sync": [{"profile": t.profile, "section": t.section} for t in settings.auto_sync],
    }
    if settings.sessions:
        doc["sessions"] = {
            s.name: {"session_duration": format_duration(s.session_duration)}
            for s in settings.sessions
        }
    if settings.console_browser is not None:
        doc["console_browser"] = settings.console_browser
    for entry in settings.console_browsers:
        tables = doc.setdefault(f"{entry.scope}s", {})
        tables.setdefault(entry.name, {})["console_browser"] = entry.command
    if settings.labels:
        doc["labels"] = [
            {"match": e.match, "label": e.label, **({"color": e.color} if e.color else {})}
            for e in settings.labels
        ]
    for sign_in in settings.sign_in_browsers:
        doc.setdefault("sessions", {}).setdefault(sign_in.session, {})["browser"] = sign_in.command
    return doc


def _get(doc: Mapping[str, Any], key_path: _Path) -> Any:
    node: Any = doc
    for part in key_path:
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _put(doc: dict[str, Any], key_path: _Path, value: Any) -> None:
    node = doc
    for part in key_path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[key_path[-1]] = value


def _render(settings: Settings, previous: _Parsed) -> bytes:
    import tomli_w

    doc = _to_doc(settings)
    kept_fresh = set(settings.auto_sync_map())
    for key_path, raw, field_name in previous.keep:
        if key_path[:2] in (_UNUSED_TARGET, _TARGET_EXTRAS):
            # auto_sync entries: put back unless this rewrite sets that profile itself
            targets = doc["auto_sync"]
            if not isinstance(targets, list):
                continue
            if key_path[:2] == _UNUSED_TARGET:
                if not (isinstance(raw, dict) and raw.get("profile") in kept_fresh):
                    targets.append(raw)
            else:
                for entry in targets:
                    if entry.get("profile") == key_path[2]:
                        entry.update({k: v for k, v in raw.items() if k not in entry})
            continue
        if field_name is not None:
            unchanged = getattr(settings, field_name) == getattr(previous.settings, field_name)
        else:
            unchanged = _get(doc, key_path) is _MISSING
        if unchanged:
            _put(doc, key_path, raw)
    # tomli_w writes short tables inline (`auto_sync = [{ profile = ... }]`); the documented form
    # is one [[auto_sync]] table per profile, which we write ourselves when the entries are plain.
    blocks = ""
    for name in ("auto_sync", "labels"):  # [[labels]] the same way
        targets = doc.get(name)
        if isinstance(targets, list) and all(_is_plain_table(t) for t in targets):
            del doc[name]
            blocks += "".join(f"\n[[{name}]]\n{tomli_w.dumps(t)}" for t in targets)
    # Tables last: a plain key after a table would belong to that table in TOML.
    ordered = dict(sorted(doc.items(), key=lambda item: _is_table(item[1])))
    plain = {k: v for k, v in ordered.items() if not _is_table(v)}
    tables = {k: v for k, v in ordered.items() if _is_table(v)}
    text = tomli_w.dumps(plain) + blocks + ("\n" + tomli_w.dumps(tables) if tables else "")
    return (HEADER + "\n" + text).encode("utf-8")


def _is_plain_table(value: Any) -> bool:
    return isinstance(value, dict) and not any(_is_table(v) for v in value.values())


def _is_table(value: Any) -> bool:
    """Written as [table] or [[array of tables]] by tomli_w."""
    if isinstance(value, dict):
        return True
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def save_settings(settings: Settings, path: Path | None = None) -> None:
    """Write `settings`, keeping unknown keys already in the file; SettingsError if broken."""
    update_settings(lambda _current: settings, path)


def update_settings(fn: Callable[[Settings], Settings], path: Path | None = None) -> Settings:
    """Locked read-modify-write: `fn(current)` is written back and returned.

    Raises SettingsError when the file is not valid TOML (we never overwrite the user's broken
    file), FileWriteError when it cannot be written. The file is not touched when nothing changed.
    """
    from aws_sso_tray.files.atomicfile import locked, write_atomic

    path = settings_file() if path is None else Path(path)
    with locked(path):
        try:
            parsed = _read(path)
        except _BrokenFile as exc:
            raise SettingsError(f"{exc.problem}: fix or delete it, then try again") from exc
        new = fn(parsed.settings)
        if not isinstance(new, Settings):
            raise TypeError(f"update_settings: fn returned {type(new).__name__}, not Settings")
        if new != parsed.settings or not path.exists():
            write_atomic(path, _render(new, parsed), follow_symlinks=True)  # dotfiles link it
            from aws_sso_tray.aws.warmcache import settings_identity

            with contextlib.suppress(OSError):  # the note only saves time; the write is done
                _note_for_fastpath(path, settings_identity(str(path)), new)
        return new


# --- auto-sync ------------------------------------------------------------------------------------


def add_auto_sync(profile: str, section: str | None = None, path: Path | None = None) -> Settings:
    """Keep `profile` fresh in `section` (default: the profile's name)."""
    return update_settings(lambda s: s.with_auto_sync(profile, section), path)


def remove_auto_sync(profile: str, path: Path | None = None) -> bool:
    """Stop keeping `profile` fresh; False when it was not kept fresh."""
    removed = False

    def change(current: Settings) -> Settings:
        nonlocal removed
        removed = current.sync_section(profile) is not None
        return current.without_auto_sync(profile)

    update_settings(change, path)
    return removed


def list_auto_sync(path: Path | None = None) -> list[SyncTarget]:
    return list(load_settings(path)[0].auto_sync)


__all__ = [
    "DEFAULTS",
    "HEADER",
    "LABEL_COLORS",
    "LOGIN_FLOWS",
    "RECENT_LIMIT",
    "ConsoleBrowser",
    "LoginFlow",
    "ProfileLabel",
    "SessionSettings",
    "Settings",
    "SettingsError",
    "SyncTarget",
    "add_auto_sync",
    "format_duration",
    "list_auto_sync",
    "load_min_remaining",
    "load_settings",
    "parse_target",
    "remove_auto_sync",
    "save_settings",
    "settings_file",
    "settings_mtime",
    "update_settings",
]
