"""The credentials-file editor: our four keys in one section, every other byte kept.

This module owns every write to the shared credentials file (`~/.aws/credentials` or
`$AWS_SHARED_CREDENTIALS_FILE`). It replaces only the keys we own in the target section:

    aws_access_key_id, aws_secret_access_key, aws_session_token, aws_credential_expiration

and keeps every other byte: other keys of the section, comments, blank lines, other sections,
their order, CRLF or lone-CR line endings, a missing final newline.

How the file is read
    Through `inifile`'s line model (shared with the config editor), which reads a file exactly
    as botocore does and says what makes one unreadable: bytes that are not UTF-8, a UTF-8
    byte-order mark (botocore and the other SDKs cannot read a file that starts with one), or a
    line botocore rejects. Such a file is left untouched, with an error naming the line (exit 3).
    Readers (`read_sections`, `owned_sections`, `check_writable_section`) share one parse of
    the file per change (`IniDocument.load_shared`); an edit reads and parses the file itself.

What else we refuse (the file is left untouched)
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
    Dropping a section must not join the next section to the one above it: a header ends the
    option above it, so a next header indented deeper than that option would be read as that
    option's continuation once the dropped header is gone (configparser's rule; see `inifile`).
    When that next header is one of the section we write, it loses its indentation (botocore
    ignores it); when it is another section's, it is the user's and keeps its bytes, so the
    dropped section's header stays instead (an empty duplicate: the file stays as unreadable
    for botocore as it was). `remove_sections` keeps an emptied section's header for the
    same reason.
    Duplicates elsewhere in the file are the user's and stay as they are.

Where new lines go
    A missing key goes after the last of our keys already in the section, else after the
    section's last option (and its continuation lines), else right after the header, with the
    indentation of the line it follows so no neighbouring line turns into a continuation line.
    A missing section is appended at the end of the file.

Which sections we created (the choice, and why)
    We record them in a JSON state file (`paths.state_dir()/credentials-sections.json`, an
    `ownership.RecordFile`), keyed by the resolved path of the credentials file, with a salted
    SHA-256 fingerprint of the access key id we last wrote there (never a key itself). A section
    is ours only while its effective `aws_access_key_id` still matches that fingerprint. A
    marker comment in the user's file would be intrusive and would travel with copies of the
    file; the fingerprint also covers the case a marker cannot: a user who deletes our section
    and writes their own keys under the same name gets a section that is no longer ours, so
    `remove_sections` leaves it alone and the long-term-key check protects it. Every way the
    record can be lost or stale (state folder wiped, file moved, keys replaced) errs on the side
    of keeping the user's data.
    Consequences: a section whose key id is still the one we wrote is never "long-term", even if
    someone stripped its session token (those keys are our temporary ones, so rewriting them is
    safe). `remove_sections` removes only sections we created (not ones we wrote into that existed
    before, nor ones holding someone else's keys): it deletes our four keys, and the whole section
    only when nothing else is left in it (user-added keys and comments keep it).

Safety of the write
    One read-modify-write under `atomicfile.locked` (the lock is held across the read, so two
    writers never lose each other's sections), written with `atomicfile.write_atomic` (temp file
    in the same folder, fsync, `os.replace`, mode 0600, through symlinks, explicit read-only
    checks, temp files of killed writers swept). Before writing, the sections the edit touches
    (`IniDocument.excerpts`; the rest of the file is kept byte for byte) are parsed again with
    configparser and compared with the old: every section other than the target must be unchanged
    and the target must hold exactly the expected values, or nothing is written. Nothing reads
    the whole file more than once, so a 50 MB file edits in seconds (benchmarks/bigfile.py).

Writers that take no lock
    Other programs append to the file or rewrite it without our lock. Right before `os.replace`
    `write_atomic` checks the file is still the one we read (device, inode, size, mtime and a
    SHA-256 of its bytes); when it is not, we read it again and redo the edit, up to
    `CHANGED_RETRIES` times, then give up with a one-line error (exit 6) and leave the file as
    that program wrote it. A writer that opened the file before our rename and writes after it
    writes into the file we replaced: when another program wrote the file in the last seconds we
    keep the replaced file open for `LATE_WRITE_GRACE` and carry what was appended to it over.

Credentials are accepted as any object with `access_key_id`, `secret_access_key`,
`session_token` and `expiration` (the `formats.Credentials` protocol, which
`rolecreds.RoleCredentials` satisfies) so this module does not import the AWS-facing ones.
"""

