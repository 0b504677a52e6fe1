"""The AWS config editor: `[sso-session NAME]` and generated `[profile NAME]` sections.

This module owns every write to the AWS config file (`~/.aws/config` or `$AWS_CONFIG_FILE`).
`aws-sso-tray configure` uses it to add or update one `[sso-session]` section, add `[profile]`
sections for the roles the user chose, and remove generated profiles whose role vanished from
the portal. Every other byte of the file stays: comments, blank lines, other sections, their
order, line endings, a BOM, a missing final newline.

The line model is `inifile`'s, shared with the credentials-file editor (configparser's own
regular expressions, lines with their endings, sections and options with their line numbers,
an edit list rendered back to text), so a line means the same to both editors and to botocore.
Section names are mapped to profiles and sessions as botocore's `build_profile_map` does
(`shlex.split` of the header, two parts), so `[profile "dev"]` is profile `dev` here too.

Safety of the write, as for the credentials file: one read-modify-write under
`atomicfile.locked`, written with `atomicfile.write_atomic`; before writing, the new text is
parsed again with configparser and compared with the old: every section we did not mean to
touch must be unchanged, and the ones we touched must hold exactly the expected values, or
nothing is written. A file botocore cannot read is refused with the line at fault.

Which profiles we generated (the choice, and why)
    We record them in a JSON state file (`paths.state_dir()/config-profiles.json`, an
    `ownership.RecordFile`), keyed by the resolved path of the config file, with the exact lines
    we wrote for each profile. A profile is ours only while the file holds it once and its
    lines, from the header to its last option, are still exactly those. The moment the user
    edits it (a key changed or added, a comment inside it, a reformatted line) it is theirs and
    is never removed; renaming it makes the new name theirs and the old record is forgotten.
    Why not a marker comment on the header (`[profile x]  # aws-sso-tray generated`): a marker
    survives the very edits that should hand the profile to the user (they change the role, the
    marker stays, and a later prune deletes their work); it travels with copies of the file to
    machines where we never wrote it; and some non-Python SDK parsers are stricter about text
    after a section header than configparser. Every way the record can be lost (state folder
    wiped, file moved) leaves the profiles looking hand-written: nothing is pruned, and the
    configure flow still recognises their roles as configured because it matches profiles by
    (start URL, account, role), not by the record.

Removing a profile must not join the user's next section to the one above it: a header ends
the option above it, so once the removed header is gone a next header indented deeper than that
option would be read as part of its value (configparser's rule; see `inifile`). The next header
is the user's and keeps its bytes, so such a profile stays and is reported in `kept`. (A profile
we write always has options at column 0, after which any deeper line is already a continuation
that makes it the user's; so this guards a profile recorded with its header alone.)
Keys added to a section with no options take the indentation of the next header, for the same
reason.

Sessions are never removed. An existing `[sso-session]` gets only the keys that differ, each
on its own line in place; `sso_registration_scopes` gains `sso:account:access` when it lacks it.
"""

from __future__ import annotations

import configparser
import copy
import io
import logging
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aws_sso_tray.errors import ConfigError
from aws_sso_tray.files.atomicfile import check_writable, locked, resolve_target, write_atomic
from aws_sso_tray.files.inifile import (
    Edits,
    IniDocument,
    Section,
    check_edit,
    configparser_view,
    configparser_views,
    effective_values,
    indent_of,
)
from aws_sso_tray.files.ownership import RecordFile

log = logging.getLogger(__name__)

STATE_FILE_NAME = "config-profiles.json"
ACCOUNT_SCOPE = "sso:account:access"
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-+=@,")

__all__ = [
    "ACCOUNT_SCOPE",
    "ConfigSnapshot",
    "EditResult",
    "ProfileSpec",
    "RoleProfile",
    "SessionSpec",
    "apply",
    "check_name",
    "check_value",
    "read_snapshot",
    "state_file",
]


# --------------------------------------------------------------------------------------------
# Values


