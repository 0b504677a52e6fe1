"""The credentials-file editor: our four keys in one section, every other byte kept.

This module owns every write to the shared credentials file (`~/.aws/credentials` or
`$AWS_SHARED_CREDENTIALS_FILE`). It replaces only the keys we own in the target section:

    aws_access_key_id, aws_secret_access_key, aws_session_token, aws_credential_expiration

and keeps every other byte: other keys of the section, comments, blank lines, other sections,
their order, CRLF or lone-CR line endings, a UTF-8 BOM, a missing final newline.

How the file is read
    Exactly as botocore reads it (`botocore.configloader.raw_config_parse`, a strict
    `configparser.RawConfigParser`), using configparser's own regular expressions: a line is a
    comment when it starts with `#` or `;` after any indentation; `[name]` starts a section named
    by everything between the first `[` and the last `]` (`[ dev ]` is a section called " dev ",
    which botocore does not use for profile `dev`, so neither do we); `key = value`, `key=value`
    and `key: value` are options, keys compared lower-cased; a line indented deeper than the
    option above it continues that option's value. Lines end at LF, CRLF or a lone CR, as in
    Python's universal-newline reading.

What we refuse (the file is left untouched)
    - bytes that are not UTF-8: we would have to guess the encoding;
    - a line that is none of the above (no `=`/`:`, a key before the first section, an
      indented block under `key =` without `=` in it): botocore rejects the file too, and we
      cannot tell which section the user meant that line to be in. The error names the line.
    - the section `[DEFAULT]`, which configparser copies into every other section;
    - the AWS config file: credentials are never written into `~/.aws/config`;
    - a section holding long-term keys (an `aws_access_key_id` without an `aws_session_token`,
      typically the user's IAM user keys in `[default]`): `LongTermKeysError` unless `force`.

What we repair in the target section
    - a key of ours given twice (`AWS_Access_Key_Id` and `aws_access_key_id`), which makes
      botocore reject the whole file: collapsed to one line (the first one, whose spelling and
      spacing we keep; only the value changes);
    - the section given twice (botocore rejects that too; configparser without `strict` and the
      other SDKs merge the two, later keys winning): the last one is the effective one and gets
      our keys; our keys are removed from the earlier ones, and an earlier one left with nothing
      but its header and blank lines is dropped, which makes the file readable again. An earlier
      one with other keys or comments keeps them (they are the user's; the file stays as
      unreadable for botocore as it was).
    Duplicates elsewhere in the file are the user's and stay as they are.

Where new lines go
    A missing key goes after the last of our keys already in the section, else after the
    section's last option (and its continuation lines), else right after the header, with the
    indentation of the line it follows so no neighbouring line turns into a continuation line.
    A missing section is appended at the end of the file, after one blank line, with the file's
    line ending (that of its first line; LF for a new file).

Which sections we created (the choice, and why)
    We record them in a JSON state file (`paths.state_dir()/credentials-sections.json`), keyed
    by the resolved path of the credentials file, with a salted SHA-256 fingerprint of the access
    key id we last wrote there (never a key itself). A section is ours only while its effective
    `aws_access_key_id` still matches that fingerprint. A marker comment in the user's file would
    be intrusive and would travel with copies of the file; the fingerprint also covers the case a
    marker cannot: a user who deletes our section and writes their own keys under the same name
    gets a section that is no longer ours, so `remove_sections` leaves it alone and the
    long-term-key check protects it. Every way the record can be lost or stale (state folder
    wiped, file moved, keys replaced) errs on the side of keeping the user's data.
    Consequences: a section whose key id is still the one we wrote is never "long-term", even if
    someone stripped its session token (those keys are our temporary ones, so rewriting them is
    safe). `remove_sections` removes only sections we created (not ones we wrote into that existed
    before, nor ones holding someone else's keys): it deletes our four keys, and the whole section
    only when nothing else is left in it (user-added keys and comments keep it).

Safety of the write
    One read-modify-write under `atomicfile.locked` (the lock is held across the read, so two
    writers never lose each other's sections), written with `atomicfile.write_atomic` (temp file
    in the same folder, fsync, `os.replace`, mode 0600, through symlinks, explicit read-only
    checks, temp files of killed writers swept). Before writing, the new text is parsed again with
    configparser and compared with the old: every section other than the target must be unchanged
    and the target must hold exactly the expected values, or nothing is written.

Credentials are accepted as any object with `access_key_id`, `secret_access_key`,
`session_token` and `expiration` (the `CredentialValues` protocol, which `rolecreds.RoleCredentials`
satisfies) so this module does not import the AWS-facing ones.
"""