from __future__ import annotations

import configparser
import contextlib
import hashlib
import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aws_sso_tray.clock import format_time
from aws_sso_tray.errors import AppError, ConfigError, FileWriteError, LongTermKeysError
from aws_sso_tray.files.atomicfile import (
    FileChangedError,
    FileStamp,
    check_writable,
    lock_path_for,
    locked,
    read_stamped,
    read_text,
    resolve_target,
    write_atomic,
)
from aws_sso_tray.files.inifile import (
    SECTION_RE,
    Edits,
    IniDocument,
    Option,
    Section,
    check_edit,
    configparser_views,
    effective_values,
    indent_of,
)
from aws_sso_tray.files.ownership import RecordFile

if TYPE_CHECKING:
    # Any object with the four credential attributes (rolecreds.RoleCredentials has them):
    # one Protocol, shared with the output formats.
    from aws_sso_tray.aws.formats import Credentials as CredentialValues

log = logging.getLogger(__name__)

ACCESS_KEY_ID = "aws_access_key_id"
SECRET_ACCESS_KEY = "aws_secret_access_key"  # noqa: S105 (a key name)
SESSION_TOKEN = "aws_session_token"  # noqa: S105 (a key name)
EXPIRATION = "aws_credential_expiration"
OWNED_KEYS: tuple[str, ...] = (ACCESS_KEY_ID, SECRET_ACCESS_KEY, SESSION_TOKEN, EXPIRATION)

STATE_FILE_NAME = "credentials-sections.json"
_FINGERPRINT_SALT = b"aws-sso-tray credentials section v1:"
_DEFAULT_SECTION = configparser.DEFAULTSECT
CHANGED_RETRIES = 5  # reads of a file another program keeps changing under us
# What str.isspace calls whitespace (re's \s is the same Unicode test), found at C speed: a batch
# writes a thousand session tokens of a thousand characters.
_WHITESPACE = re.compile(r"\s")


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

    def plan(doc: _CredentialsDocument, edits: Edits) -> _Planned:
        new_records: dict[str, _Record | None] = {}
        for section, values in wanted.items():
            occurrences = doc.occurrences(section)
            effective = effective_values(occurrences)
            ours = _is_ours(records.get(section), effective)
            if not force:
                _refuse_long_term_keys(path, section, records.get(section), effective)
            previous = records.get(section)
            created = not occurrences or (ours and previous is not None and previous.created)
            new_records[section] = _Record(created, _fingerprint(values[ACCESS_KEY_ID]))
            doc.plan_write(section, values, edits)
        doc.keep_headers_apart(edits, written=wanted.keys())
        return _Planned(new_records, {s: dict(v) for s, v in wanted.items()}, ())

    with locked(path):
        target = check_writable(path)
        records = _RECORDS.load(target)
        planned = _edit(path, target, plan)
        log.debug("wrote credentials for %s into %s", ", ".join(sorted(wanted)), target)
        _RECORDS.save(target, planned.records)


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

    def plan(doc: _CredentialsDocument, edits: Edits) -> _Planned:
        removed: list[str] = []
        forget: dict[str, _Record | None] = {}
        for name in names:
            record = records.get(name)
            if record is None:
                continue
            occurrences = doc.occurrences(name)
            key_id = effective_values(occurrences).get(ACCESS_KEY_ID, "")
            if not occurrences or (key_id and _fingerprint(key_id) != record.key):
                forget[name] = None  # gone, or someone else's keys now: not ours any more
                continue
            if not record.created:
                continue  # we wrote into a section that was there before us: not ours to remove
            removed.append(name)
            forget[name] = None
        if removed:
            doc.plan_remove(removed, edits)
            doc.keep_headers_apart(edits, written=())
        return _Planned(forget, {}, tuple(removed))

    with locked(path):
        target = resolve_target(path)
        records = _RECORDS.load(target)
        if not target.exists():
            _RECORDS.save(target, {name: None for name in names if name in records})
            return ()
        check_writable(path)
        planned = _edit(path, target, plan)
        if planned.removed:
            log.debug("removed sections %s from %s", ", ".join(planned.removed), target)
        _RECORDS.save(target, planned.records)
        return planned.removed