@dataclass(frozen=True)
class SessionSpec:
    """An `[sso-session NAME]` section to add or bring up to date."""

    name: str
    start_url: str
    region: str
    registration_scopes: tuple[str, ...] = (ACCOUNT_SCOPE,)


@dataclass(frozen=True)
class ProfileSpec:
    """A `[profile NAME]` section for one role, through an sso-session."""

    name: str
    session: str
    account_id: str
    role_name: str
    region: str | None = None  # the profile's default region for the services

    def values(self) -> dict[str, str]:
        values = {
            "sso_session": self.session,
            "sso_account_id": self.account_id,
            "sso_role_name": self.role_name,
        }
        if self.region:
            values["region"] = self.region
        return values

    def lines(self) -> list[str]:
        return [f"[profile {self.name}]", *(f"{k} = {v}" for k, v in self.values().items())]


@dataclass(frozen=True)
class RoleProfile:
    """A profile in the file that names an SSO role (ours or the user's)."""

    name: str
    start_url: str | None  # from its sso-session, or its own sso_start_url (legacy)
    session: str | None  # its sso_session, None for legacy
    account_id: str
    role_name: str
    generated: bool  # we wrote it and it is untouched since


@dataclass(frozen=True)
class ConfigSnapshot:
    """What `configure` needs to know about the config file, from one read."""

    path: Path
    profile_names: frozenset[str]  # every profile botocore sees (`default` included)
    sessions: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # name -> keys
    role_profiles: tuple[RoleProfile, ...] = ()

    @property
    def generated(self) -> frozenset[str]:
        return frozenset(p.name for p in self.role_profiles if p.generated)

    def session_for(self, start_url: str) -> str | None:
        """The name of an existing sso-session with this start URL, if any."""
        for name, values in self.sessions.items():
            if _same_url(values.get("sso_start_url", ""), start_url):
                return name
        return None

    def has_role(self, start_url: str, account_id: str, role_name: str) -> bool:
        return any(
            p.account_id == account_id
            and p.role_name == role_name
            and p.start_url is not None
            and _same_url(p.start_url, start_url)
            for p in self.role_profiles
        )


@dataclass(frozen=True)
class EditResult:
    added: tuple[str, ...]  # profile names written
    removed: tuple[str, ...]  # generated profiles removed
    kept: tuple[str, ...]  # asked to remove, but not ours (edited, or gone): left alone
    session_changed: bool  # the sso-session section was added or updated


# --------------------------------------------------------------------------------------------
# Public API


def check_name(name: str, what: str = "profile") -> str:
    """`name` if it can be a profile or session name in the config; ConfigError otherwise."""
    if not name or not set(name) <= _NAME_CHARS or name.startswith(("-", ".")):
        raise ConfigError(
            f"{name!r} cannot be an {what} name here: use letters, digits and . _ - + = @ ,"
        )
    return name


def read_snapshot(path: Path) -> ConfigSnapshot:
    """The profiles and sessions of the config file at `path` (an absent file is empty)."""
    path = Path(path).expanduser()
    target = resolve_target(path)
    doc = IniDocument.load(target)
    doc.refuse_problems(path, Edits())
    return _snapshot(path, doc, _RECORDS.load(target), _grouped(doc))