from __future__ import annotations

import configparser
import contextlib
import hashlib
import io
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from aws_sso_tray.atomicfile import check_writable, locked, resolve_target, write_atomic
from aws_sso_tray.clock import format_time
from aws_sso_tray.errors import AppError, ConfigError, FileWriteError, LongTermKeysError

log = logging.getLogger(__name__)

ACCESS_KEY_ID = "aws_access_key_id"
SECRET_ACCESS_KEY = "aws_secret_access_key"  # noqa: S105 (a key name)
SESSION_TOKEN = "aws_session_token"  # noqa: S105 (a key name)
EXPIRATION = "aws_credential_expiration"
OWNED_KEYS: tuple[str, ...] = (ACCESS_KEY_ID, SECRET_ACCESS_KEY, SESSION_TOKEN, EXPIRATION)

STATE_FILE_NAME = "credentials-sections.json"
_STATE_VERSION = 1
_FINGERPRINT_SALT = b"aws-sso-tray credentials section v1:"
_DEFAULT_SECTION = configparser.DEFAULTSECT

# configparser's own patterns, so a line means to us what it means to botocore.
_SECTION_RE = configparser.RawConfigParser.SECTCRE
_OPTION_RE = configparser.RawConfigParser.OPTCRE
_NONSPACE_RE = configparser.RawConfigParser.NONSPACECRE
_COMMENT_PREFIXES = ("#", ";")
_BOM = "\ufeff"


class CredentialValues(Protocol):
    """What we need from a set of credentials (`rolecreds.RoleCredentials` has these)."""

    @property
    def access_key_id(self) -> str: ...

    @property
    def secret_access_key(self) -> str: ...

    @property
    def session_token(self) -> str | None: ...

    @property
    def expiration(self) -> datetime | None: ...


# --------------------------------------------------------------------------------------------
# Public API


def write_credentials(
    path: Path, section: str, creds: CredentialValues, *, force: bool = False
) -> None:
    """Put `creds` into `[section]` of the credentials file at `path`.

    Raises LongTermKeysError when the section holds long-term keys and `force` is false,
    FileWriteError when the file cannot be written, ConfigError when it cannot be read safely.
    """
    write_many(path, {section: creds}, force=force)


def write_many(path: Path, updates: Mapping[str, CredentialValues], *, force: bool = False) -> None:
    """Write several sections in one locked read-modify-write: all of them or none."""
    wanted = {section: _values_for(section, creds) for section, creds in updates.items()}
    if not wanted:
        return
    path = Path(path).expanduser()
    _refuse_config_file(path)
    with locked(path):
        target = check_writable(path)
        doc = _Document.load(target)
        records = _load_records(target)
        edits = _Edits()
        new_records: dict[str, _Record | None] = {}
        for section, values in wanted.items():
            occurrences = doc.occurrences(section)
            effective = _effective(occurrences)
            ours = _is_ours(records.get(section), effective)
            if not force and not ours and _holds_long_term_keys(effective):
                raise LongTermKeysError(
                    f"[{section}] in {path} holds long-term keys (aws_access_key_id without "
                    f"aws_session_token): refusing to overwrite them; use another profile name "
                    f"or --force"
                )
            previous = records.get(section)
            created = not occurrences or (ours and previous is not None and previous.created)
            new_records[section] = _Record(created, _fingerprint(values[ACCESS_KEY_ID]))
            doc.plan_write(section, values, edits)
        doc.refuse_problems(path, edits)
        new_text = doc.render(edits)
        _verify(doc.text, new_text, {s: dict(v) for s, v in wanted.items()}, removed=())
        write_atomic(target, (doc.bom + new_text).encode("utf-8"))
        log.debug("wrote credentials for %s into %s", ", ".join(sorted(wanted)), target)
        _save_records(target, new_records)