@dataclass(frozen=True)
class _Planned:
    records: dict[str, _Record | None]  # the changes to our record of sections
    written: dict[str, dict[str, str]]  # sections and the values of ours they get
    removed: tuple[str, ...]  # sections whose keys of ours go


def _edit(
    path: Path, target: Path, plan: Callable[[_CredentialsDocument, Edits], _Planned]
) -> _Planned:
    """Read the file, `plan` the edits, check and write them; under the caller's lock.

    Other programs write the file without our lock. When one did between our read and our
    rename (`atomicfile` checks right before `os.replace`), its text is read again and the edit
    planned anew, so what it wrote is kept; a file that keeps changing is left to its writer.
    """
    for _ in range(CHANGED_RETRIES):
        doc, stamp = _CredentialsDocument.load_stamped(target)
        edits = Edits()
        planned = plan(doc, edits)
        if not planned.written and not planned.removed:
            return planned
        doc.refuse_problems(path, edits)
        old, new = doc.excerpts(edits)
        _verify(old, new, planned.written, removed=planned.removed)
        with _opened(target, stamp) as replaced:
            busy = _others_write(target, stamp)
            try:
                write_atomic(
                    target, _encoded(doc.bom, doc.render_chunks(edits)), unchanged_since=stamp
                )
            except FileChangedError:
                _FOREIGN[str(target)] = time.monotonic()
                log.info("%s changed while we edited it (another program wrote it): again", target)
                continue
            _remember_ours(target)
            if busy and replaced is not None:
                _keep_late_appends(target, replaced, stamp)
        return planned
    raise FileWriteError(
        f"{path} kept changing while we edited it ({CHANGED_RETRIES} tries): another program "
        f"is writing it; try again when it is done (it was left as that program wrote it)"
    )


# Writers without our lock, after the rename: one that opened the file before our os.replace
# writes into the file we replaced, unseen. When another program wrote the file lately, we give
# such a writer a moment and move what it appended there into the new file.
LATE_WRITE_GRACE = 0.05  # seconds between opening a file and writing it, for an appender
_ACTIVE_SECONDS = 2.0  # another program that wrote this recently may still be writing
_FOREIGN: dict[str, float] = {}  # when another program's write was last seen, by file