def apply(
    path: Path,
    *,
    session: SessionSpec | None = None,
    add: Sequence[ProfileSpec] = (),
    remove: Iterable[str] = (),
) -> EditResult:
    """One locked read-modify-write of the config file: session, new profiles, pruned ones.

    `add`: profiles that must not exist yet (ConfigError names the first that does: someone
    wrote it since the caller looked). `remove`: generated profiles to delete; any that are not
    ours (never generated, edited since, or gone) are left alone and reported in `kept`.
    Raises ConfigError for a file botocore cannot read, FileWriteError when it cannot be written.
    """
    _check_request(session, add)
    path = Path(path).expanduser()
    with locked(path):
        target = check_writable(path)
        doc = IniDocument.load(target)
        doc.refuse_problems(path, Edits())
        records = _RECORDS.load(target)
        grouped = _grouped(doc)
        snapshot = _snapshot(path, doc, records, grouped)
        edits = Edits()
        expected: dict[str, dict[str, str] | None] = {}
        before = configparser_view(doc.text)
        session_changed = _plan_session(doc, before, session, edits, expected)
        added = _plan_additions(path, snapshot, add, edits, expected)
        edits, removed, kept = _plan_removals(doc, grouped, records, remove, edits, expected)
        if not expected:
            return EditResult((), (), tuple(kept), False)
        new_text = doc.render(edits)
        _verify(doc.text, new_text, expected)
        write_atomic(target, (doc.bom + new_text).encode("utf-8"))
        log.info(
            "config %s: session %s, added %s, removed %s",
            target,
            "updated" if session_changed else "unchanged",
            ", ".join(added) or "none",
            ", ".join(removed) or "none",
        )
        _RECORDS.save(target, _record_changes(records, snapshot, add, removed))
        return EditResult(tuple(added), tuple(removed), tuple(kept), session_changed)


def _check_request(session: SessionSpec | None, add: Sequence[ProfileSpec]) -> None:
    """ConfigError for a name or value the config file cannot hold, before the file is read."""
    for spec in add:
        check_name(spec.name)
        check_name(spec.session, "sso-session")
        for value in spec.values().values():
            check_value(value)
    if session is not None:
        check_name(session.name, "sso-session")
        for value in (session.start_url, session.region, *session.registration_scopes):
            check_value(value)


def _plan_session(
    doc: IniDocument,
    before: Mapping[str, Mapping[str, str]],
    session: SessionSpec | None,
    edits: Edits,
    expected: dict[str, dict[str, str] | None],
) -> bool:
    """Plan adding or updating the sso-session section; True when it changes."""
    if session is None:
        return False
    header = f"sso-session {session.name}"
    current = before.get(header, {})
    wanted = _session_values(session, current)
    if not wanted:
        return False
    _plan_set(doc, header, wanted, edits)
    expected[header] = {**current, **wanted}
    return True


def _plan_additions(
    path: Path,
    snapshot: ConfigSnapshot,
    add: Sequence[ProfileSpec],
    edits: Edits,
    expected: dict[str, dict[str, str] | None],
) -> list[str]:
    """Plan appending the new profiles; their names. ConfigError when one exists already."""
    added: list[str] = []
    for spec in add:
        if spec.name in snapshot.profile_names or spec.name in added:
            raise ConfigError(
                f"profile '{spec.name}' already exists in {path}: run configure again "
                f"(the file changed meanwhile) or remove that profile"
            )
        edits.append.append(spec.lines())
        expected[f"profile {spec.name}"] = spec.values()
        added.append(spec.name)
    return added


def _plan_removals(
    doc: IniDocument,
    grouped: _Grouped,
    records: Mapping[str, list[str]],
    remove: Iterable[str],
    edits: Edits,
    expected: dict[str, dict[str, str] | None],
) -> tuple[Edits, list[str], list[str]]:
    """Plan deleting the generated profiles still as we wrote them: (edits, removed, kept)."""
    kept: list[str] = []
    going: dict[str, Section] = {}
    for name in dict.fromkeys(remove):
        section = _untouched(doc, grouped, name, records.get(name))
        if section is None:
            kept.append(name)
        else:
            going[name] = section
    edits, stay = _plan_removal(doc, going, edits)
    kept.extend(stay)
    removed = [name for name in going if name not in stay]
    for name in removed:
        expected[going[name].name] = None
    return edits, removed, kept


def _record_changes(
    records: Mapping[str, list[str]],
    snapshot: ConfigSnapshot,
    add: Sequence[ProfileSpec],
    removed: Sequence[str],
) -> dict[str, list[str] | None]:
    """The generated-profile records after this edit: name -> lines written, None to drop."""
    changes: dict[str, list[str] | None] = {name: None for name in removed}
    for spec in add:
        changes[spec.name] = spec.lines()
    # Records of generated profiles that are gone or edited are dropped: they are not ours.
    generated = snapshot.generated  # a property that walks every profile: once, not per name
    for name in records:
        if name not in changes and name not in generated:
            changes[name] = None
    return changes


