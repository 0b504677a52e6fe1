"""The INI line model botocore's parser agrees with: lines, sections, options, problems,
planned edits, rendering, and the configparser view used to verify an edit.

Both editors of the user's AWS files (`credfile` for the credentials file, `configedit` for the
config) read and write through this model, so a line means the same to both of them and to
botocore. It owns no file and decides nothing about which keys to change: an editor loads an
`IniDocument`, plans its changes as `Edits` (lines to replace, delete, insert after, sections to
append), refuses the file if `refuse_problems` says botocore cannot read it, and renders the new
text, which keeps every byte it was not told to change.

How a file is read
    Exactly as botocore reads it (`botocore.configloader.raw_config_parse`, a strict
    `configparser.RawConfigParser`), using configparser's own regular expressions: a line is a
    comment when it starts with `#` or `;` after any indentation; `[name]` starts a section named
    by everything between the first `[` and the last `]` (`[ dev ]` is a section called " dev ",
    which botocore does not use for profile `dev`, so neither do we); `key = value`, `key=value`
    and `key: value` are options, keys compared lower-cased; a line indented deeper than the
    option above it continues that option's value. Lines end at LF, CRLF or a lone CR, as in
    Python's universal-newline reading.

What makes a file unreadable (an editor leaves it untouched)
    - bytes that are not UTF-8: we would have to guess the encoding;
    - a UTF-8 byte-order mark (U+FEFF) at the start: botocore reads it as part of the first
      line, which is then no header, comment or option, so it refuses the whole file (and so
      do the other SDKs). Removing it would make the file readable, but that byte is the user's
      (their editor put it there, and may again): we name it and the fix instead (line 1),
      never drop it silently. The rest of the file is parsed without it, and `bom` holds it.
    - a line that is none of the above (no `=`/`:`, a key before the first section, an
      indented block under `key =` without `=` in it): botocore rejects the file too, and we
      cannot tell which section the user meant that line to be in. The error names the line.
    A problem inside an option's value is forgiven when the edit replaces that whole option.

How edits are written back
    An edit must not change how a line it keeps is read: `reread` names the kept lines whose role
    (header, option, continuation, ...) the edit would change. The one way that happens is a
    deleted header: a header ends the option above it, so once it is gone a next header indented
    deeper than that option is read as a continuation of its value, and its section vanishes
    into the option. Whoever deletes a header calls `keep_headers_apart`, which asks `reread`
    and de-indents a header the editor writes anyway or else keeps the dropped header.
    The same rule places new options: one inserted right after a header with no options takes
    the indentation of the next header (`header_only_indent`), so that header stays a header.
    Every line keeps its own line ending; a line we add takes the file's (that of its first
    line; LF for a new file), and so does a last line without one that now has lines after it.
    A new section goes at the end of the file, after one blank line.

Reading a file once per change
    `IniDocument.load_shared` keeps the last parse of each file and hands it out again while the
    file is the same: same device, inode, size, mtime and ctime (in ns), so an atomic replace, an
    append, a rewrite or a `touch` is a change. Timestamps are only as fine as the filesystem's
    clock tick (a few ms on Linux, 2 s on FAT), so a same-size rewrite within one tick would look
    unchanged: a file changed less than `SETTLE_SECONDS` ago is parsed but not kept. The shared
    document is only read (`occurrences`, `refuse_problems`); an edit plans on its own
    `load_stamped` parse, the one that checks the bytes before the rename.

Big files
    A credentials file can hold hundreds of thousands of sections. One pass over the text keeps
    only line offsets, section headers and names, and problems; a section's options are parsed
    when the section is asked for. An edit is checked and verified only in its `windows`: the
    sections it touches, bounded by untouched headers, which reset configparser's state; the
    rest is copied as slices of the text.
"""

from __future__ import annotations

import bisect
import configparser
import io
import os
import re
import threading
import time
from array import array
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar, overload