def remove_sections(path: Path, sections: Iterable[str]) -> tuple[str, ...]:
    """Remove the sections we created (and only those) from the credentials file.

    Our four keys go; the section goes too when nothing else is left in it. Sections we did not
    create, or whose keys someone replaced since we wrote them, are left alone. Returns the
    names of the sections whose keys were removed.
    """
    path = Path(path).expanduser()
    names = list(dict.fromkeys(sections))
    if not names:
        return ()
    _refuse_config_file(path)
    with locked(path):
        target = resolve_target(path)
        records = _load_records(target)
        if not target.exists():
            _save_records(target, {name: None for name in names if name in records})
            return ()
        check_writable(path)
        doc = _Document.load(target)
        edits = _Edits()
        removed: list[str] = []
        forget: dict[str, _Record | None] = {}
        for name in names:
            record = records.get(name)
            if record is None:
                continue
            occurrences = doc.occurrences(name)
            key_id = _effective(occurrences).get(ACCESS_KEY_ID, "")
            if not occurrences or (key_id and _fingerprint(key_id) != record.key):
                forget[name] = None  # gone, or someone else's keys now: not ours any more
                continue
            if not record.created:
                continue  # we wrote into a section that was there before us: not ours to remove
            removed.append(name)
            forget[name] = None
        if removed:
            doc.plan_remove(removed, edits)
            doc.refuse_problems(path, edits)
            new_text = doc.render(edits)
            _verify(doc.text, new_text, {}, removed=tuple(removed))
            write_atomic(target, (doc.bom + new_text).encode("utf-8"))
            log.debug("removed sections %s from %s", ", ".join(removed), target)
        _save_records(target, forget)
        return tuple(removed)


def read_section(path: Path, section: str) -> dict[str, str] | None:
    """The section's keys (lower-cased) and values as botocore sees them, or None when absent.

    A section given twice is merged, later keys winning (configparser's non-strict reading).
    Raises ConfigError for a file we would refuse to edit.
    """
    target = resolve_target(Path(path).expanduser())
    if not target.exists():
        return None
    doc = _Document.load(target)
    doc.refuse_problems(Path(path), _Edits())
    occurrences = doc.occurrences(section)
    return _effective(occurrences) if occurrences else None


def owned_sections(path: Path) -> frozenset[str]:
    """The sections of the file at `path` that we created and that still hold our keys."""
    target = resolve_target(Path(path).expanduser())
    records = _load_records(target)
    if not records or not target.exists():
        return frozenset()
    doc = _Document.load(target)
    owned = set()
    for name, record in records.items():
        occurrences = doc.occurrences(name)
        if record.created and occurrences and _is_ours(record, _effective(occurrences)):
            owned.add(name)
    return frozenset(owned)


# --------------------------------------------------------------------------------------------
# Checks on the input


def _values_for(section: str, creds: CredentialValues) -> dict[str, str]:
    _check_section_name(section)
    values = {ACCESS_KEY_ID: creds.access_key_id, SECRET_ACCESS_KEY: creds.secret_access_key}
    if creds.session_token:
        values[SESSION_TOKEN] = creds.session_token
    if creds.expiration is not None:
        values[EXPIRATION] = format_time(creds.expiration)
    for key, value in values.items():
        # A value with whitespace or a line break would change the file's structure.
        if not isinstance(value, str) or not value or any(c.isspace() for c in value):
            raise ValueError(f"{key} for [{section}] is empty or contains whitespace")
    return values


