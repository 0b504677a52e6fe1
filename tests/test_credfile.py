"""credfile.py: the credentials-file editor, judged byte for byte and by botocore's own parser.

Unit tests pin exact bytes for each layout we promise to keep; property tests (hypothesis)
generate arbitrary credentials files and check with `botocore.configloader.raw_config_parse`
that only the target section changed; a concurrency test runs several writer processes against
one file while a reader checks it is never seen half-written.
"""

from __future__ import annotations

import configparser
import io
import json
import os
import stat
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from botocore.configloader import raw_config_parse
from botocore.exceptions import ConfigParseError
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from aws_sso_tray.errors import (
    AppError,
    ConfigError,
    ExitCode,
    FileWriteError,
    LongTermKeysError,
)
from aws_sso_tray.files import credfile
from waiting import wait_for

UTC = timezone.utc
EXPIRES = datetime(2026, 11, 25, 23, 42, 31, tzinfo=UTC)


@dataclass(frozen=True)
class Creds:
    """Structurally a `rolecreds.RoleCredentials` (the `formats.Credentials` protocol)."""

    access_key_id: str
    secret_access_key: str
    session_token: str | None
    expiration: datetime | None


def creds(n: int = 1, *, token: bool = True, expiration: bool = True) -> Creds:
    return Creds(
        f"ASIAEXAMPLE{n:05d}",
        f"secret/{n}+abc",
        f"token{n}//xyz==" if token else None,
        EXPIRES if expiration else None,
    )


def block(n: int = 1, eol: str = "\n") -> str:
    """The four lines we write for `creds(n)`."""
    c = creds(n)
    return (
        f"aws_access_key_id = {c.access_key_id}{eol}"
        f"aws_secret_access_key = {c.secret_access_key}{eol}"
        f"aws_session_token = {c.session_token}{eol}"
        f"aws_credential_expiration = 2026-11-25T23:42:31Z{eol}"
    )


def keys(n: int, *names: str, eol: str = "\n") -> str:
    """Our lines for `creds(n)` in the given order: names from id, secret, token, exp."""
    by_name = dict(
        zip(("id", "secret", "token", "exp"), block(n, eol).splitlines(keepends=True), strict=True)
    )
    return "".join(by_name[name] for name in names)


@pytest.fixture
def cred_file(home: Path) -> Path:
    return home / ".aws" / "credentials"


def write(path: Path, text: str | bytes) -> None:
    path.write_bytes(text.encode() if isinstance(text, str) else text)


def botocore_view(path: Path) -> dict[str, Any]:
    return raw_config_parse(str(path))


# --------------------------------------------------------------------------------------------
# Creating and appending


def test_new_file_is_created_with_the_section_and_mode_0600(cred_file: Path) -> None:
    cred_file.parent.rmdir()  # the folder too
    credfile.write_credentials(cred_file, "dev", creds())
    assert cred_file.read_text() == "[dev]\n" + block()
    assert stat.S_IMODE(cred_file.stat().st_mode) == 0o600
    assert botocore_view(cred_file)["dev"]["aws_session_token"] == "token1//xyz=="


def test_missing_section_is_appended_after_one_blank_line(cred_file: Path) -> None:
    write(cred_file, "[default]\nregion = eu-west-1\n")
    credfile.write_credentials(cred_file, "dev", creds())
    assert cred_file.read_text() == "[default]\nregion = eu-west-1\n\n[dev]\n" + block()


def test_append_to_file_without_final_newline(cred_file: Path) -> None:
    write(cred_file, "[default]\nregion = eu-west-1")
    credfile.write_credentials(cred_file, "dev", creds())
    assert cred_file.read_text() == "[default]\nregion = eu-west-1\n\n[dev]\n" + block()


def test_append_after_trailing_blank_line_adds_no_second_one(cred_file: Path) -> None:
    write(cred_file, "[default]\nregion = eu-west-1\n\n")
    credfile.write_credentials(cred_file, "dev", creds())
    assert cred_file.read_text() == "[default]\nregion = eu-west-1\n\n[dev]\n" + block()


def test_append_uses_the_files_crlf_line_ending(cred_file: Path) -> None:
    write(cred_file, b"# mine\r\n[default]\r\nregion = eu-west-1\r\n")
    credfile.write_credentials(cred_file, "dev", creds())
    expected = "# mine\r\n[default]\r\nregion = eu-west-1\r\n\r\n[dev]\r\n" + block(eol="\r\n")
    assert cred_file.read_bytes() == expected.encode()


def test_lone_cr_line_endings_are_kept(cred_file: Path) -> None:
    write(cred_file, b"[default]\rregion = x\r")
    credfile.write_credentials(cred_file, "dev", creds())
    assert cred_file.read_bytes() == ("[default]\rregion = x\r\r[dev]\r" + block(eol="\r")).encode()
    assert botocore_view(cred_file)["default"] == {"region": "x"}


def test_two_sections_appended_in_one_write_many(cred_file: Path) -> None:
    write(cred_file, "[default]\nregion = x\n")
    credfile.write_many(cred_file, {"a": creds(1), "b": creds(2)})
    assert cred_file.read_text() == (
        "[default]\nregion = x\n\n[a]\n" + block(1) + "\n[b]\n" + block(2)
    )


# --------------------------------------------------------------------------------------------
# Editing a section in place


def test_only_our_keys_change_everything_else_byte_identical(cred_file: Path) -> None:
    original = (
        "# my credentials\n"
        "[default]\n"
        "aws_access_key_id = AKIAUSERKEY\n"
        "aws_secret_access_key = usersecret\n"
        "\n"
        "[dev]\n"
        "region = eu-west-1\n"
        "# refreshed by the tray\n"
        "aws_access_key_id = ASIAOLD\n"
        "aws_secret_access_key = oldsecret\n"
        "aws_session_token = oldtoken\n"
        "aws_credential_expiration = 2020-01-01T00:00:00Z\n"
        "output = json\n"
        "\n"
        "; last words\n"
        "[prod]\n"
        "region = us-east-1"
    )
    write(cred_file, original)
    credfile.write_credentials(cred_file, "dev", creds())
    assert cred_file.read_text() == original.replace(
        "aws_access_key_id = ASIAOLD\n"
        "aws_secret_access_key = oldsecret\n"
        "aws_session_token = oldtoken\n"
        "aws_credential_expiration = 2020-01-01T00:00:00Z\n",
        block(),
    )