from aws_sso_tray.errors import AppError, ConfigError, FileWriteError
from aws_sso_tray.files.atomicfile import FileStamp, read_stamped

# configparser's own patterns, so a line means to us what it means to botocore.
SECTION_RE = configparser.RawConfigParser.SECTCRE
_OPTION_RE = configparser.RawConfigParser.OPTCRE
_NONSPACE_RE = configparser.RawConfigParser.NONSPACECRE
COMMENT_PREFIXES = ("#", ";")
BOM = "\ufeff"

_Doc = TypeVar("_Doc", bound="IniDocument")

__all__ = [
    "BOM",
    "BOM_PROBLEM",
    "COMMENT_PREFIXES",
    "SECTION_RE",
    "Edits",
    "IniDocument",
    "Line",
    "Option",
    "Problem",
    "Section",
    "check_edit",
    "configparser_view",
    "configparser_views",
    "effective_values",
    "indent_of",
    "split_lines",
]


@dataclass(frozen=True)
class Line:
    text: str  # without its line ending
    end: str  # "\n", "\r\n", "\r", or "" for a last line without one


@dataclass
class Option:
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
class Section:
    name: str
    header: int
    end: int  # one past its last line
    options: list[Option] = field(default_factory=list)


@dataclass(frozen=True)
class Problem:
    line: int
    message: str
    option: Option | None = None  # the option whose value is at fault, if any
    fix: str = "botocore cannot read this file either: fix that line"  # "" when `message` says


BOM_PROBLEM = (
    "the file starts with a byte-order mark (U+FEFF), which the AWS SDKs cannot read: "
    "save it as UTF-8 without BOM"
)


@dataclass
class Edits:
    """The changes planned for a document, by line index of the text as loaded."""

    replace: dict[int, str] = field(default_factory=dict)
    delete: set[int] = field(default_factory=set)
    insert_after: dict[int, list[str]] = field(default_factory=dict)
    append: list[list[str]] = field(default_factory=list)  # new sections, one list each


# One line and its ending; the last line may have none. Only LF, CRLF and a lone CR end a line,
# as in universal-newline reading (not str.splitlines, which also splits at \f, \x1c, ...).
_LINE_RE = re.compile(r"(?=[\s\S])([^\r\n]*)(\r\n?|\n|\Z)")
_CHUNK = 1 << 20  # characters per piece of rendered output


def split_lines(text: str) -> list[Line]:
    """`text` as lines with their endings, split where universal-newline reading splits."""
    return [Line(m.group(1), m.group(2)) for m in _LINE_RE.finditer(text)]


def indent_of(text: str) -> str:
    """The leading whitespace of a line, as configparser measures indentation."""
    match = _NONSPACE_RE.search(text)
    return text[: match.start()] if match else ""


_Item = TypeVar("_Item")