def _check_section_name(section: str) -> None:
    if section == _DEFAULT_SECTION:
        raise ConfigError(
            "cannot write credentials into [DEFAULT]: configparser copies that section into "
            "every other one; use another profile name"
        )
    header = _SECTION_RE.match(f"[{section}]") if section else None
    if (
        not section
        or section != section.strip()
        or "\n" in section
        or "\r" in section
        or header is None
        or header.group("header") != section
    ):
        raise ConfigError(
            f"{section!r} cannot be a section of the credentials file: use a profile name "
            f"without line breaks or surrounding spaces"
        )


def _refuse_config_file(path: Path) -> None:
    from aws_sso_tray.paths import aws_config_file

    target = resolve_target(path)
    for config in {aws_config_file(), Path("~/.aws/config").expanduser()}:
        config_target = resolve_target(config)
        same = target == config_target
        if not same and target.exists() and config_target.exists():
            with contextlib.suppress(OSError):
                same = target.samefile(config_target)  # a hard link
        if same:
            raise FileWriteError(
                f"refusing to write credentials into the AWS config file {config}: point "
                f"AWS_SHARED_CREDENTIALS_FILE at another file"
            )


def _holds_long_term_keys(effective: Mapping[str, str]) -> bool:
    return bool(effective.get(ACCESS_KEY_ID)) and not effective.get(SESSION_TOKEN)


# --------------------------------------------------------------------------------------------
# The file as configparser sees it, line by line


@dataclass(frozen=True)
class _Line:
    text: str  # without its line ending
    end: str  # "\n", "\r\n", "\r", or "" for a last line without one


@dataclass
class _Option:
    key: str  # lower-cased, as configparser's optionxform does
    line: int
    continuations: list[int] = field(default_factory=list)  # indices of non-blank ones
    pieces: list[str] = field(default_factory=list)  # configparser's value pieces

    @property
    def value(self) -> str:
        return "\n".join(self.pieces).rstrip()

    @property
    def lines(self) -> list[int]:
        return [self.line, *self.continuations]

    @property
    def last_line(self) -> int:
        return self.continuations[-1] if self.continuations else self.line


@dataclass
class _Section:
    name: str
    header: int
    end: int  # one past its last line
    options: list[_Option] = field(default_factory=list)


@dataclass(frozen=True)
class _Problem:
    line: int
    message: str
    option: _Option | None = None  # the option whose value is at fault, if any


@dataclass
class _Edits:
    replace: dict[int, str] = field(default_factory=dict)
    delete: set[int] = field(default_factory=set)
    insert_after: dict[int, list[str]] = field(default_factory=dict)
    append: list[list[str]] = field(default_factory=list)  # new sections, one list each


def _split_lines(text: str) -> list[_Line]:
    lines: list[_Line] = []
    start = 0
    i = 0
    length = len(text)
    while i < length:
        char = text[i]
        if char == "\n" or char == "\r":
            end = "\r\n" if text.startswith("\r\n", i) else char
            lines.append(_Line(text[start:i], end))
            i += len(end)
            start = i
        else:
            i += 1
    if start < length:
        lines.append(_Line(text[start:], ""))
    return lines


def _indent_of(text: str) -> str:
    match = _NONSPACE_RE.search(text)
    return text[: match.start()] if match else ""