def test_odd_case_and_spacing_of_our_keys_are_matched_and_their_spelling_kept(
    cred_file: Path,
) -> None:
    write(
        cred_file,
        "[dev]\n"
        "  AWS_ACCESS_KEY_ID=ASIAOLD\n"
        "Aws_Secret_Access_Key :  oldsecret\n"
        "aws_session_token\t=\toldtoken\n"
        "aws_credential_expiration=\n",
    )
    credfile.write_credentials(cred_file, "dev", creds())
    assert cred_file.read_text() == (
        "[dev]\n"
        "  AWS_ACCESS_KEY_ID=ASIAEXAMPLE00001\n"
        "Aws_Secret_Access_Key :  secret/1+abc\n"
        "aws_session_token\t=\ttoken1//xyz==\n"
        "aws_credential_expiration= 2026-11-25T23:42:31Z\n"
    )
    assert botocore_view(cred_file)["dev"]["aws_session_token"] == "token1//xyz=="


def test_duplicate_of_our_key_is_collapsed_so_botocore_reads_the_file_again(
    cred_file: Path,
) -> None:
    write(
        cred_file,
        "[dev]\n"
        "AWS_Access_Key_Id = ASIAOLD1\n"
        "region = eu-west-1\n"
        "aws_access_key_id = ASIAOLD2\n"
        "aws_secret_access_key = s\n"
        "aws_session_token = t\n",
    )
    with pytest.raises(ConfigParseError):
        botocore_view(cred_file)
    credfile.write_credentials(cred_file, "dev", creds(expiration=False))
    assert cred_file.read_text() == (
        "[dev]\n"
        "AWS_Access_Key_Id = ASIAEXAMPLE00001\n"
        "region = eu-west-1\n"
        "aws_secret_access_key = secret/1+abc\n"
        "aws_session_token = token1//xyz==\n"
    )
    assert botocore_view(cred_file)["dev"]["aws_access_key_id"] == "ASIAEXAMPLE00001"


def test_no_session_token_removes_the_old_token_and_expiration(cred_file: Path) -> None:
    write(
        cred_file,
        "[dev]\naws_access_key_id = ASIAOLD\naws_session_token = old\n"
        "aws_credential_expiration = 2020-01-01T00:00:00Z\nregion = x\n",
    )
    credfile.write_credentials(cred_file, "dev", creds(token=False, expiration=False))
    assert cred_file.read_text() == (
        "[dev]\naws_access_key_id = ASIAEXAMPLE00001\n"
        "aws_secret_access_key = secret/1+abc\nregion = x\n"
    )


def test_continuation_lines_of_an_old_value_go_with_it(cred_file: Path) -> None:
    write(
        cred_file,
        "[dev]\naws_session_token = part1\n  part2\n# note\n  part3\nregion = x\n",
    )
    assert botocore_view(cred_file)["dev"]["aws_session_token"] == "part1\npart2\npart3"
    credfile.write_credentials(cred_file, "dev", creds(expiration=False))
    assert cred_file.read_text() == (
        "[dev]\n" + keys(1, "token", "id", "secret") + "# note\nregion = x\n"
    )


def test_missing_keys_go_after_the_last_option_not_after_trailing_comments(
    cred_file: Path,
) -> None:
    write(cred_file, "[dev]\nregion = x\n  more\n\n# about prod\n[prod]\nregion = y\n")
    credfile.write_credentials(cred_file, "dev", creds())
    assert cred_file.read_text() == (
        "[dev]\nregion = x\n  more\n" + block() + "\n# about prod\n[prod]\nregion = y\n"
    )


def test_inserted_keys_take_the_indentation_of_indented_options(cred_file: Path) -> None:
    # With "  region" indented, an unindented new line would turn "  output" into its
    # continuation line.
    write(cred_file, "[dev]\n  region = x\n  output = json\n")
    credfile.write_credentials(cred_file, "dev", creds(token=False, expiration=False))
    assert cred_file.read_text() == (
        "[dev]\n  region = x\n  output = json\n"
        "  aws_access_key_id = ASIAEXAMPLE00001\n  aws_secret_access_key = secret/1+abc\n"
    )
    assert botocore_view(cred_file)["dev"]["output"] == "json"


def test_empty_section_before_an_indented_header(cred_file: Path) -> None:
    write(cred_file, "[dev]\n   [prod]\n   region = y\n")
    credfile.write_credentials(cred_file, "dev", creds(token=False, expiration=False))
    parsed = botocore_view(cred_file)
    assert parsed["prod"] == {"region": "y"}
    assert parsed["dev"]["aws_access_key_id"] == "ASIAEXAMPLE00001"


def test_missing_final_newline_is_kept_when_the_end_is_not_ours(cred_file: Path) -> None:
    write(cred_file, "[dev]\naws_access_key_id = A\naws_session_token = T\n[prod]\nregion = y")
    credfile.write_credentials(cred_file, "dev", creds())
    assert cred_file.read_text() == (
        "[dev]\n" + keys(1, "id", "token", "secret", "exp") + "[prod]\nregion = y"
    )


def test_crlf_section_edited_in_place_keeps_crlf(cred_file: Path) -> None:
    write(cred_file, b"[dev]\r\naws_access_key_id = A\r\naws_session_token = T\r\nregion = x\r\n")
    credfile.write_credentials(cred_file, "dev", creds())
    lines = block(eol="\r\n").splitlines(keepends=True)
    expected = "[dev]\r\n" + lines[0] + lines[2] + lines[1] + lines[3] + "region = x\r\n"
    assert cred_file.read_bytes() == expected.encode()


@pytest.mark.parametrize("rest", ["[default]\nregion = x\n", "# mine\n[dev]\n", "\n", ""])
def test_a_utf8_bom_is_refused_naming_line_1_and_left_in_place(cred_file: Path, rest: str) -> None:
    # botocore (and every SDK) reads the BOM as part of line 1 and rejects the whole file; the
    # byte is the user's, so we say so rather than write into a file no SDK reads, or drop it.
    original = ("\ufeff" + rest).encode()
    write(cred_file, original)
    with pytest.raises(ConfigParseError):
        botocore_view(cred_file)
    with pytest.raises(ConfigError) as info:
        credfile.write_credentials(cred_file, "dev", creds())
    assert info.value.message == (
        f"{cred_file} line 1: the file starts with a byte-order mark (U+FEFF), which the AWS "
        "SDKs cannot read: save it as UTF-8 without BOM and retry (the file was left untouched)"
    )
    assert cred_file.read_bytes() == original
    with pytest.raises(ConfigError, match="line 1: the file starts with a byte-order mark"):
        credfile.read_section(cred_file, "dev")
    # Saved without it, the same text is edited as usual.
    write(cred_file, rest.encode())
    credfile.write_credentials(cred_file, "dev", creds())
    assert not cred_file.read_bytes().startswith(b"\xef\xbb\xbf")


