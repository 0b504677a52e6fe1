"""configedit: the AWS config editor keeps every byte it does not own, and prunes only its own."""

from __future__ import annotations

import configparser
import json
from pathlib import Path

import botocore.session
import pytest

from aws_sso_tray.errors import ConfigError
from aws_sso_tray.files import configedit
from aws_sso_tray.files.configedit import ProfileSpec, SessionSpec

START_URL = "https://d-1234567890.awsapps.com/start"
SESSION = SessionSpec("corp", START_URL, "us-east-1")

USER_CONFIG = (
    "# my settings\r\n"
    "[default]\r\n"
    "region = eu-west-1   ; inline stays\r\n"
    "s3 =\r\n"
    "    max_concurrent_requests = 20\r\n"
    "\r\n"
    "; a comment before a profile\r\n"
    "[profile hand]\r\n"
    "sso_session = corp\r\n"
    "sso_account_id = 111111111111\r\n"
    "sso_role_name = Admin\r\n"
    "output = json"  # no final newline
)


def spec(name: str, account: str = "111111111111", role: str = "ReadOnly") -> ProfileSpec:
    return ProfileSpec(name, "corp", account, role, region="eu-west-1")


def profile_config(name: str, config: Path) -> dict[str, str]:
    session = botocore.session.Session(profile=name)
    session.set_config_variable("config_file", str(config))
    return dict(session.get_scoped_config())


def test_new_file_gets_session_and_profiles_that_botocore_reads(home: Path) -> None:
    path = home / ".aws" / "config"
    result = configedit.apply(path, session=SESSION, add=[spec("ro"), spec("adm", role="Admin")])
    assert result.added == ("ro", "adm") and result.session_changed
    text = path.read_text()
    assert text == (
        "[sso-session corp]\n"
        f"sso_start_url = {START_URL}\n"
        "sso_region = us-east-1\n"
        "sso_registration_scopes = sso:account:access\n"
        "\n"
        "[profile ro]\n"
        "sso_session = corp\n"
        "sso_account_id = 111111111111\n"
        "sso_role_name = ReadOnly\n"
        "region = eu-west-1\n"
        "\n"
        "[profile adm]\n"
        "sso_session = corp\n"
        "sso_account_id = 111111111111\n"
        "sso_role_name = Admin\n"
        "region = eu-west-1\n"
    )
    assert path.stat().st_mode & 0o777 == 0o600
    assert profile_config("adm", path)["sso_role_name"] == "Admin"
    full = botocore.session.Session()
    full.set_config_variable("config_file", str(path))
    assert full.full_config["sso_sessions"]["corp"]["sso_start_url"] == START_URL
    assert configedit.read_snapshot(path).generated == {"ro", "adm"}


def test_user_bytes_are_kept_exactly(home: Path) -> None:
    path = home / ".aws" / "config"
    path.write_bytes(USER_CONFIG.encode())
    configedit.apply(path, session=SESSION, add=[spec("ro")])
    data = path.read_bytes().decode()
    assert data.startswith(USER_CONFIG + "\r\n\r\n[sso-session corp]\r\n")
    assert data.endswith("region = eu-west-1\r\n")
    # Removing what we added gives back the original file, byte for byte.
    result = configedit.apply(path, remove=["ro"])
    assert result.removed == ("ro",)
    data = path.read_bytes().decode()
    assert data.startswith(USER_CONFIG)
    assert "[profile ro]" not in data
    assert profile_config("hand", path)["output"] == "json"


def test_existing_session_gets_only_what_differs(home: Path) -> None:
    path = home / ".aws" / "config"
    original = (
        "[sso-session corp]\n"
        f"sso_start_url   =   {START_URL}\n"
        "sso_region = eu-west-1   # wrong region\n"
        "# comment\n"
        "\n[profile x]\nregion = us-east-1\n"
    )
    path.write_text(original)
    result = configedit.apply(path, session=SESSION)
    assert result.session_changed
    assert path.read_text() == (
        "[sso-session corp]\n"
        f"sso_start_url   =   {START_URL}\n"
        "sso_region = us-east-1\n"
        "sso_registration_scopes = sso:account:access\n"
        "# comment\n"
        "\n[profile x]\nregion = us-east-1\n"
    )
    # Nothing to change: the file is not even rewritten.
    mtime = path.stat().st_mtime_ns
    assert not configedit.apply(path, session=SESSION).session_changed
    assert path.stat().st_mtime_ns == mtime