@contextlib.contextmanager
def _opened(target: Path, stamp: FileStamp) -> Iterator[int | None]:
    """A descriptor of the file `stamp` describes, or None (absent, or already another)."""
    try:
        fd = os.open(target, os.O_RDONLY)
    except OSError:
        yield None
        return
    try:
        st = os.fstat(fd)
        same = stamp.identity == (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        yield fd if same else None
    finally:
        os.close(fd)


def _others_write(target: Path, stamp: FileStamp) -> bool:
    key = str(target)
    identity = stamp.identity
    if (
        identity is not None
        and identity != _last_locked_write(target)
        and time.time() - identity[3] / 1e9 < _ACTIVE_SECONDS
    ):
        _FOREIGN[key] = time.monotonic()
    seen = _FOREIGN.get(key)
    return seen is not None and time.monotonic() - seen < _ACTIVE_SECONDS


def _written_mark(target: Path) -> Path:
    # Beside the lock file: every writer that takes our lock (any aws-sso-tray process) says
    # there which file it left, so only a change by some other program counts as foreign.
    lock = lock_path_for(target)
    return lock.with_name(lock.stem + ".written")


def _last_locked_write(target: Path) -> tuple[int, int, int, int] | None:
    try:
        fields = tuple(int(x) for x in (read_text(_written_mark(target)) or "").split())
    except (OSError, ValueError, AppError):
        return None
    return (fields[0], fields[1], fields[2], fields[3]) if len(fields) == 4 else None


def _remember_ours(target: Path) -> None:
    """Note, under the lock, which file we left (see `_written_mark`)."""
    with contextlib.suppress(OSError, AppError):  # a lost mark costs one 50 ms wait, no more
        st = target.stat()
        mark = f"{st.st_dev} {st.st_ino} {st.st_size} {st.st_mtime_ns}\n"
        write_atomic(_written_mark(target), mark.encode("ascii"))  # private: checked, no symlink


def _keep_late_appends(target: Path, replaced: int, stamp: FileStamp, depth: int = 0) -> None:
    """Append to `target` what was appended to the file we replaced (`replaced`) after our read."""
    time.sleep(LATE_WRITE_GRACE)
    for _ in range(CHANGED_RETRIES):
        tail = _late_tail(target, replaced, stamp)
        if not tail:
            return
        data, current = read_stamped(target)
        head = data or b""
        if head and not head.endswith((b"\n", b"\r")) and not tail.startswith((b"\n", b"\r")):
            head += b"\n"
        with _opened(target, current) as now_replaced:
            try:
                write_atomic(target, head + tail, unchanged_since=current)
            except FileChangedError:
                continue  # read the file again; the late bytes are still where they were
            _remember_ours(target)
            log.info("kept %d bytes another program appended to %s meanwhile", len(tail), target)
            if now_replaced is not None and depth < CHANGED_RETRIES:
                _keep_late_appends(target, now_replaced, current, depth + 1)
            return
    log.warning("%s kept changing while we kept another program's appends: check it", target)


def _late_tail(target: Path, replaced: int, stamp: FileStamp) -> bytes:
    """What was appended to the replaced file since `stamp` (b"" when nothing was)."""
    assert stamp.identity is not None
    _, _, size, mtime_ns = stamp.identity
    st = os.fstat(replaced)
    if (st.st_size, st.st_mtime_ns) == (size, mtime_ns):
        return b""
    if st.st_size <= size:
        log.warning("another program rewrote %s as we replaced it: check the file", target)
        return b""
    return os.pread(replaced, st.st_size - size, size)


def _encoded(bom: str, chunks: Iterable[str]) -> Iterator[bytes]:
    yield bom.encode("utf-8")
    for chunk in chunks:
        yield chunk.encode("utf-8")


def read_section(path: Path, section: str) -> dict[str, str] | None:
    """The section's keys (lower-cased) and values as botocore sees them, or None when absent.

    A section given twice is merged, later keys winning (configparser's non-strict reading).
    Raises ConfigError for a file we would refuse to edit.
    """
    return read_sections(path, [section])[section]


def read_sections(path: Path, sections: Iterable[str]) -> dict[str, dict[str, str] | None]:
    """`read_section` for each of `sections`, from one parse of the file.

    The file is parsed once per change (`IniDocument.load_shared`), however many sections are
    asked for and however often: the engine asks for every kept-fresh profile's at each change.
    """
    names = list(sections)
    target = resolve_target(Path(path).expanduser())
    if not target.exists():
        return dict.fromkeys(names)
    doc = _CredentialsDocument.load_shared(target)
    doc.refuse_problems(Path(path), Edits())
    return {
        name: effective_values(occurrences) if occurrences else None
        for name, occurrences in doc.occurrences_of(names).items()
    }


def check_writable_section(path: Path, section: str, *, advice: str | None = None) -> None:
    """Raise LongTermKeysError when `[section]` holds long-term keys we did not write there.

    The rule `write_credentials` applies without `force`, for a caller that wants to refuse
    before it promises to write (`auto add`). `advice` replaces the default "what to do" part.
    """
    path = Path(path).expanduser()
    target = resolve_target(path)
    if not target.exists():
        return
    doc = _CredentialsDocument.load_shared(target)
    doc.refuse_problems(path, Edits())
    occurrences = doc.occurrences(section)
    if occurrences:
        record = _RECORDS.load(target).get(section)
        _refuse_long_term_keys(path, section, record, effective_values(occurrences), advice)


def owned_sections(path: Path) -> frozenset[str]:
    """The sections of the file at `path` that we created and that still hold our keys."""
    target = resolve_target(Path(path).expanduser())
    records = _RECORDS.load(target)
    if not records or not target.exists():
        return frozenset()
    doc = _CredentialsDocument.load_shared(target)
    owned = set()
    for name, occurrences in doc.occurrences_of(records).items():
        record = records[name]
        if record.created and occurrences and _is_ours(record, effective_values(occurrences)):
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
        if not isinstance(value, str) or not value or _WHITESPACE.search(value):
            raise ValueError(f"{key} for [{section}] is empty or contains whitespace")
    return values


def _check_section_name(section: str) -> None:
    if section == _DEFAULT_SECTION:
        raise ConfigError(
            "cannot write credentials into [DEFAULT]: configparser copies that section into "
            "every other one; use another profile name"
        )
    header = SECTION_RE.match(f"[{section}]") if section else None
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
    from aws_sso_tray.files.paths import aws_config_file

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


def _refuse_long_term_keys(
    path: Path,
    section: str,
    record: _Record | None,
    effective: Mapping[str, str],
    advice: str | None = None,
) -> None:
    """The one long-term-keys rule: a section with a key id and no session token that we did
    not write (its key is not the one we recorded) is the user's; never overwrite it."""
    if _is_ours(record, effective) or not _holds_long_term_keys(effective):
        return
    raise LongTermKeysError(
        f"[{section}] in {path} holds long-term keys"
        + (
            advice
            or " (aws_access_key_id without aws_session_token): refusing to overwrite them; "
            "use another profile name or --force"
        )
    )


# --------------------------------------------------------------------------------------------
# Planning the edit


class _CredentialsDocument(IniDocument):
    """A credentials file, with the edits that put our keys into a section and take them out."""

    def plan_write(self, name: str, values: Mapping[str, str], edits: Edits) -> None:
        occurrences = self.occurrences(name)
        if not occurrences:
            edits.append.append([f"[{name}]", *(f"{key} = {values[key]}" for key in values)])
            return
        *earlier, last = occurrences
        for section in earlier:
            self._strip_ours(section, edits, drop_if_empty=True)
        kept: list[Option] = []
        for key in OWNED_KEYS:
            options = [option for option in last.options if option.key == key]
            surplus = options
            if key in values and options:
                first, surplus = options[0], options[1:]
                edits.replace[first.line] = self.with_value(first.line, values[key])
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
            after, indent = anchor.line, indent_of(self.lines[anchor.line].text)
        elif others:
            anchor = others[-1]
            after, indent = anchor.last_line, indent_of(self.lines[anchor.line].text)
        else:
            # Only the header: indent like the next header, so it cannot become a continuation
            # of ours.
            after, indent = last.header, self.header_only_indent(last, edits)
        edits.insert_after.setdefault(after, []).extend(
            f"{indent}{key} = {values[key]}" for key in missing
        )

    def plan_remove(self, names: Iterable[str], edits: Edits) -> None:
        going = sorted(
            (section for name in set(names) for section in self.occurrences(name)),
            key=lambda section: section.header,
        )
        # Last first, so a section followed only by sections that go is known to end the file.
        for section in reversed(going):
            dropped = self._strip_ours(section, edits, drop_if_empty=True)
            if dropped and all(i in edits.delete for i in range(section.header, len(self.lines))):
                # The file's last section goes: take the blank line(s) we put before it too.
                index = section.header - 1
                while index >= 0 and not self.lines[index].text.strip():
                    edits.delete.add(index)
                    index -= 1

    def _strip_ours(self, section: Section, edits: Edits, *, drop_if_empty: bool) -> bool:
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


# --------------------------------------------------------------------------------------------
# Verification against configparser itself


def _verify(
    old: str,
    new: str,
    written: Mapping[str, Mapping[str, str]],
    *,
    removed: tuple[str, ...],
) -> None:
    before, after = configparser_views("the credentials file", old, new)
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
    check_edit("the credentials file", after, expected)


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


def _record_from_json(entry: object) -> _Record | None:
    if isinstance(entry, dict) and isinstance(entry.get("key"), str):
        return _Record(bool(entry.get("created")), entry["key"])
    return None


def _record_to_json(record: _Record) -> dict[str, Any]:
    return {"created": record.created, "key": record.key}


# Losing this record only makes us more careful: nothing looks ours, so nothing is removed and
# the long-term-key check applies.
_RECORDS = RecordFile(STATE_FILE_NAME, "credentials sections", _record_from_json, _record_to_json)


def state_file() -> Path:
    """Where we record which credentials-file sections we created."""
    return _RECORDS.path()


__all__ = [
    "ACCESS_KEY_ID",
    "EXPIRATION",
    "OWNED_KEYS",
    "SECRET_ACCESS_KEY",
    "SESSION_TOKEN",
    "check_writable_section",
    "owned_sections",
    "read_section",
    "read_sections",
    "remove_sections",
    "state_file",
    "write_credentials",
    "write_many",
]