def test_header_with_trailing_comment_is_the_section(cred_file: Path) -> None:
    write(cred_file, "[dev] ; from the tray\naws_access_key_id = A\naws_session_token = T\n")
    credfile.write_credentials(cred_file, "dev", creds())
    assert cred_file.read_text() == "[dev] ; from the tray\n" + keys(
        1, "id", "token", "secret", "exp"
    )


def test_spaces_inside_brackets_make_another_section_as_for_botocore(cred_file: Path) -> None:
    write(cred_file, "[ dev ]\nregion = x\n")
    assert set(botocore_view(cred_file)) == {" dev "}
    credfile.write_credentials(cred_file, "dev", creds())
    assert cred_file.read_text() == "[ dev ]\nregion = x\n\n[dev]\n" + block()


def test_section_names_are_case_sensitive(cred_file: Path) -> None:
    write(cred_file, "[Dev]\nregion = x\n")
    credfile.write_credentials(cred_file, "dev", creds())
    assert cred_file.read_text() == "[Dev]\nregion = x\n\n[dev]\n" + block()


def test_mode_0644_becomes_0600(cred_file: Path) -> None:
    write(cred_file, "[default]\nregion = x\n")
    cred_file.chmod(0o644)
    credfile.write_credentials(cred_file, "dev", creds())
    assert stat.S_IMODE(cred_file.stat().st_mode) == 0o600


# --------------------------------------------------------------------------------------------
# A section given twice


def test_earlier_duplicate_holding_only_our_keys_is_dropped(cred_file: Path) -> None:
    write(
        cred_file,
        "[dev]\naws_access_key_id = A\naws_session_token = T\n\n"
        "[prod]\nregion = y\n\n"
        "[dev]\nregion = x\naws_access_key_id = B\naws_session_token = T2\n",
    )
    credfile.write_credentials(cred_file, "dev", creds())
    assert cred_file.read_text() == "[prod]\nregion = y\n\n[dev]\nregion = x\n" + keys(
        1, "id", "token", "secret", "exp"
    )
    assert botocore_view(cred_file)["dev"]["region"] == "x"


def test_earlier_duplicate_with_other_content_keeps_it_and_loses_our_keys(
    cred_file: Path,
) -> None:
    write(
        cred_file,
        "[dev]\nregion = x\naws_access_key_id = A\naws_session_token = T\n"
        "[dev]\naws_access_key_id = B\naws_session_token = T2\n",
    )
    credfile.write_credentials(cred_file, "dev", creds())
    assert cred_file.read_text() == "[dev]\nregion = x\n[dev]\n" + keys(
        1, "id", "token", "secret", "exp"
    )
    assert credfile.read_section(cred_file, "dev") == {
        "region": "x",
        "aws_access_key_id": "ASIAEXAMPLE00001",
        "aws_secret_access_key": "secret/1+abc",
        "aws_session_token": "token1//xyz==",
        "aws_credential_expiration": "2026-11-25T23:42:31Z",
    }


def test_dropped_duplicate_keeps_an_indented_header_of_ours_a_header(cred_file: Path) -> None:
    # The minimal form of a case hypothesis found: the empty second [default] is dropped, and
    # without its header " [default] ; note" (indented deeper than `region`) would be read as a
    # continuation of region's value. It is a header of the section we write: it loses its
    # indentation, its comment stays.
    write(cred_file, "[default]\r\nregion = x\r\n   0\r\n[default]\r\n [default] ; note")
    credfile.write_credentials(cred_file, "default", creds())
    expected = (
        b"[default]\r\nregion = x\r\n   0\r\n[default] ; note\r\n" + block(1, "\r\n").encode()
    )
    assert cred_file.read_bytes() == expected
    assert credfile.read_section(cred_file, "default") == {
        "region": "x\n0",
        **dict(line.split(" = ") for line in block(1).splitlines()),
    }


def test_dropped_duplicate_made_readable_when_only_our_header_was_indented(
    cred_file: Path,
) -> None:
    write(cred_file, "[a]\nx = 1\n[dev]\n\n [dev]\nregion = y\n")
    credfile.write_credentials(cred_file, "dev", creds())
    assert cred_file.read_text() == "[a]\nx = 1\n[dev]\nregion = y\n" + block(1)
    assert botocore_view(cred_file) == {
        "a": {"x": "1"},
        "dev": {"region": "y", **dict(line.split(" = ") for line in block(1).splitlines())},
    }


def test_dropped_duplicate_header_stays_before_another_sections_indented_header(
    cred_file: Path,
) -> None:
    # "    [b]" is the user's: its bytes stay, so the earlier [dev] keeps its header (emptied)
    # rather than letting [b] become part of x's value. The file keeps its duplicate.
    write(
        cred_file,
        "[a]\nx = 1\n[dev]\n    aws_access_key_id = A\n    [b]\ny = 2\n"
        "[dev]\naws_access_key_id = B\naws_session_token = T\n",
    )
    credfile.write_credentials(cred_file, "dev", creds())
    assert cred_file.read_text() == (
        "[a]\nx = 1\n[dev]\n    [b]\ny = 2\n[dev]\n" + keys(1, "id", "token", "secret", "exp")
    )
    assert credfile.read_section(cred_file, "b") == {"y": "2"}
    assert credfile.read_section(cred_file, "a") == {"x": "1"}


def test_remove_keeps_the_header_that_keeps_the_next_section_apart(cred_file: Path) -> None:
    write(cred_file, "[a]\nx = 1\n")
    credfile.write_credentials(cred_file, "dev", creds())
    text = cred_file.read_text().replace("aws_", " aws_") + " [b]\ny = 2\n"
    write(cred_file, text)  # our keys indented, the user's [b] after them at the same depth
    assert credfile.remove_sections(cred_file, ["dev"]) == ("dev",)
    assert cred_file.read_text() == "[a]\nx = 1\n\n[dev]\n [b]\ny = 2\n"
    assert botocore_view(cred_file) == {"a": {"x": "1"}, "dev": {}, "b": {"y": "2"}}


# --------------------------------------------------------------------------------------------
# Long-term keys