def test_scopes_are_extended_not_replaced(home: Path) -> None:
    path = home / ".aws" / "config"
    path.write_text(
        f"[sso-session corp]\nsso_start_url = {START_URL}\nsso_region = us-east-1\n"
        "sso_registration_scopes = codecatalyst:read_write\n"
    )
    configedit.apply(path, session=SESSION)
    assert "sso_registration_scopes = codecatalyst:read_write, sso:account:access\n" in (
        path.read_text()
    )


def test_prune_only_generated_untouched_profiles(home: Path) -> None:
    path = home / ".aws" / "config"
    path.write_text("[profile hand]\nsso_session = corp\nsso_account_id = 1\nsso_role_name = R\n")
    configedit.apply(path, session=SESSION, add=[spec("a"), spec("b"), spec("c"), spec("d")])
    text = path.read_text()
    # b: the user changed its role; c: the user added a comment inside it. Both are theirs now.
    text = text.replace(
        "[profile b]\nsso_session = corp\nsso_account_id = 111111111111\nsso_role_name = ReadOnly",
        "[profile b]\nsso_session = corp\nsso_account_id = 111111111111\nsso_role_name = Admin",
    )
    text = text.replace("[profile c]\n", "[profile c]\n# mine now\n")
    path.write_text(text)
    assert configedit.read_snapshot(path).generated == {"a", "d"}
    result = configedit.apply(path, remove=["hand", "a", "b", "c", "gone"])
    assert result.removed == ("a",)
    assert set(result.kept) == {"hand", "b", "c", "gone"}
    after = path.read_text()
    assert "[profile a]" not in after
    for name in ("hand", "b", "c", "d"):
        assert f"[profile {name}]" in after
    # Edited profiles lost their record for good: restoring the text does not make them ours.
    records = json.loads(configedit.state_file().read_text())["files"]
    assert set(next(iter(records.values()))) == {"d"}


def test_prune_at_end_of_file_leaves_no_blank_tail(home: Path) -> None:
    path = home / ".aws" / "config"
    path.write_text("[default]\nregion = x\n")
    configedit.apply(path, add=[spec("a")])
    configedit.apply(path, remove=["a"])
    assert path.read_text() == "[default]\nregion = x\n"


def test_adding_an_existing_name_is_refused(home: Path) -> None:
    path = home / ".aws" / "config"
    path.write_text('[profile "ro"]\nregion = x\n')
    with pytest.raises(ConfigError, match="already exists"):
        configedit.apply(path, add=[spec("ro")])
    assert path.read_text() == '[profile "ro"]\nregion = x\n'


def test_unreadable_file_is_refused_untouched(home: Path) -> None:
    path = home / ".aws" / "config"
    path.write_text("[default]\nthis is not an option\n")
    with pytest.raises(ConfigError, match="line 2"):
        configedit.apply(path, session=SESSION)
    assert path.read_text() == "[default]\nthis is not an option\n"


def test_bad_names_and_values(home: Path) -> None:
    path = home / ".aws" / "config"
    for bad in ("", "a b", "x]", "-x", 'q"'):
        with pytest.raises(ConfigError):
            configedit.apply(path, add=[spec(bad)])
    with pytest.raises(ConfigError):
        configedit.apply(path, session=SessionSpec("corp", "https://x\n[evil]", "us-east-1"))
    assert not path.exists()


def test_snapshot_matches_roles_across_legacy_and_session_profiles(home: Path) -> None:
    path = home / ".aws" / "config"
    path.write_text(
        f"[profile legacy]\nsso_start_url = {START_URL}/\nsso_region = us-east-1\n"
        "sso_account_id = 2\nsso_role_name = R\n"
        f"[sso-session other]\nsso_start_url = {START_URL}\nsso_region = us-east-1\n"
        "[profile p]\nsso_session = other\nsso_account_id = 3\nsso_role_name = Q\n"
    )
    snap = configedit.read_snapshot(path)
    assert snap.session_for(START_URL) == "other"
    assert snap.has_role(START_URL, "2", "R") and snap.has_role(START_URL, "3", "Q")
    assert not snap.has_role(START_URL, "3", "R")
    assert snap.profile_names == {"legacy", "p"}


def test_lost_record_means_nothing_is_pruned(home: Path) -> None:
    path = home / ".aws" / "config"
    configedit.apply(path, add=[spec("a")])
    configedit.state_file().unlink()
    assert configedit.apply(path, remove=["a"]).kept == ("a",)
    assert "[profile a]" in path.read_text()


def test_result_passes_strict_configparser(home: Path) -> None:
    path = home / ".aws" / "config"
    path.write_text("[default]\nregion = x\n\n\n# trailing comment\n")
    configedit.apply(path, session=SESSION, add=[spec("a")])
    parser = configparser.RawConfigParser()
    parser.read(path)
    assert parser.sections() == ["default", "sso-session corp", "profile a"]
    assert path.read_text().startswith("[default]\nregion = x\n\n\n# trailing comment\n\n[sso")