# --------------------------------------------------------------------------------------------
# Reading


def _botocore_name(section: str) -> tuple[str, str] | None:
    """("profile" | "sso-session", name) as botocore's build_profile_map maps `section`."""
    if section == "default":
        return ("profile", "default")
    for kind in ("profile", "sso-session"):
        if section.startswith(kind):
            try:
                parts = shlex.split(section)
            except ValueError:
                return None
            if len(parts) == 2 and parts[0] == kind:
                return (kind, parts[1])
            return None
    return None


_Grouped = dict[tuple[str, str], list[Section]]


def _grouped(doc: IniDocument) -> _Grouped:
    """The document's sections by what botocore maps them to: (kind, name) -> sections.

    Built once per read: looking a profile up by scanning every header (one `shlex.split` per
    section per profile) made a 500-profile prune take 15 s.
    """
    grouped: _Grouped = {}
    for section in doc.sections:
        mapped = _botocore_name(section.name)
        if mapped is not None:
            grouped.setdefault(mapped, []).append(section)
    return grouped


def _snapshot(
    path: Path, doc: IniDocument, records: Mapping[str, list[str]], grouped: _Grouped
) -> ConfigSnapshot:
    sessions = {
        name: effective_values(found)
        for (kind, name), found in grouped.items()
        if kind == "sso-session"
    }
    names: set[str] = set()
    roles: list[RoleProfile] = []
    for (kind, name), found in grouped.items():
        if kind != "profile":
            continue
        names.add(name)
        values = effective_values(found)
        account, role = values.get("sso_account_id"), values.get("sso_role_name")
        if not account or not role:
            continue
        session = values.get("sso_session")
        if session:
            start_url = sessions.get(session, {}).get("sso_start_url")
        else:
            start_url = values.get("sso_start_url")
        generated = _untouched(doc, grouped, name, records.get(name)) is not None
        roles.append(RoleProfile(name, start_url, session, account, role, generated))
    return ConfigSnapshot(path, frozenset(names), sessions, tuple(roles))


def _untouched(
    doc: IniDocument, grouped: _Grouped, name: str, recorded: list[str] | None
) -> Section | None:
    """The profile's section when it is one we generated and nobody changed since."""
    if recorded is None:
        return None
    found = grouped.get(("profile", name), [])
    if len(found) != 1:
        return None
    section = found[0]
    last = section.options[-1].last_line if section.options else section.header
    current = [doc.lines[i].text for i in range(section.header, last + 1)]
    return section if current == recorded else None


def _same_url(a: str, b: str) -> bool:
    return a.rstrip("/").rstrip("#").lower() == b.rstrip("/").rstrip("#").lower()


def check_value(value: str) -> None:
    """ConfigError unless `value` reads back as itself after `key = value` in the config."""
    # A value with a line break, or blank, would change the file's structure or mean nothing.
    if not value or value != value.strip() or "\n" in value or "\r" in value:
        raise ConfigError(f"{value!r} cannot be written as a config value")


# --------------------------------------------------------------------------------------------
# Planning


def _session_values(session: SessionSpec, current: Mapping[str, str]) -> dict[str, str]:
    """The keys of the session section that must change (all of them for a new section)."""
    wanted: dict[str, str] = {}
    if not _same_url(current.get("sso_start_url", ""), session.start_url):
        wanted["sso_start_url"] = session.start_url
    if current.get("sso_region") != session.region:
        wanted["sso_region"] = session.region
    have = [s.strip() for s in current.get("sso_registration_scopes", "").split(",") if s.strip()]
    missing = [s for s in session.registration_scopes if s not in have]
    if missing:
        wanted["sso_registration_scopes"] = ", ".join([*have, *missing])
    return wanted