def test_long_term_keys_are_refused_and_the_file_is_untouched(cred_file: Path) -> None:
    original = b"[default]\naws_access_key_id = AKIAUSER\naws_secret_access_key = s\n"
    write(cred_file, original)
    cred_file.chmod(0o644)
    with pytest.raises(LongTermKeysError) as info:
        credfile.write_credentials(cred_file, "default", creds())
    assert info.value.exit_code == ExitCode.LONG_TERM_KEYS
    assert int(ExitCode.LONG_TERM_KEYS) == 5
    assert "[default]" in info.value.message and "\n" not in info.value.message
    assert cred_file.read_bytes() == original
    assert stat.S_IMODE(cred_file.stat().st_mode) == 0o644


def test_force_overwrites_long_term_keys(cred_file: Path) -> None:
    write(cred_file, "[default]\naws_access_key_id = AKIAUSER\naws_secret_access_key = s\n")
    credfile.write_credentials(cred_file, "default", creds(), force=True)
    assert cred_file.read_text() == "[default]\n" + block()


def test_write_many_writes_nothing_when_one_section_is_refused(cred_file: Path) -> None:
    original = b"[default]\naws_access_key_id = AKIAUSER\naws_secret_access_key = s\n"
    write(cred_file, original)
    with pytest.raises(LongTermKeysError):
        credfile.write_many(cred_file, {"dev": creds(1), "default": creds(2)})
    assert cred_file.read_bytes() == original


def test_our_section_with_its_token_stripped_is_not_long_term(cred_file: Path) -> None:
    credfile.write_credentials(cred_file, "dev", creds(1))
    text = cred_file.read_text().replace("aws_session_token = token1//xyz==\n", "")
    write(cred_file, text)
    credfile.write_credentials(cred_file, "dev", creds(2))
    assert cred_file.read_text() == "[dev]\n" + keys(2, "id", "secret", "exp", "token")


def test_user_keys_put_in_our_section_are_protected_again(cred_file: Path) -> None:
    credfile.write_credentials(cred_file, "dev", creds(1))
    write(cred_file, "[dev]\naws_access_key_id = AKIAUSER\naws_secret_access_key = s\n")
    with pytest.raises(LongTermKeysError):
        credfile.write_credentials(cred_file, "dev", creds(2))


def test_empty_token_counts_as_none(cred_file: Path) -> None:
    write(cred_file, "[dev]\naws_access_key_id = AKIAUSER\naws_session_token =\n")
    with pytest.raises(LongTermKeysError):
        credfile.write_credentials(cred_file, "dev", creds())


def test_session_keys_of_another_tool_are_not_long_term(cred_file: Path) -> None:
    write(cred_file, "[dev]\naws_access_key_id = ASIAOTHER\naws_session_token = T\n")
    credfile.write_credentials(cred_file, "dev", creds())
    assert cred_file.read_text() == "[dev]\n" + keys(1, "id", "token", "secret", "exp")


# --------------------------------------------------------------------------------------------
# Refusals


def test_never_writes_into_the_aws_config_file(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = home / ".aws" / "config"
    write(config, "[profile dev]\nregion = x\n")
    with pytest.raises(FileWriteError, match="AWS config file"):
        credfile.write_credentials(config, "dev", creds())
    other = home / "elsewhere.ini"
    write(other, "[default]\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(other))
    with pytest.raises(FileWriteError):
        credfile.write_credentials(other, "dev", creds())
    link = home / "link"
    link.symlink_to(config)
    with pytest.raises(FileWriteError):
        credfile.write_credentials(link, "dev", creds())
    assert config.read_text() == "[profile dev]\nregion = x\n"
    assert other.read_text() == "[default]\n"


def test_not_utf8_is_refused(cred_file: Path) -> None:
    original = "[dev]\n# caf\xe9\n".encode("latin-1")
    write(cred_file, original)
    with pytest.raises(ConfigError, match="not UTF-8"):
        credfile.write_credentials(cred_file, "dev", creds())
    assert cred_file.read_bytes() == original


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("[default]\nregion = x\n[dev\naws_access_key_id = A\n", 3),  # a broken header
        ("region = x\n[dev]\n", 1),  # a key before any section
        ("[dev]\n= value\n", 2),  # no key
        ("[prod]\ns3 =\n  addressing_style\n", 3),  # botocore's nested values need `=`
    ],
)
def test_lines_botocore_rejects_are_refused_with_their_number(
    cred_file: Path, text: str, line: int
) -> None:
    write(cred_file, text)
    with pytest.raises(ConfigParseError):
        botocore_view(cred_file)
    with pytest.raises(ConfigError, match=f"line {line}:") as info:
        credfile.write_credentials(cred_file, "dev", creds())
    assert "\n" not in info.value.message
    assert cred_file.read_text() == text


def test_a_broken_nested_value_of_ours_is_simply_replaced(cred_file: Path) -> None:
    write(cred_file, "[dev]\naws_session_token =\n  abc\n")
    credfile.write_credentials(cred_file, "dev", creds())
    assert cred_file.read_text() == "[dev]\n" + keys(1, "token", "id", "secret", "exp")
    botocore_view(cred_file)


@pytest.mark.parametrize("name", ["DEFAULT", "", " dev", "dev\n[x]", "a\rb"])
def test_bad_section_names_are_refused(cred_file: Path, name: str) -> None:
    with pytest.raises(ConfigError):
        credfile.write_credentials(cred_file, name, creds())
    assert not cred_file.exists()


@pytest.mark.parametrize(
    "bad",
    [
        Creds("", "s", None, None),
        Creds("ASIA", "s e", None, None),
        Creds("ASIA", "s", "tok\n[x]", None),
    ],
)
def test_values_that_would_break_the_file_are_refused(cred_file: Path, bad: Creds) -> None:
    with pytest.raises(ValueError):
        credfile.write_credentials(cred_file, "dev", bad)
    assert not cred_file.exists()