def test_lone_cr_survives(home: Path) -> None:
    path = home / ".aws" / "config"
    path.write_bytes(b"[default]\rregion = x\r")
    configedit.apply(path, add=[spec("a")])
    assert path.read_bytes().decode() == (
        "[default]\rregion = x\r\r[profile a]\rsso_session = corp\r"
        "sso_account_id = 111111111111\rsso_role_name = ReadOnly\rregion = eu-west-1\r"
    )


def test_a_bom_is_refused_naming_line_1_and_left_in_place(home: Path) -> None:
    # botocore cannot read a config that starts with a BOM: profiles added to it would not work
    path = home / ".aws" / "config"
    original = "\ufeff[default]\rregion = x\r".encode()
    path.write_bytes(original)
    with pytest.raises(ConfigError, match="line 1: the file starts with a byte-order mark"):
        configedit.apply(path, add=[spec("a")])
    assert path.read_bytes() == original


def test_keys_for_a_header_only_session_keep_the_next_indented_header_a_header(
    home: Path,
) -> None:
    # A header ends the option above it: keys added at column 0 after `[sso-session corp]`
    # would make ` [profile b]` (valid: nothing above it to continue) part of their value.
    path = home / ".aws" / "config"
    path.write_text("[sso-session corp]\n [profile b]\nregion = x\n")
    assert configedit.apply(path, session=SESSION).session_changed
    assert path.read_text() == (
        "[sso-session corp]\n"
        f" sso_start_url = {START_URL}\n"
        " sso_region = us-east-1\n"
        " sso_registration_scopes = sso:account:access\n"
        " [profile b]\n"
        "region = x\n"
    )
    assert profile_config("b", path) == {"region": "x"}
    assert configedit.read_snapshot(path).session_for(START_URL) == "corp"


def record_header_only(path: Path, name: str) -> None:
    """Make the record say we wrote profile `name` as its header alone.

    `apply` always writes a profile with options at column 0, after which a deeper line is
    already a continuation (the profile is then the user's); a record of a header alone, from a
    hand-edited or foreign state file, is the way a removal can reach a deeper header.
    """
    state = configedit.state_file()
    data = json.loads(state.read_text())
    entries = data["files"].setdefault(str(path.resolve()), {})
    entries[name] = {"lines": [f"[profile {name}]"]}
    state.write_text(json.dumps(data))


def test_removal_that_would_join_the_next_header_to_the_option_above_keeps_the_profile(
    home: Path,
) -> None:
    path = home / ".aws" / "config"
    configedit.apply(path, add=[spec("gone")])
    record_header_only(path, "gone")
    original = "[profile a]\nregion = x\n[profile gone]\n [profile b]\nregion = y\n"
    path.write_text(original)
    result = configedit.apply(path, session=SESSION, remove=["gone"])
    # Without `[profile gone]`, ` [profile b]` would be read as part of a's region.
    assert (result.removed, result.kept, result.session_changed) == ((), ("gone",), True)
    assert path.read_text() == (
        original + "\n[sso-session corp]\n"
        f"sso_start_url = {START_URL}\n"
        "sso_region = us-east-1\n"
        "sso_registration_scopes = sso:account:access\n"
    )
    assert profile_config("a", path) == {"region": "x"}
    assert profile_config("b", path) == {"region": "y"}
    # Where no header needs it, it goes. (The write above forgot its record, as for any
    # recorded profile that names no role.)
    record_header_only(path, "gone")
    path.write_text(original.replace(" [profile b]", "[profile b]"))
    result = configedit.apply(path, remove=["gone"])
    assert (result.removed, result.kept) == (("gone",), ())
    assert path.read_text() == "[profile a]\nregion = x\n[profile b]\nregion = y\n"


def test_one_removal_kept_back_does_not_stop_the_others(home: Path) -> None:
    path = home / ".aws" / "config"
    configedit.apply(path, add=[spec("gone"), spec("other")])
    record_header_only(path, "gone")
    other = "\n".join(spec("other").lines())
    path.write_text(f"[profile a]\nregion = x\n[profile gone]\n [profile b]\n\n{other}\n")
    result = configedit.apply(path, remove=["gone", "other"])
    assert (result.removed, result.kept) == (("other",), ("gone",))
    # The last section goes with the blank line before it, as for any removal at the end.
    assert path.read_text() == "[profile a]\nregion = x\n[profile gone]\n [profile b]\n"