class _OnDemand(Sequence[_Item]):
    """A sequence whose items are made when asked for: subclasses give `__len__` and `_item`."""

    def _item(self, index: int) -> _Item:  # 0 <= index < len(self)
        raise NotImplementedError

    @overload
    def __getitem__(self, index: int) -> _Item: ...
    @overload
    def __getitem__(self, index: slice) -> list[_Item]: ...
    def __getitem__(self, index: int | slice) -> _Item | list[_Item]:
        if isinstance(index, slice):
            return [self._item(i) for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._item(index)


class _Lines(_OnDemand[Line]):
    """The lines of a text, made on demand from their offsets (a big file has millions)."""

    def __init__(self, text: str, starts: array[int]) -> None:
        self._text = text
        self._starts = starts  # one more than there are lines: the end of the text

    def __len__(self) -> int:
        return len(self._starts) - 1

    def _item(self, index: int) -> Line:
        raw = self._text[self._starts[index] : self._starts[index + 1]]
        if raw.endswith("\r\n"):
            return Line(raw[:-2], "\r\n")
        if raw[-1:] in ("\n", "\r") and raw:
            return Line(raw[:-1], raw[-1])
        return Line(raw, "")


class _Sections(_OnDemand[Section]):
    """A document's sections, each parsed when it is first asked for."""

    def __init__(self, doc: IniDocument) -> None:
        self._doc = doc

    def __len__(self) -> int:
        return len(self._doc._headers)

    def _item(self, index: int) -> Section:
        return self._doc._section(index)


class IniDocument:
    """A parsed INI file: its lines, its sections in order, and what botocore rejects.

    Built to stay linear for big files (a credentials file of 400k sections): one pass over the
    text records only where lines start, where sections start and their names, and the lines
    botocore rejects; `lines` and `sections` make their objects when asked for. Planning,
    checking (`reread`, `excerpts`) and rendering look only at the sections an edit touches.
    """

    def __init__(self, text: str, bom: str = "") -> None:
        self.text = text
        self.bom = bom
        self._starts: array[int] = array("q")
        self._headers: array[int] = array("q")  # line index of each section's header
        self._names: list[str] = []
        self._built: dict[int, Section] = {}
        self.problems: list[Problem] = [Problem(0, BOM_PROBLEM, fix="")] if bom else []
        self._parse()
        self.lines: Sequence[Line] = _Lines(text, self._starts)
        self.sections: Sequence[Section] = _Sections(self)
        self._nested_problems()

    @classmethod
    def load(cls: type[_Doc], target: Path) -> _Doc:
        """The file at `target` (an absent file is empty); refuses what is not UTF-8."""
        return cls.load_stamped(target)[0]

    @classmethod
    def load_shared(cls: type[_Doc], target: Path) -> _Doc:
        """`load`, parsed once per change of the file (see the module docstring).

        The document may be shared with other callers: read it, never change it.
        """
        try:
            before = target.stat()
        except OSError:
            return cls.load(target)  # absent (empty), or the error `load` gives
        slot = (cls, str(target))
        with _SHARED_LOCK:
            kept = _SHARED.get(slot)
        if kept is not None and kept[0] == _file_key(before):
            return kept[1]  # type: ignore[return-value]
        doc = cls.load(target)
        try:
            after = target.stat()
        except OSError:
            return doc
        key = _file_key(after)
        if key == _file_key(before) and _settled(after) and after.st_size <= SHARED_MAX_BYTES:
            with _SHARED_LOCK:
                _SHARED[slot] = (key, doc)
        return doc

    @classmethod
    def load_stamped(cls: type[_Doc], target: Path) -> tuple[_Doc, FileStamp]:
        """`load`, and the stamp `atomicfile.write_atomic` checks before replacing the file."""
        try:
            data, stamp = read_stamped(target)
        except IsADirectoryError:
            raise FileWriteError(
                f"{target} is a directory, not a file: move it away and try again"
            ) from None
        except OSError as exc:
            raise FileWriteError(
                f"cannot read {target}: {exc.strerror or exc}; fix its permissions and retry"
            ) from None
        if data is None:
            return cls(""), stamp
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(
                f"{target} is not UTF-8 text (byte {data[exc.start]:#04x} at offset "
                f"{exc.start}): save it as UTF-8 and retry; it was left untouched"
            ) from None
        del data  # a big file: do not hold it twice
        if text.startswith(BOM):
            return cls(text[1:], BOM), stamp
        return cls(text), stamp

    def _parse(self) -> None:
        # A transcription of configparser.RawConfigParser._read (strict, default prefixes,
        # empty lines allowed in values), recording positions instead of building dicts.
        # Options are not kept here (`_section` parses a section's body when asked); this
        # pass only needs to know whether one is current and where the empty-valued (nested)
        # ones have their first continuation.
        starts, headers, names = self._starts, self._headers, self._names
        in_section = False
        has_option = False
        nested = False  # the current option's value started empty: botocore parses it nested
        indent_level = 0
        index = -1
        self._nested_at: list[int] = []  # first continuation of each nested value
        for index, match in enumerate(_LINE_RE.finditer(self.text)):
            starts.append(match.start())
            line = match.group(1)
            stripped = line.strip()
            if not stripped or stripped.startswith(COMMENT_PREFIXES):
                continue
            indent = len(indent_of(line))
            if has_option and in_section and indent > indent_level:
                if nested:
                    self._nested_at.append(index)
                    nested = False  # the option is flagged: its value is checked later
                continue
            indent_level = indent
            header = SECTION_RE.match(stripped)
            if header:
                headers.append(index)
                names.append(header.group("header"))
                in_section, has_option, nested = True, False, False
                continue
            if not in_section:
                self.problems.append(Problem(index, "a setting before the first [section]"))
                continue
            option = _OPTION_RE.match(stripped)
            if option is None:
                # configparser keeps the previous option current after such a line.
                self.problems.append(Problem(index, "not `key = value`, a comment or [section]"))
                continue
            if not option.group("option"):
                self.problems.append(Problem(index, "a value without a key"))
                has_option = nested = False
                continue
            has_option = True
            nested = not option.group("value").strip()
        starts.append(len(self.text))

    def _nested_problems(self) -> None:
        for line in self._nested_at:
            section = self._section(self._section_of(line))
            option = next(o for o in section.options if o.continuations[:1] == [line])
            problem = _nested_problem(option)
            if problem is not None:
                self.problems.append(Problem(problem, "an indented line without `=`", option))

    def _section_of(self, index: int) -> int:
        """The number of the section line `index` is in (-1: before the first header)."""
        return bisect.bisect_right(self._headers, index) - 1

    def _section_end(self, number: int) -> int:
        if number + 1 < len(self._headers):
            return self._headers[number + 1]
        return len(self._starts) - 1

    def _section(self, number: int) -> Section:
        section = self._built.get(number)
        if section is not None:
            return section
        # A header resets configparser's state, so a section's body reads the same on its own.
        header = self._headers[number]
        section = Section(self._names[number], header, self._section_end(number))
        option: Option | None = None
        indent_level = 0
        for index in range(header + 1, section.end):
            text = self.lines[index].text
            stripped = text.strip()
            if stripped.startswith(COMMENT_PREFIXES):
                continue
            if not stripped:
                if option is not None:
                    option.pieces.append("")
                continue
            indent = len(indent_of(text))
            if option is not None and indent > indent_level:
                option.pieces.append(stripped)
                option.continuations.append(index)
                continue
            indent_level = indent
            match = _OPTION_RE.match(stripped)
            if match is None:
                continue  # a problem found by _parse; the previous option stays current
            name = match.group("option")
            if not name:
                option = None
                continue
            option = Option(name.rstrip().lower(), index, pieces=[match.group("value").strip()])
            section.options.append(option)
        self._built[number] = section
        return section

    def occurrences(self, name: str) -> list[Section]:
        found: list[Section] = []
        names = self._names
        start = 0
        while True:
            try:
                number = names.index(name, start)  # no dict of 400k names: a C-speed scan
            except ValueError:
                return found
            found.append(self._section(number))
            start = number + 1

    def occurrences_of(self, names: Iterable[str]) -> dict[str, list[Section]]:
        """`occurrences` of each of `names`, in one pass over the section names."""
        found: dict[str, list[Section]] = {name: [] for name in names}
        for number, name in enumerate(self._names):
            sections = found.get(name)
            if sections is not None:
                sections.append(self._section(number))
        return found

    def is_header(self, index: int) -> bool:
        number = self._section_of(index)
        return number >= 0 and self._headers[number] == index

    def with_value(self, index: int, value: str) -> str:
        """Line `index` (an option) with its value replaced, its key, spacing and indent kept."""
        text = self.lines[index].text
        indent = indent_of(text)
        match = _OPTION_RE.match(text.strip())
        assert match is not None
        head = text[: len(indent) + match.start("value")]
        if not match.group("value") and head[-1:] in "=:":
            head += " "
        return head + value

    def windows(self, edits: Edits) -> list[tuple[int, int]]:
        """The line ranges `[start, end)` that hold every change `edits` make, in order.

        Each range runs from the header of the untouched section before the first touched one
        (or from line 0) to the header of the untouched section after the last one (or the
        end): headers reset configparser's state, so a range reads the same alone as in the
        file, and what lies between ranges is kept byte for byte.
        """
        touched = {
            self._section_of(index)
            for index in (*edits.replace, *edits.delete, *edits.insert_after)
        }
        if edits.append:
            touched.add(len(self._headers) - 1)
        windows: list[tuple[int, int]] = []
        for number in sorted(touched):
            start = self._headers[number - 1] if number >= 1 else 0
            end = self._section_end(number)
            if windows and start <= windows[-1][1]:
                windows[-1] = (windows[-1][0], max(end, windows[-1][1]))
            else:
                windows.append((start, end))
        return windows

    def reread(self, edits: Edits) -> list[int]:
        """The lines `edits` keep that would be read as something else once they are applied.

        A kept header that would become a continuation of the option above it (that option's
        section would swallow it) is the case that matters; see the module docstring. Only the
        `windows` are read, each with the header after it: once that header is still a
        header, everything up to the next window reads as before.
        """
        changed: list[int] = []
        for start, end in self.windows(edits):
            stop = min(end + 1, len(self.lines))  # with the next header
            kept: list[tuple[int, str]] = []  # (index in the loaded text, or -1 for a new line)
            for index in range(start, stop):
                if index not in edits.delete:
                    kept.append((index, edits.replace.get(index, self.lines[index].text)))
                if index < end:
                    kept.extend((-1, text) for text in edits.insert_after.get(index, []))
            # Sections appended at the end start with a header at column 0: nothing above changes.
            before = _roles(self.lines[index].text for index in range(start, stop))
            after = _roles(text for _, text in kept)
            changed += [
                index
                for (index, _), role in zip(kept, after, strict=True)
                if index >= 0 and role != before[index - start]
            ]
        return changed

    def keep_headers_apart(self, edits: Edits, *, written: Collection[str]) -> None:
        """Undo what `edits` would do to a kept header: read it as the option above it.

        That happens when a dropped section's header was what ended that option. A header of
        a section in `written` (one the editor writes anyway) loses its indentation, which
        botocore ignores; for any other header, which is the user's and keeps its bytes, the
        nearest dropped header above it stays. Anything else `reread` reports is left to the
        editor's verification, which refuses the write.
        """
        while True:
            joined = [index for index in self.reread(edits) if self.is_header(index)]
            if not joined:
                return
            index = joined[0]
            text = edits.replace.get(index, self.lines[index].text)
            indent = indent_of(text)
            if self._names[self._section_of(index)] in written and indent:
                edits.replace[index] = text[len(indent) :]
                continue
            dropped = [i for i in edits.delete if i < index and self.is_header(i)]
            if not dropped:
                return
            edits.delete.discard(max(dropped))

    def header_only_indent(self, section: Section, edits: Edits) -> str:
        """The indentation for options inserted right after the header of `section`.

        For a section without options: that of the next kept line that counts, which can only
        be the next header, so it cannot become a continuation of the new options; none at the
        end of the file.
        """
        for index in range(section.header + 1, len(self.lines)):
            text = self.lines[index].text
            if index in edits.delete or not text.strip():
                continue
            if not text.strip().startswith(COMMENT_PREFIXES):
                return indent_of(edits.replace.get(index, text))
        return ""

    # -- checks and output --------------------------------------------------------------------

    def refuse_problems(self, path: Path, edits: Edits) -> None:
        """ConfigError naming the first line botocore rejects that `edits` leave in place."""
        for problem in self.problems:
            if problem.option is not None and set(problem.option.lines) <= edits.delete | set(
                edits.replace
            ):
                continue  # the faulty value is one the edit replaces
            fix = f"; {problem.fix}" if problem.fix else ""
            raise ConfigError(
                f"{path} line {problem.line + 1}: {problem.message}{fix} and retry (the file "
                f"was left untouched)"
            )

    def render(self, edits: Edits) -> str:
        """The text with `edits` applied (without the BOM, which is in `bom`)."""
        return "".join(self.render_chunks(edits))

    def render_chunks(self, edits: Edits) -> Iterator[str]:
        """`render` in pieces of at most about a megabyte, for writing a big file out."""
        yield from self._render_range(edits, 0, len(self.lines), tail=True)

    def excerpts(self, edits: Edits) -> tuple[str, str]:
        """The `windows` of the text before and after `edits`, each joined into one text.

        configparser reads the sections in them as it reads them in the whole file, so
        comparing the two readings checks an edit without reading a big file twice. A
        window's first header loses its indentation (configparser ignores it), so it cannot
        read as a continuation of the window before it.
        """
        old: list[str] = []
        new: list[str] = []
        for start, end in self.windows(edits):
            tail = end == len(self.lines)
            before = self.text[self._starts[start] : self._starts[end]]
            after = "".join(self._render_range(edits, start, end, tail=tail))
            if start > 0:
                indent = indent_of(self.lines[start].text)
                before, after = before[len(indent) :], after[len(indent) :]
            old.append(before)
            new.append(after)
        return "".join(old), "".join(new)

    def _render_range(self, edits: Edits, start: int, end: int, *, tail: bool) -> Iterator[str]:
        # Kept lines go out as slices of the text; only the lines an edit names are visited.
        # `tail`: the range ends the file, so appended sections follow it.
        count = len(self.lines)
        eol = self.lines[0].end if count and self.lines[0].end else "\n"
        marks = {
            index
            for index in (*edits.replace, *edits.delete, *edits.insert_after)
            if start <= index < end
        }
        last = count - 1
        if tail and count and not self.lines[last].end and (edits.append or last in marks):
            marks.add(last)  # a last line without an ending may need one now
        position = start  # the first line not written yet
        for index in sorted(marks):
            if position < index:
                yield from self._slices(position, index)
            line = self.lines[index]
            inserted = edits.insert_after.get(index, [])
            if index not in edits.delete:
                text = edits.replace.get(index, line.text)
                followed = bool(inserted) or (index == last and bool(edits.append))
                yield text + (line.end or (eol if followed else ""))
            for text in inserted:
                yield text + eol
            position = index + 1
        if position < end:
            yield from self._slices(position, end)
        if not (tail and edits.append):
            return
        before = self._last_written(edits, end)
        for section in edits.append:
            if before is not None and before.strip():
                yield eol
                before = ""
            for text in section:
                yield text + eol
                before = text

    def _last_written(self, edits: Edits, end: int) -> str | None:
        """The text of the last line rendered before line `end` (None: there is none)."""
        for index in range(end - 1, -1, -1):
            inserted = edits.insert_after.get(index)
            if inserted:
                return inserted[-1]
            if index not in edits.delete:
                return edits.replace.get(index, self.lines[index].text)
        return None

    def _slices(self, start: int, end: int) -> Iterator[str]:
        begin, finish = self._starts[start], self._starts[end]
        for offset in range(begin, finish, _CHUNK):
            yield self.text[offset : min(offset + _CHUNK, finish)]


# The last parse of each file, by document class and path, with the file's identity then.
SETTLE_SECONDS = 3.0  # a file changed more recently may change again within one mtime tick
SHARED_MAX_BYTES = 8 << 20  # a bigger file is parsed each time rather than held in memory
_SHARED: dict[tuple[type, str], tuple[tuple[int, ...], IniDocument]] = {}
_SHARED_LOCK = threading.Lock()


def _file_key(st: os.stat_result) -> tuple[int, ...]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _settled(st: os.stat_result) -> bool:
    """Whether the file's last change is old enough that a new one will show in its stat."""
    changed = max(st.st_mtime_ns, st.st_ctime_ns)
    return time.time_ns() - changed >= SETTLE_SECONDS * 1e9


def _roles(texts: Iterable[str]) -> list[str]:
    """What configparser reads each line as: the role part of `IniDocument._parse`."""
    roles: list[str] = []
    in_section = False
    has_option = False  # configparser's `optname`: only a header or a keyless line clears it
    indent_level = 0
    for text in texts:
        stripped = text.strip()
        if stripped.startswith(COMMENT_PREFIXES):
            roles.append("comment")
            continue
        if not stripped:
            roles.append("blank")  # part of a value, but neither ends it nor sets the indent
            continue
        indent = len(indent_of(text))
        if in_section and has_option and indent > indent_level:
            roles.append("continuation")
            continue
        indent_level = indent
        if SECTION_RE.match(stripped):
            in_section, has_option = True, False
            roles.append("header")
            continue
        match = _OPTION_RE.match(stripped) if in_section else None
        if match is None:
            roles.append("invalid")  # keeps the option above current, as in configparser
            continue
        has_option = bool(match.group("option"))
        roles.append("option" if has_option else "invalid")
    return roles


def _nested_problem(option: Option) -> int | None:
    # botocore's configloader._parse_nested: a value starting on the next line is read as
    # `key = value` lines and the whole file is refused when one has no `=`.
    value = option.value
    if not value.startswith("\n"):
        return None
    for piece in value.splitlines():
        if piece.strip() and "=" not in piece:
            return option.continuations[0] if option.continuations else option.line
    return None


def effective_values(occurrences: Iterable[Section]) -> dict[str, str]:
    """The keys and values of a section given once or more, later keys winning.

    That is configparser's lenient reading, and what the other SDKs do; botocore refuses a
    section given twice, which `IniDocument.refuse_problems` does not check.
    """
    merged: dict[str, str] = {}
    for section in occurrences:
        for option in section.options:
            merged[option.key] = option.value
    return merged


# --------------------------------------------------------------------------------------------
# Verification against configparser itself


def configparser_view(text: str) -> dict[str, dict[str, str]]:
    """Every section of `text` with its keys and values, as configparser itself reads them.

    Raises configparser.Error for text configparser cannot read even when lenient.
    """
    # Non-strict so a duplicate is merged rather than fatal, and no DEFAULT magic: we compare
    # what is written, section by section.
    parser = configparser.RawConfigParser(strict=False, default_section="\x00none\x00")
    parser.read_file(io.StringIO(text, newline=None))
    return {name: dict(parser.items(name)) for name in parser.sections()}


def configparser_views(
    what: str, old: str, new: str
) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]]]:
    """`configparser_view` of a file's text before and after an edit of ours; AppError (the
    edit is not written) when configparser cannot read either. `what`: "the AWS config"."""
    try:
        return configparser_view(old), configparser_view(new)
    except configparser.Error as exc:
        raise AppError(
            f"could not edit {what} safely ({type(exc).__name__}); it was left "
            f"untouched: please report this"
        ) from None


def check_edit(
    what: str,
    after: dict[str, dict[str, str]],
    expected: dict[str, dict[str, str]],
    *,
    worse: bool = False,
) -> None:
    """AppError (the edit is not written) unless configparser reads the edited file as
    `expected`, naming the sections that differ; `worse`: the edit broke something else."""
    if after != expected or worse:
        changed = sorted(n for n in set(after) | set(expected) if after.get(n) != expected.get(n))
        raise AppError(
            f"could not edit {what} safely (sections {', '.join(changed) or '?'} would "
            f"have changed); it was left untouched: please report this"
        )