def test_an_edit_configparser_would_read_differently_is_not_written(
    cred_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Dropping the earlier [dev] would make "    [b]" a continuation of x. The planner now
    # keeps that header (see the tests below); without that step the check after planning
    # must still catch the edit and write nothing: it is the safety net for the next such bug.
    monkeypatch.setattr(credfile._CredentialsDocument, "keep_headers_apart", lambda *a, **k: None)
    original = (
        "[a]\nx = 1\n[dev]\n    aws_access_key_id = A\n    [b]\ny = 2\n"
        "[dev]\naws_access_key_id = B\naws_session_token = T\n"
    )
    write(cred_file, original)
    with pytest.raises(AppError, match="left untouched"):
        credfile.write_credentials(cred_file, "dev", creds())
    assert cred_file.read_text() == original


# --------------------------------------------------------------------------------------------
# Sections we created: remove_sections, owned_sections, the state file


def test_remove_restores_the_file_we_appended_to(cred_file: Path) -> None:
    original = "# mine\n[default]\nregion = x\n"
    write(cred_file, original)
    credfile.write_many(cred_file, {"dev": creds(1), "prod": creds(2)})
    assert credfile.owned_sections(cred_file) == {"dev", "prod"}
    assert credfile.remove_sections(cred_file, ["prod", "dev"]) == ("prod", "dev")
    assert cred_file.read_text() == original
    assert credfile.owned_sections(cred_file) == frozenset()


def test_remove_in_the_middle_keeps_the_neighbours(cred_file: Path) -> None:
    write(cred_file, "[a]\nx = 1\n")
    credfile.write_credentials(cred_file, "dev", creds())
    write(cred_file, cred_file.read_text() + "\n[b]\ny = 2\n")
    credfile.remove_sections(cred_file, ["dev"])
    assert cred_file.read_text() == "[a]\nx = 1\n\n[b]\ny = 2\n"


def test_remove_keeps_what_the_user_added_to_our_section(cred_file: Path) -> None:
    credfile.write_credentials(cred_file, "dev", creds())
    write(cred_file, cred_file.read_text() + "region = eu-west-1\n")
    assert credfile.remove_sections(cred_file, ["dev"]) == ("dev",)
    assert cred_file.read_text() == "[dev]\nregion = eu-west-1\n"


def test_remove_leaves_sections_we_did_not_create(cred_file: Path) -> None:
    original = "[dev]\nregion = x\naws_access_key_id = ASIAOTHER\naws_session_token = T\n"
    write(cred_file, original)
    credfile.write_credentials(cred_file, "dev", creds())
    written = cred_file.read_text()
    assert credfile.remove_sections(cred_file, ["dev", "never-seen"]) == ()
    assert cred_file.read_text() == written
    assert credfile.owned_sections(cred_file) == frozenset()


def test_remove_leaves_a_section_whose_keys_the_user_replaced(cred_file: Path) -> None:
    credfile.write_credentials(cred_file, "dev", creds())
    mine = "[dev]\naws_access_key_id = AKIAMINE\naws_secret_access_key = s\n"
    write(cred_file, mine)
    assert credfile.remove_sections(cred_file, ["dev"]) == ()
    assert cred_file.read_text() == mine
    # ... and it is forgotten: its keys are protected from now on.
    with pytest.raises(LongTermKeysError):
        credfile.write_credentials(cred_file, "dev", creds(2))


def test_remove_drops_every_occurrence_of_a_duplicated_section(cred_file: Path) -> None:
    credfile.write_credentials(cred_file, "dev", creds(1))
    write(cred_file, cred_file.read_text() + "[dev]\naws_access_key_id = ASIAEXAMPLE00001\n")
    credfile.remove_sections(cred_file, ["dev"])
    assert cred_file.read_text() == ""


def test_state_file_records_fingerprints_not_keys(cred_file: Path) -> None:
    credfile.write_credentials(cred_file, "dev", creds())
    state = credfile.state_file().read_text()
    assert "ASIAEXAMPLE" not in state and "secret" not in state and "token1" not in state
    entry = json.loads(state)["files"][str(cred_file.resolve())]["dev"]
    assert entry["created"] is True
    assert stat.S_IMODE(credfile.state_file().stat().st_mode) == 0o600


def test_a_corrupt_state_file_only_makes_us_careful(cred_file: Path) -> None:
    credfile.write_credentials(cred_file, "dev", creds())
    credfile.state_file().write_text("{not json")
    assert credfile.remove_sections(cred_file, ["dev"]) == ()
    assert "[dev]" in cred_file.read_text()


def test_remove_on_a_missing_file_is_a_no_op(cred_file: Path) -> None:
    assert credfile.remove_sections(cred_file, ["dev"]) == ()
    assert not cred_file.exists()


def test_read_section(cred_file: Path) -> None:
    assert credfile.read_section(cred_file, "dev") is None
    write(cred_file, "[dev]\nRegion = x\n  y\n")
    assert credfile.read_section(cred_file, "dev") == {"region": "x\ny"}
    assert credfile.read_section(cred_file, "prod") is None


# --------------------------------------------------------------------------------------------
# Property tests: any file in, only the target section changes out (judged by botocore)

OURS = credfile.OWNED_KEYS
OTHER_KEYS = ["region", "output", "role_arn", "aws_security_token", "s3", "x"]
NAMES = ["default", "dev", "prod", "a b", "x]y", "Dev", " dev ", "DEV-1", "#x"]
TARGETS = ["default", "dev", "prod", "a b", "x]y", "Dev", "new-one"]
PROBE_KEY = "zzprobe"
PROBE_DUP = "zzdup"


@dataclass(frozen=True)
class Opt:
    key: str
    ours: bool
    sep: str
    value: str
    continuations: tuple[str, ...]


@dataclass(frozen=True)
class Sec:
    name: str
    header_tail: str
    indent: str
    items: tuple[Any, ...]  # Opt, or ("blank"|"comment", text)
    header_indent: str = ""


@dataclass(frozen=True)
class Model:
    preamble: tuple[tuple[str, str], ...]
    sections: tuple[Sec, ...]
    eols: tuple[str, ...]  # cycled over the lines
    final_eol: bool


def odd_case(key: str) -> st.SearchStrategy[str]:
    return st.lists(st.booleans(), min_size=len(key), max_size=len(key)).map(
        lambda mask: "".join(c.upper() if m else c for c, m in zip(key, mask, strict=True))
    )


line_text = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n"),
    max_size=10,
)
blank = st.tuples(st.just("blank"), st.sampled_from(["", " ", "\t", "  \x0c"]))
comment = st.tuples(
    st.just("comment"),
    st.builds(
        lambda i, p, t: i + p + t, st.sampled_from(["", "  "]), st.sampled_from("#;"), line_text
    ),
)
ours_key = st.sampled_from(OURS).flatmap(odd_case)
other_key = st.sampled_from(OTHER_KEYS) | st.from_regex(r"[a-z][a-z0-9_.-]{0,6}", fullmatch=True)
option = st.builds(
    Opt,
    key=st.one_of(ours_key, other_key),
    ours=st.just(False),
    sep=st.sampled_from(["=", " = ", ":", " : ", "\t=\t", " =", "= ", "  :  "]),
    value=line_text.map(str.strip),
    continuations=st.lists(
        st.from_regex(r"[a-zA-Z0-9+/ ]{0,6}=?[a-zA-Z0-9+/=]", fullmatch=True), max_size=2
    ).map(tuple),
).map(lambda o: Opt(o.key, o.key.lower() in OURS, o.sep, o.value, o.continuations))
section = st.builds(
    Sec,
    name=st.sampled_from(NAMES) | st.from_regex(r"[a-z0-9_-]{1,6}", fullmatch=True),
    header_tail=st.sampled_from(["", "", " ; note", "  # c", " "]),
    indent=st.sampled_from(["", "", " ", "  "]),
    header_indent=st.sampled_from(["", "", " "]),
    items=st.lists(st.one_of(option, option, blank, comment), max_size=5).map(tuple),
)
models = st.builds(
    Model,
    preamble=st.lists(st.one_of(blank, comment), max_size=2).map(tuple),
    sections=st.lists(section, min_size=1, max_size=4).map(tuple),
    eols=st.one_of(
        st.just(("\n",)),
        st.just(("\r\n",)),
        st.lists(st.sampled_from(["\n", "\r\n", "\r"]), min_size=1, max_size=4).map(tuple),
    ),
    final_eol=st.booleans(),
)