def _plan_set(doc: IniDocument, header: str, values: Mapping[str, str], edits: Edits) -> None:
    found = doc.occurrences(header)
    if not found:
        edits.append.append([f"[{header}]", *(f"{k} = {v}" for k, v in values.items())])
        return
    if len(found) > 1:
        raise ConfigError(
            f"[{header}] appears twice in the config (line {found[0].header + 1} and "
            f"{found[1].header + 1}): merge them and retry"
        )
    section = found[0]
    missing: list[str] = []
    for key, value in values.items():
        options = [o for o in section.options if o.key == key]
        if len(options) > 1:
            raise ConfigError(
                f"{key} is set twice in [{header}] (line {options[1].line + 1}): remove one"
            )
        if not options:
            missing.append(key)
            continue
        edits.replace[options[0].line] = doc.with_value(options[0].line, value)
        edits.delete.update(options[0].continuations)
    if not missing:
        return
    if section.options:
        anchor = section.options[-1]
        after, indent = anchor.last_line, indent_of(doc.lines[anchor.line].text)
    else:
        after, indent = section.header, doc.header_only_indent(section, edits)
    edits.insert_after.setdefault(after, []).extend(
        f"{indent}{key} = {values[key]}" for key in missing
    )


def _plan_removal(
    doc: IniDocument, going: Mapping[str, Section], planned: Edits
) -> tuple[Edits, list[str]]:
    """`planned` plus the deletion of the `going` profiles, and the names that must stay.

    A profile stays when deleting it would make a next header read as the option above it:
    `keep_headers_apart` keeps its header, and the rest of it stays too (whole, it is still
    ours and untouched). The others are planned again without it, as which blank lines go
    depends on what follows.
    """
    stay: list[str] = []
    while True:
        edits = copy.deepcopy(planned)
        for name, section in going.items():
            if name not in stay:
                _plan_delete(doc, section, edits)
        doc.keep_headers_apart(edits, written=())
        kept_back = [
            name
            for name, section in going.items()
            if name not in stay and section.header not in edits.delete
        ]
        if not kept_back:
            return edits, stay
        stay.extend(kept_back)


def _plan_delete(doc: IniDocument, section: Section, edits: Edits) -> None:
    last = section.options[-1].last_line if section.options else section.header
    edits.delete.update(range(section.header, last + 1))
    # The blank separator goes with it: the one after it, or before it at the end of the file.
    after = last + 1
    while after < len(doc.lines) and not doc.lines[after].text.strip():
        after += 1
    if after < len(doc.lines):
        edits.delete.update(range(last + 1, after))
        return
    edits.delete.update(range(last + 1, len(doc.lines)))
    before = section.header - 1
    while before >= 0 and not doc.lines[before].text.strip():
        edits.delete.add(before)
        before -= 1


# --------------------------------------------------------------------------------------------
# Verification against configparser itself


def _verify(old: str, new: str, expected_changes: Mapping[str, dict[str, str] | None]) -> None:
    before, after = configparser_views("the AWS config", old, new)
    expected = dict(before)
    for name, values in expected_changes.items():
        if values is None:
            expected.pop(name, None)
        else:
            expected[name] = values
    # A file strict configparser read before must stay readable to it (botocore is strict).
    check_edit("the AWS config", after, expected, worse=_strict_ok(old) and not _strict_ok(new))


def _strict_ok(text: str) -> bool:
    try:
        configparser.RawConfigParser().read_file(io.StringIO(text, newline=None))
    except configparser.Error:
        return False
    return True


# --------------------------------------------------------------------------------------------
# The record of profiles we generated


def _lines_from_json(entry: object) -> list[str] | None:
    lines = entry.get("lines") if isinstance(entry, dict) else None
    if isinstance(lines, list) and all(isinstance(line, str) for line in lines):
        return lines
    return None


def _lines_to_json(lines: list[str]) -> dict[str, Any]:
    return {"lines": lines}


# Losing this record only makes every profile look hand-written: nothing is pruned.
_RECORDS = RecordFile(STATE_FILE_NAME, "generated profiles", _lines_from_json, _lines_to_json)


def state_file() -> Path:
    """Where we record which config profiles we generated."""
    return _RECORDS.path()
