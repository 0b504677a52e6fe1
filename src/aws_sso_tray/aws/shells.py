"""Environment variables written for each shell: `export --format env|env-no-export|powershell|
windows-cmd|fish` (and `container`'s two variables).

The format names and, for the values role credentials have (letters, digits, `+/=`), the output
are the AWS CLI's own (`aws configure export-credentials --format`): `export K=V`, `K=V`,
`$Env:K="V"`, `set K=V`, `set -gx K "V"`. The AWS CLI writes values as they are; here any other
value is quoted so that the shell reads back exactly that value and runs or expands nothing in
it (a `'`, `"`, `$`, backquote, `%`, space, newline): POSIX shells get `shlex.quote`, which is
also what `export --env` printed before, PowerShell and fish single quotes with their own
escapes, cmd carets. A value a shell cannot hold (a NUL; a line break for cmd) is a ValueError,
never a line that means something else.

Standard library only, imported by `export` alone (credential-process never loads it).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping

# The characters every format writes as they are (role credentials and times use nothing else).
_PLAIN = re.compile(r"[A-Za-z0-9+/=._:,@-]*")


def posix_quote(value: str) -> str:
    """A word sh, bash, zsh and dash read back as `value` (`shlex.quote`)."""
    _no_nul(value)
    return shlex.quote(value)


def fish_quote(value: str) -> str:
    """A word fish reads back as `value`: `"V"` as the AWS CLI writes it when plain, else single
    quotes, in which fish knows only the escapes `\\\\` and `\\'`."""
    _no_nul(value)
    if _PLAIN.fullmatch(value):
        return f'"{value}"'
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


# PowerShell ends a single-quoted string at any of these (the typographic ones too); doubling
# one inside the string is its escape. Nothing else is special there: no `$`, no backquote.
_PS_SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"


def powershell_quote(value: str) -> str:
    """A PowerShell string that is `value`: `"V"` as the AWS CLI writes it when plain (no `$`,
    backquote or quote to expand), else a single-quoted (verbatim) string."""
    _no_nul(value)
    if _PLAIN.fullmatch(value):
        return f'"{value}"'
    return "'" + "".join(c + c if c in _PS_SINGLE_QUOTES else c for c in value) + "'"


# cmd's operators and quote, escaped with a caret outside quotes (there are none: `"` itself is
# escaped). `!` only matters with delayed expansion on, and the caret is harmless without.
_CMD_SPECIAL = frozenset('^&|<>()"!')


def cmd_value(value: str) -> str:
    """The text after `set NAME=` that the cmd prompt stores as `value`.

    Operators are caret-escaped. `%` cannot be escaped at the prompt, so a caret follows it:
    the prompt expands `%NAME%` before it removes carets, and finds no variable named `^...`,
    so it leaves the text, and the caret then disappears (escaping the next character, which
    is why that one gets no caret of its own). A batch file expands `%` differently: these
    lines are for the prompt, as the AWS CLI's are."""
    _no_nul(value)
    if "\r" in value or "\n" in value:
        raise ValueError("a value with a line break cannot be set in cmd")
    out: list[str] = []
    escaped = False  # the previous character left a caret that escapes this one
    for index, char in enumerate(value):
        if char in _CMD_SPECIAL and not escaped:
            out.append("^")
        out.append(char)
        escaped = char == "%" and index < len(value) - 1
        if escaped:
            out.append("^")
    return "".join(out)


def _no_nul(value: str) -> None:
    if "\0" in value:
        raise ValueError("an environment variable cannot hold a NUL character")


_LINES: dict[str, Callable[[str, str], str]] = {
    "env": lambda name, value: f"export {name}={posix_quote(value)}",
    "env-no-export": lambda name, value: f"{name}={posix_quote(value)}",
    "powershell": lambda name, value: f"$Env:{name}={powershell_quote(value)}",
    "windows-cmd": lambda name, value: f"set {name}={cmd_value(value)}",
    "fish": lambda name, value: f"set -gx {name} {fish_quote(value)}",
}
SHELL_FORMATS = tuple(_LINES)


def variable_lines(variables: Mapping[str, str], shell: str) -> str:
    """One line per variable (each ending in a newline) that sets it in `shell`, one of
    SHELL_FORMATS. Names must be plain (ours are: `AWS_...`)."""
    line = _LINES[shell]
    for name in variables:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(f"not a variable name: {name!r}")
    return "".join(line(name, value) + "\n" for name, value in variables.items())