@st.composite
def cases(draw: st.DrawFn) -> tuple[Model, str]:
    """A file and a target section: usually one of the file's, sometimes given twice."""
    model = draw(models)
    present = [s.name for s in model.sections if s.name == s.name.strip()]
    if present and draw(st.integers(0, 4)) != 0:
        target = draw(st.sampled_from(present))
    else:
        target = draw(st.sampled_from(TARGETS))
    if target in present and draw(st.integers(0, 3)) == 0:
        ours_only = st.lists(st.one_of(option.filter(lambda o: o.ours), blank), max_size=3)
        extra = Sec(
            name=target,
            header_tail="",
            indent="",
            items=tuple(draw(ours_only if draw(st.booleans()) else section.map(lambda s: s.items))),
        )
        sections = list(model.sections)
        sections.insert(draw(st.integers(0, len(sections))), extra)
        model = Model(model.preamble, tuple(sections), model.eols, model.final_eol)
    return model, target


def render(model: Model, target: str, *, probe: bool) -> tuple[str, list[tuple[int, str]]]:
    """The file's text and its chunks (section index or -1 for the preamble, text).

    With `probe`, keys of ours in the target and the headers of its earlier duplicates are
    renamed, which gives a file botocore must accept if the generated one is valid apart from
    the defects we promise to repair.
    """
    lines: list[tuple[int, str]] = [(-1, text) for _, text in model.preamble]
    occurrences = [i for i, s in enumerate(model.sections) if s.name == target]
    counter = 0
    for index, sec in enumerate(model.sections):
        name = sec.name
        if probe and index in occurrences[:-1]:
            name = f"{PROBE_DUP}{index}"
        lines.append((index, f"{sec.header_indent}[{name}]{sec.header_tail}"))
        for item in sec.items:
            if isinstance(item, Opt):
                key = item.key
                if probe and item.ours and sec.name == target:
                    counter += 1
                    key = f"{PROBE_KEY}{counter}"
                lines.append((index, f"{sec.indent}{key}{item.sep}{item.value}"))
                lines.extend((index, f"{sec.indent}   {c}") for c in item.continuations)
            else:
                lines.append((index, item[1]))
    chunks: list[tuple[int, str]] = []
    for n, (owner, text) in enumerate(lines):
        last = n == len(lines) - 1
        eol = "" if last and not model.final_eol else model.eols[n % len(model.eols)]
        if chunks and chunks[-1][0] == owner:
            chunks[-1] = (owner, chunks[-1][1] + text + eol)
        else:
            chunks.append((owner, text + eol))
    return "".join(text for _, text in chunks), chunks


def strict_parse(path: Path, text: str) -> dict[str, Any] | None:
    path.write_bytes(text.encode())
    try:
        return raw_config_parse(str(path))
    except ConfigParseError:
        return None


def merged_view(text: str) -> dict[str, dict[str, str]]:
    parser = configparser.RawConfigParser(strict=False, default_section="\x00")
    parser.read_file(io.StringIO(text, newline=None))
    return {name: dict(parser.items(name)) for name in parser.sections()}


def only_ours(sec: Sec) -> bool:
    """An earlier duplicate we drop: nothing in it but keys of ours and blank lines."""
    return all(item.ours if isinstance(item, Opt) else item[0] == "blank" for item in sec.items)


def stays_apart_without_duplicates(model: Model, target: str, work: Path) -> bool:
    """Whether botocore still sees every other section once the earlier duplicates are gone.

    Their headers may be what ends the option above them: without them a next header indented
    deeper is read as that option's continuation. Our own (target) headers may lose their
    indentation; another section's header keeps its bytes, so then a duplicate must stay.
    """
    occurrences = [i for i, s in enumerate(model.sections) if s.name == target]
    kept = tuple(
        replace(sec, header_indent="") if sec.name == target else sec
        for i, sec in enumerate(model.sections)
        if i not in occurrences[:-1]
    )
    text, _ = render(replace(model, sections=kept), target, probe=True)
    parsed = strict_parse(work / "without-duplicates", text)
    return parsed is not None and list(parsed) == [sec.name for sec in kept]


@pytest.fixture
def no_fsync(monkeypatch: pytest.MonkeyPatch) -> None:
    """Durability is not what the property tests check; fsync on a shared disk is the slow part."""
    monkeypatch.setattr(os, "fsync", lambda fd: None)


