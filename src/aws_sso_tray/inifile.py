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
    Python's universal-newline reading. A UTF-8 BOM is set aside and written back.

What makes a file unreadable (an editor leaves it untouched)
    - bytes that are not UTF-8: we would have to guess the encoding;
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
"""

from __future__ import annotations

import configparser
import io
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from aws_sso_tray.errors import ConfigError, FileWriteError

# configparser's own patterns, so a line means to us what it means to botocore.
SECTION_RE = configparser.RawConfigParser.SECTCRE
_OPTION_RE = configparser.RawConfigParser.OPTCRE
_NONSPACE_RE = configparser.RawConfigParser.NONSPACECRE
COMMENT_PREFIXES = ("#", ";")
BOM = "\ufeff"

_Doc = TypeVar("_Doc", bound="IniDocument")

__all__ = [
    "BOM",
    "COMMENT_PREFIXES",
    "SECTION_RE",
    "Edits",
    "IniDocument",
    "Line",
    "Option",
    "Problem",
    "Section",
    "configparser_view",
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


@dataclass
class Edits:
    """The changes planned for a document, by line index of the text as loaded."""

    replace: dict[int, str] = field(default_factory=dict)
    delete: set[int] = field(default_factory=set)
    insert_after: dict[int, list[str]] = field(default_factory=dict)
    append: list[list[str]] = field(default_factory=list)  # new sections, one list each


def split_lines(text: str) -> list[Line]:
    """`text` as lines with their endings, split where universal-newline reading splits."""
    lines: list[Line] = []
    start = 0
    i = 0
    length = len(text)
    while i < length:
        char = text[i]
        if char == "\n" or char == "\r":
            end = "\r\n" if text.startswith("\r\n", i) else char
            lines.append(Line(text[start:i], end))
            i += len(end)
            start = i
        else:
            i += 1
    if start < length:
        lines.append(Line(text[start:], ""))
    return lines


def indent_of(text: str) -> str:
    """The leading whitespace of a line, as configparser measures indentation."""
    match = _NONSPACE_RE.search(text)
    return text[: match.start()] if match else ""


class IniDocument:
    """A parsed INI file: its lines, its sections in order, and what botocore rejects."""

    def __init__(self, text: str, bom: str = "") -> None:
        self.text = text
        self.bom = bom
        self.lines = split_lines(text)
        self.sections: list[Section] = []
        self.problems: list[Problem] = []
        self._parse()

    @classmethod
    def load(cls: type[_Doc], target: Path) -> _Doc:
        """The file at `target` (an absent file is empty); refuses what is not UTF-8."""
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
        if text.startswith(BOM):
            return cls(text[1:], BOM)
        return cls(text)

    def _parse(self) -> None:
        # A transcription of configparser.RawConfigParser._read (strict, default prefixes,
        # empty lines allowed in values), recording positions instead of building dicts.
        section: Section | None = None
        option: Option | None = None
        indent_level = 0
        for index, line in enumerate(self.lines):
            stripped = line.text.strip()
            if stripped.startswith(COMMENT_PREFIXES):
                continue
            if not stripped:
                if option is not None:
                    option.pieces.append("")
                continue
            indent = len(indent_of(line.text))
            if section is not None and option is not None and indent > indent_level:
                option.pieces.append(stripped)
                option.continuations.append(index)
                continue
            indent_level = indent
            header = SECTION_RE.match(stripped)
            if header:
                if section is not None:
                    section.end = index
                section = Section(header.group("header"), index, len(self.lines))
                self.sections.append(section)
                option = None
                continue
            if section is None:
                self.problems.append(Problem(index, "a setting before the first [section]"))
                continue
            match = _OPTION_RE.match(stripped)
            if match is None:
                # configparser keeps the previous option current after such a line.
                self.problems.append(Problem(index, "not `key = value`, a comment or [section]"))
                continue
            name = match.group("option")
            if not name:
                self.problems.append(Problem(index, "a value without a key"))
                option = None
                continue
            option = Option(name.rstrip().lower(), index, pieces=[match.group("value").strip()])
            section.options.append(option)
        for section_ in self.sections:
            for option_ in section_.options:
                problem = _nested_problem(option_)
                if problem is not None:
                    self.problems.append(Problem(problem, "an indented line without `=`", option_))

    def occurrences(self, name: str) -> list[Section]:
        return [section for section in self.sections if section.name == name]

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

    def reread(self, edits: Edits) -> list[int]:
        """The lines `edits` keep that would be read as something else once they are applied.

        A kept header that would become a continuation of the option above it (that option's
        section would swallow it) is the case that matters; see the module docstring.
        """
        kept: list[tuple[int, str]] = []  # (index in the loaded text, or -1 for a new line)
        for index, line in enumerate(self.lines):
            if index not in edits.delete:
                kept.append((index, edits.replace.get(index, line.text)))
            kept.extend((-1, text) for text in edits.insert_after.get(index, []))
        # Sections appended at the end start with a header at column 0: nothing above changes.
        before = _roles(line.text for line in self.lines)
        after = _roles(text for _, text in kept)
        return [
            index
            for (index, _), role in zip(kept, after, strict=True)
            if index >= 0 and role != before[index]
        ]

    def keep_headers_apart(self, edits: Edits, *, written: Collection[str]) -> None:
        """Undo what `edits` would do to a kept header: read it as the option above it.

        That happens when a dropped section's header was what ended that option. A header of
        a section in `written` (one the editor writes anyway) loses its indentation, which
        botocore ignores; for any other header, which is the user's and keeps its bytes, the
        nearest dropped header above it stays. Anything else `reread` reports is left to the
        editor's verification, which refuses the write.
        """
        headers = {section.header: section for section in self.sections}
        while True:
            joined = [index for index in self.reread(edits) if index in headers]
            if not joined:
                return
            index = joined[0]
            text = edits.replace.get(index, self.lines[index].text)
            indent = indent_of(text)
            if headers[index].name in written and indent:
                edits.replace[index] = text[len(indent) :]
                continue
            dropped = [header for header in headers if header < index and header in edits.delete]
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
            raise ConfigError(
                f"{path} line {problem.line + 1}: {problem.message}; botocore cannot read this "
                f"file either: fix that line and retry (the file was left untouched)"
            )

    def render(self, edits: Edits) -> str:
        """The text with `edits` applied (without the BOM, which is in `bom`)."""
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