class _Document:
    """A parsed credentials file: its lines, its sections in order, and what botocore rejects."""

    def __init__(self, text: str, bom: str = "") -> None:
        self.text = text
        self.bom = bom
        self.lines = _split_lines(text)
        self.sections: list[_Section] = []
        self.problems: list[_Problem] = []
        self._parse()

    @classmethod
    def load(cls, target: Path) -> _Document:
        try:
            data = target.read_bytes()
        except FileNotFoundError:
            return cls("")
        except IsADirectoryError:
            raise FileWriteError(
                f"{target} is a directory, not a file: move it away and try again"
            ) from None
        except OSError as exc:
            raise FileWriteError(
                f"cannot read {target}: {exc.strerror or exc}; fix its permissions and retry"
            ) from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(
                f"{target} is not UTF-8 text (byte {data[exc.start]:#04x} at offset "
                f"{exc.start}): save it as UTF-8 and retry; it was left untouched"
            ) from None
        if text.startswith(_BOM):
            return cls(text[1:], _BOM)
        return cls(text)

    def _parse(self) -> None:
        # A transcription of configparser.RawConfigParser._read (strict, default prefixes,
        # empty lines allowed in values), recording positions instead of building dicts.
        section: _Section | None = None
        option: _Option | None = None
        indent_level = 0
        for index, line in enumerate(self.lines):
            stripped = line.text.strip()
            if stripped.startswith(_COMMENT_PREFIXES):
                continue
            if not stripped:
                if option is not None:
                    option.pieces.append("")
                continue
            indent = len(_indent_of(line.text))
            if section is not None and option is not None and indent > indent_level:
                option.pieces.append(stripped)
                option.continuations.append(index)
                continue
            indent_level = indent
            header = _SECTION_RE.match(stripped)
            if header:
                if section is not None:
                    section.end = index
                section = _Section(header.group("header"), index, len(self.lines))
                self.sections.append(section)
                option = None
                continue
            if section is None:
                self.problems.append(_Problem(index, "a setting before the first [section]"))
                continue
            match = _OPTION_RE.match(stripped)
            if match is None:
                # configparser keeps the previous option current after such a line.
                self.problems.append(_Problem(index, "not `key = value`, a comment or [section]"))
                continue
            name = match.group("option")
            if not name:
                self.problems.append(_Problem(index, "a value without a key"))
                option = None
                continue
            option = _Option(name.rstrip().lower(), index, pieces=[match.group("value").strip()])
            section.options.append(option)
        for section_ in self.sections:
            for option_ in section_.options:
                problem = _nested_problem(option_)
                if problem is not None:
                    self.problems.append(_Problem(problem, "an indented line without `=`", option_))

    def occurrences(self, name: str) -> list[_Section]:
        return [section for section in self.sections if section.name == name]

    # -- planning -----------------------------------------------------------------------------

    def plan_write(self, name: str, values: Mapping[str, str], edits: _Edits) -> None:
        occurrences = self.occurrences(name)
        if not occurrences:
            edits.append.append([f"[{name}]", *(f"{key} = {values[key]}" for key in values)])
            return
        *earlier, last = occurrences
        for section in earlier:
            self._strip_ours(section, edits, drop_if_empty=True)
        kept: list[_Option] = []
        for key in OWNED_KEYS:
            options = [option for option in last.options if option.key == key]
            surplus = options
            if key in values and options:
                first, surplus = options[0], options[1:]
                edits.replace[first.line] = self._with_value(first.line, values[key])
                edits.delete.update(first.continuations)
                kept.append(first)
            for option in surplus:
                edits.delete.update(option.lines)
        missing = [key for key in values if key not in {option.key for option in kept}]
        if not missing:
            return
        others = [option for option in last.options if option.key not in OWNED_KEYS]
        if kept:
            anchor = max(kept, key=lambda option: option.line)
            after, indent = anchor.line, _indent_of(self.lines[anchor.line].text)
        elif others:
            anchor = others[-1]
            after, indent = anchor.last_line, _indent_of(self.lines[anchor.line].text)
        else:
            # Only the header: indent like the next line that counts (the next header), so
            # that line cannot become a continuation of ours.
            after, indent = last.header, ""
            for index in range(last.header + 1, len(self.lines)):
                text = self.lines[index].text
                if index in edits.delete or not text.strip():
                    continue
                if not text.strip().startswith(_COMMENT_PREFIXES):
                    indent = _indent_of(text)
                    break
        edits.insert_after.setdefault(after, []).extend(
            f"{indent}{key} = {values[key]}" for key in missing
        )

    def plan_remove(self, names: Iterable[str], edits: _Edits) -> None:
        wanted = set(names)
        # Last first, so a section followed only by sections that go is known to end the file.
        for section in reversed(self.sections):
            if section.name not in wanted:
                continue
            dropped = self._strip_ours(section, edits, drop_if_empty=True)
            if dropped and all(i in edits.delete for i in range(section.header, len(self.lines))):
                # The file's last section goes: take the blank line(s) we put before it too.
                index = section.header - 1
                while index >= 0 and not self.lines[index].text.strip():
                    edits.delete.add(index)
                    index -= 1

    def _strip_ours(self, section: _Section, edits: _Edits, *, drop_if_empty: bool) -> bool:
        for option in section.options:
            if option.key in OWNED_KEYS:
                edits.delete.update(option.lines)
        body = range(section.header + 1, section.end)
        if drop_if_empty and all(
            index in edits.delete or not self.lines[index].text.strip() for index in body
        ):
            edits.delete.update(range(section.header, section.end))
            return True
        return False

    def _with_value(self, index: int, value: str) -> str:
        text = self.lines[index].text
        indent = _indent_of(text)
        match = _OPTION_RE.match(text.strip())
        assert match is not None
        head = text[: len(indent) + match.start("value")]
        if not match.group("value") and head[-1:] in "=:":
            head += " "
        return head + value

    # -- checks and output --------------------------------------------------------------------

    def refuse_problems(self, path: Path, edits: _Edits) -> None:
        for problem in self.problems:
            if problem.option is not None and set(problem.option.lines) <= edits.delete | set(
                edits.replace
            ):
                continue  # the faulty value is one of ours and is being replaced
            raise ConfigError(
                f"{path} line {problem.line + 1}: {problem.message}; botocore cannot read this "
                f"file either: fix that line and retry (the file was left untouched)"
            )

    def render(self, edits: _Edits) -> str:
        eol = self.lines[0].end if self.lines and self.lines[0].end else "\n"
        out: list[list[str]] = []
        for index, line in enumerate(self.lines):
            if index not in edits.delete:
                out.append([edits.replace.get(index, line.text), line.end])
            for text in edits.insert_after.get(index, []):
                out.append([text, eol])
        for new_section in edits.append:
            if out and out[-1][0].strip():
                out.append(["", eol])
            out.extend([text, eol] for text in new_section)
        for item in out[:-1]:
            if not item[1]:
                item[1] = eol  # a last line that now has lines after it
        return "".join(text + end for text, end in out)