@settings(  # max_examples: the profile conftest.py loads (200 in the full run)
    deadline=None,
    suppress_health_check=[
        HealthCheck.filter_too_much,
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,  # each example works in its own folder
    ],
)
@given(
    case=cases(),
    n=st.integers(1, 99999),
    token=st.booleans(),
    expiration=st.booleans(),
    force=st.booleans(),
)
def test_property_only_the_target_section_changes(
    home: Path,
    no_fsync: None,
    case: tuple[Model, str],
    n: int,
    token: bool,
    expiration: bool,
    force: bool,
) -> None:
    model, target = case
    occurrences = [i for i, s in enumerate(model.sections) if s.name == target]
    _note_case(model, occurrences)
    work = home / f"prop-{time.monotonic_ns()}"
    work.mkdir()
    path = work / "credentials"
    probe = _probe(model, target, occurrences, work)

    text, chunks = render(model, target, probe=False)
    path.write_bytes(text.encode())
    new = creds(n, token=token, expiration=expiration)
    before = merged_view(text)
    long_term = bool(before.get(target, {}).get("aws_access_key_id")) and not before.get(
        target, {}
    ).get("aws_session_token")
    try:
        credfile.write_credentials(path, target, new, force=force)
    except LongTermKeysError:
        event("refused: long-term keys")
        assert long_term and not force
        assert path.read_bytes() == text.encode()
        return
    assert force or not long_term
    out = path.read_bytes().decode()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    _assert_outside_the_target_unchanged(out, text, chunks, occurrences)
    # The target holds exactly the new values plus its other keys; other sections as before.
    values = _written_values(new, token=token, expiration=expiration)
    earlier = [model.sections[i] for i in occurrences[:-1]]
    droppable = all(only_ours(sec) for sec in earlier)
    if droppable and earlier and not stays_apart_without_duplicates(model, target, work):
        event("an earlier duplicate keeps its header: the next header would join the one above")
        droppable = False
    if droppable:
        _assert_duplicates_dropped(path, probe, target, values)
    else:
        if not all(only_ours(sec) for sec in earlier):
            event("an earlier duplicate of the target keeps other lines")
        _assert_duplicates_kept(path, out, before, target, values)


def _note_case(model: Model, occurrences: list[int]) -> None:
    """hypothesis `event`s: how often the generated cases hit the shapes that matter."""
    event(f"target given {min(len(occurrences), 2)} times")
    event(f"line endings {sorted(set(model.eols))}")
    if any(
        isinstance(item, Opt) and item.ours for i in occurrences for item in model.sections[i].items
    ):
        event("target holds keys of ours")


def _probe(model: Model, target: str, occurrences: list[int], work: Path) -> dict[str, Any]:
    """The model rendered with probe keys, parsed; rejects the case unless every generated
    header is a header and none was swallowed."""
    probe_text, _ = render(model, target, probe=True)
    probe = strict_parse(work / "probe", probe_text)
    assume(probe is not None)
    assert probe is not None
    expected_names = [
        f"{PROBE_DUP}{i}" if i in occurrences[:-1] else s.name for i, s in enumerate(model.sections)
    ]
    assume(list(probe) == expected_names)  # every generated header is a header, none swallowed
    return probe


def _assert_outside_the_target_unchanged(
    out: str, text: str, chunks: list[tuple[int, str]], occurrences: list[int]
) -> None:
    """The bytes outside the target section are identical and in order."""
    if not occurrences:
        assert out.startswith(text)
        return
    owners = [owner for owner, _ in chunks]
    first = owners.index(occurrences[0])
    last = len(owners) - 1 - owners[::-1].index(occurrences[-1])
    head = "".join(t for _, t in chunks[:first])
    tail = "".join(t for _, t in chunks[last + 1 :])
    assert out.startswith(head) and out.endswith(tail)
    middle = out[len(head) : len(out) - len(tail)]
    position = 0
    for owner, chunk in chunks[first : last + 1]:
        if owner not in occurrences:
            found = middle.find(chunk, position)
            assert found >= 0
            position = found + len(chunk)


def _written_values(new: Creds, *, token: bool, expiration: bool) -> dict[str, str]:
    values = {
        "aws_access_key_id": new.access_key_id,
        "aws_secret_access_key": new.secret_access_key,
    }
    if token:
        values["aws_session_token"] = new.session_token or ""
    if expiration:
        values["aws_credential_expiration"] = "2026-11-25T23:42:31Z"
    return values


def _assert_duplicates_dropped(
    path: Path, probe: dict[str, Any], target: str, values: dict[str, str]
) -> None:
    """A clean file: one target section (its other keys + the new values), the rest as before."""
    others = {k: v for k, v in probe.get(target, {}).items() if not k.startswith(PROBE_KEY)}
    after = raw_config_parse(str(path))
    assert set(after) == {*(s for s in probe if not s.startswith(PROBE_DUP)), target}
    for name, options in after.items():
        if name == target:
            assert options == {**others, **values}
        else:
            assert options == probe[name]


def _assert_duplicates_kept(
    path: Path,
    out: str,
    before: dict[str, dict[str, str]],
    target: str,
    values: dict[str, str],
) -> None:
    """A duplicate that holds someone else's lines stays: the file still has duplicates, and the
    merged view (the last one wins, as botocore reads) has the new values."""
    with pytest.raises(ConfigParseError):
        raw_config_parse(str(path))
    merged = merged_view(out)
    expected_target = {k: v for k, v in before[target].items() if k not in OURS} | values
    assert merged[target] == expected_target
    for name, options in before.items():
        if name != target:
            assert merged[name] == options


# --------------------------------------------------------------------------------------------
# Concurrency: several writer processes, one reader, nothing lost, nothing half-written

WRITER = textwrap.dedent(
    """
    import sys
    import time
    from datetime import datetime, timezone
    from pathlib import Path
    from aws_sso_tray.files import credfile
    from aws_sso_tray.aws.rolecreds import RoleCredentials as C

    path, me, rounds, go = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
    (go.parent / f"ready{me}").touch()
    while not go.exists():  # start together, or there is little to race
        time.sleep(0.005)
    for i in range(rounds):
        credfile.write_credentials(
            path, f"w{me}",
            C(f"ASIA{me}X{i}", f"secret{me}X{i}", f"token{me}X{i}",
              datetime(2030, 1, 1, 0, 0, i % 60, tzinfo=timezone.utc)),
        )
    """
)


def check_consistent(parsed: dict[str, Any], seen: dict[str, int]) -> None:
    """Each writer's section is whole, and never goes missing or back to an older round once
    seen (a lost update: someone wrote a file read before that writer's write)."""
    for name in seen:
        assert name in parsed, f"[{name}] lost"
    for name, options in parsed.items():
        if name.startswith("w"):
            tag = options["aws_access_key_id"][4:]
            assert options["aws_secret_access_key"] == f"secret{tag}"
            assert options["aws_session_token"] == f"token{tag}"
            round_ = int(tag.split("X")[1])
            assert round_ >= seen.get(name, 0), f"[{name}] went back from {seen[name]} to {round_}"
            seen[name] = round_


def test_concurrent_writers_lose_nothing_and_readers_never_see_a_partial_file(
    cred_file: Path,
) -> None:
    writers, rounds = 4, 25
    go = cred_file.parent.parent / "go"
    write(cred_file, "# shared\n[default]\nregion = eu-west-1\n")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(cred_file), str(me), str(rounds), str(go)]
        )
        for me in range(writers)
    ]
    ready = [go.parent / f"ready{me}" for me in range(writers)]
    wait_for(lambda: all(r.exists() for r in ready), "every writer to start and import")
    go.touch()
    reads = 0
    seen: dict[str, int] = {}
    while any(p.poll() is None for p in procs):
        parsed = raw_config_parse(str(cred_file))  # raises on a partial file
        assert parsed["default"] == {"region": "eu-west-1"}
        check_consistent(parsed, seen)
        reads += 1
        time.sleep(0.002)  # two cores: leave the writers room to race each other
    assert [p.wait() for p in procs] == [0] * writers
    parsed = raw_config_parse(str(cred_file))
    check_consistent(parsed, seen)
    for me in range(writers):
        assert parsed[f"w{me}"]["aws_access_key_id"] == f"ASIA{me}X{rounds - 1}"
    assert reads > 0
    assert cred_file.read_text().startswith("# shared\n[default]\nregion = eu-west-1\n\n[w")
    leftovers = [p.name for p in cred_file.parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []
    assert stat.S_IMODE(cred_file.stat().st_mode) == 0o600


# --------------------------------------------------------------------------------------------
# Writers that take no lock: another program appends sections in place while we write

APPENDER = textwrap.dedent(
    """
    import os
    import sys
    import time
    from pathlib import Path

    path, count, go = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    while not go.exists():
        time.sleep(0.005)
    for i in range(count):
        # What `echo ... >> ~/.aws/credentials` does: no lock, one write in place.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, f"\\n[other{i}]\\nregion = r{i}\\n".encode())
        finally:
            os.close(fd)
        time.sleep(0.01)
    """
)


def test_sections_appended_by_a_writer_without_our_lock_are_not_lost(
    cred_file: Path, no_fsync: None
) -> None:
    appended = 400
    filler = "".join(f"[filler{i}]\nregion = eu-west-{i}\n\n" for i in range(200))
    write(cred_file, "[default]\nregion = eu-west-1\n\n" + filler)
    go = cred_file.parent.parent / "go"
    proc = subprocess.Popen(
        [sys.executable, "-c", APPENDER, str(cred_file), str(appended), str(go)]
    )
    go.touch()
    writes = busy = 0
    try:
        while proc.poll() is None:
            try:
                credfile.write_many(cred_file, {"ours0": creds(writes), "ours1": creds(writes)})
            except FileWriteError as exc:
                assert "kept changing" in str(exc)
                busy += 1
                continue
            last = writes
            writes += 1
    finally:
        proc.wait(timeout=120)
    assert proc.returncode == 0
    assert writes >= 20, f"only {writes} writes got through ({busy} gave up)"
    parsed = botocore_view(cred_file)
    lost = [i for i in range(appended) if parsed.get(f"other{i}") != {"region": f"r{i}"}]
    assert lost == [], f"{len(lost)} of {appended} appended sections lost"
    for name in ("ours0", "ours1"):
        assert parsed[name]["aws_access_key_id"] == creds(last).access_key_id
    assert parsed["filler199"] == {"region": "eu-west-199"}


def interleaved_writer(monkeypatch: pytest.MonkeyPatch, path: Path, times: int) -> list[str]:
    """Another program appending a section between our read and our rename, `times` times."""
    real = credfile._verify
    appended: list[str] = []

    def verify_then_someone_appends(*args: Any, **kwargs: Any) -> None:
        real(*args, **kwargs)
        if len(appended) < times:
            name = f"other{len(appended)}"
            with path.open("a", encoding="utf-8") as handle:
                handle.write(f"\n[{name}]\nregion = eu-west-2\n")
            appended.append(name)

    monkeypatch.setattr(credfile, "_verify", verify_then_someone_appends)
    return appended


def test_a_change_between_our_read_and_our_rename_is_read_again_and_kept(
    cred_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(cred_file, "[default]\nregion = eu-west-1\n")
    appended = interleaved_writer(monkeypatch, cred_file, times=2)
    credfile.write_credentials(cred_file, "dev", creds())
    assert appended == ["other0", "other1"]
    assert cred_file.read_text() == (
        "[default]\nregion = eu-west-1\n\n[other0]\nregion = eu-west-2\n\n"
        "[other1]\nregion = eu-west-2\n\n[dev]\n" + block()
    )


def test_a_file_that_keeps_changing_is_left_to_its_writer_with_one_line(
    cred_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(cred_file, "[default]\nregion = eu-west-1\n")
    appended = interleaved_writer(monkeypatch, cred_file, times=100)
    with pytest.raises(FileWriteError) as caught:
        credfile.write_credentials(cred_file, "dev", creds())
    assert caught.value.exit_code == ExitCode.FILE_ERROR
    assert "kept changing" in str(caught.value) and "\n" not in str(caught.value)
    assert len(appended) == credfile.CHANGED_RETRIES
    parsed = botocore_view(cred_file)
    assert "dev" not in parsed
    assert all(parsed[name] == {"region": "eu-west-2"} for name in appended)


def test_a_writer_waits_for_the_lock_longer_the_bigger_the_file(cred_file: Path) -> None:
    from aws_sso_tray.files import atomicfile

    write(cred_file, "[default]\nregion = eu-west-1\n")
    small = atomicfile.lock_timeout_for(cred_file)
    with cred_file.open("r+b") as handle:
        handle.truncate(50_000_000)  # sparse: the size is what counts
    # An edit of a 50 MB file takes seconds (benchmarks/bigfile.py): a waiter must outlast it.
    assert atomicfile.lock_timeout_for(cred_file) >= small + 45 >= 75


def test_an_edit_of_a_big_file_verifies_only_the_sections_it_touches(
    cred_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The time and memory are benchmarks/bigfile.py's to measure; this pins the structure that
    # makes them linear: configparser re-reads the touched sections, not the whole file twice.
    sections = "".join(f"[p{i}]\n{block(i)}\n" for i in range(5000))
    write(cred_file, sections)
    from aws_sso_tray.files import inifile  # the check that reads them, for both editors

    real = inifile.configparser_view
    read: list[int] = []

    def counting_view(text: str) -> dict[str, dict[str, str]]:
        read.append(len(text))
        return real(text)

    monkeypatch.setattr(inifile, "configparser_view", counting_view)
    credfile.write_credentials(cred_file, "p2500", creds(99999))
    assert read and max(read) < 1000, read
    parsed = botocore_view(cred_file)
    assert parsed["p2500"]["aws_access_key_id"] == creds(99999).access_key_id
    assert parsed["p2499"]["aws_access_key_id"] == creds(2499).access_key_id
    assert cred_file.read_text() == sections.replace(block(2500), block(99999))