def _nested_problem(option: _Option) -> int | None:
    # botocore's configloader._parse_nested: a value starting on the next line is read as
    # `key = value` lines and the whole file is refused when one has no `=`.
    value = option.value
    if not value.startswith("\n"):
        return None
    for piece in value.splitlines():
        if piece.strip() and "=" not in piece:
            return option.continuations[0] if option.continuations else option.line
    return None


def _effective(occurrences: Iterable[_Section]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for section in occurrences:
        for option in section.options:
            merged[option.key] = option.value
    return merged


# --------------------------------------------------------------------------------------------
# Verification against configparser itself


def _configparser_view(text: str) -> dict[str, dict[str, str]]:
    # Non-strict so a duplicate is merged rather than fatal, and no DEFAULT magic: we compare
    # what is written, section by section.
    parser = configparser.RawConfigParser(strict=False, default_section="\x00none\x00")
    parser.read_file(io.StringIO(text, newline=None))
    return {name: dict(parser.items(name)) for name in parser.sections()}


def _verify(
    old: str,
    new: str,
    written: Mapping[str, Mapping[str, str]],
    *,
    removed: tuple[str, ...],
) -> None:
    try:
        before = _configparser_view(old)
        after = _configparser_view(new)
    except configparser.Error as exc:
        raise AppError(
            f"could not edit the credentials file safely ({type(exc).__name__}); it was left "
            f"untouched: please report this"
        ) from None
    expected = dict(before)
    for name, values in written.items():
        kept = {k: v for k, v in before.get(name, {}).items() if k not in OWNED_KEYS}
        expected[name] = {**kept, **values}
    for name in removed:
        kept = {k: v for k, v in before.get(name, {}).items() if k not in OWNED_KEYS}
        if kept or name in after:
            expected[name] = kept
        else:
            expected.pop(name, None)
    if after != expected:
        changed = sorted(
            name for name in set(after) | set(expected) if after.get(name) != expected.get(name)
        )
        raise AppError(
            f"could not edit the credentials file safely (sections {', '.join(changed)} would "
            f"have changed); it was left untouched: please report this"
        )


# --------------------------------------------------------------------------------------------
# The record of sections we created


@dataclass(frozen=True)
class _Record:
    created: bool  # the section did not exist before we wrote it
    key: str  # fingerprint of the access key id we last wrote there


def _fingerprint(access_key_id: str) -> str:
    return hashlib.sha256(_FINGERPRINT_SALT + access_key_id.encode("utf-8")).hexdigest()[:32]


def _is_ours(record: _Record | None, effective: Mapping[str, str]) -> bool:
    key_id = effective.get(ACCESS_KEY_ID)
    return record is not None and bool(key_id) and _fingerprint(key_id or "") == record.key


def state_file() -> Path:
    """Where we record which credentials-file sections we created."""
    from aws_sso_tray.paths import state_dir

    return state_dir() / STATE_FILE_NAME


def _read_state() -> dict[str, Any]:
    path = state_file()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        # Losing the record only makes us more careful (nothing looks ours), never destructive.
        log.warning("ignoring unreadable %s: %s", path, exc)
        return {}
    if not isinstance(data, dict) or data.get("version") != _STATE_VERSION:
        return {}
    files = data.get("files")
    return files if isinstance(files, dict) else {}


def _load_records(target: Path) -> dict[str, _Record]:
    entries = _read_state().get(str(target), {})
    records: dict[str, _Record] = {}
    if isinstance(entries, dict):
        for name, entry in entries.items():
            if isinstance(entry, dict) and isinstance(entry.get("key"), str):
                records[name] = _Record(bool(entry.get("created")), entry["key"])
    return records


def _save_records(target: Path, changes: Mapping[str, _Record | None]) -> None:
    if not changes:
        return
    path = state_file()
    try:
        with locked(path):
            files = _read_state()
            entries = files.get(str(target))
            entries = dict(entries) if isinstance(entries, dict) else {}
            for name, record in changes.items():
                if record is None:
                    entries.pop(name, None)
                else:
                    entries[name] = {"created": record.created, "key": record.key}
            if entries:
                files[str(target)] = entries
            else:
                files.pop(str(target), None)
            body = json.dumps({"version": _STATE_VERSION, "files": files}, indent=2, sort_keys=True)
            write_atomic(path, (body + "\n").encode("utf-8"))
    except (AppError, OSError) as exc:
        # The credentials are written; without the record we only treat the section as the
        # user's (never removed, long-term check applies), which is the safe side.
        log.warning("could not record credentials sections in %s: %s", path, exc)


__all__ = [
    "ACCESS_KEY_ID",
    "EXPIRATION",
    "OWNED_KEYS",
    "SECRET_ACCESS_KEY",
    "SESSION_TOKEN",
    "CredentialValues",
    "owned_sections",
    "read_section",
    "remove_sections",
    "state_file",
    "write_credentials",
    "write_many",
]
