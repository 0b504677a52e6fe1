"""Uninstall with real files in the test's HOME: what it says, what it removes, what it keeps."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from aws_sso_tray.aws.rolecreds import RoleCredentials
from aws_sso_tray.desktop import autostart
from aws_sso_tray.engine import lock as engine_lock
from aws_sso_tray.errors import AlreadyRunningError, ConfigError
from aws_sso_tray.files import credfile, paths, settings
from aws_sso_tray.setup import uninstall

EXPIRES = datetime(2030, 1, 1, 12, 0, tzinfo=timezone.utc) + timedelta(hours=1)

USER_TEXT = (
    "# my credentials\r\n"
    "[default]\r\n"
    "aws_access_key_id = AKIAUSERLONGTERMKEY1\r\n"
    "aws_secret_access_key = user-secret\r\n"
    "\r\n"
    "[legacy]  ; a comment\r\n"
    "region=eu-west-1\r\n"
)


def creds(key_id: str) -> RoleCredentials:
    return RoleCredentials(key_id, "secret-" + key_id, "token-" + key_id, EXPIRES)


def credentials_file(home: Path) -> Path:
    return home / ".aws" / "credentials"


def our_leftovers() -> list[Path]:
    """Everything of ours uninstall should remove."""
    return [
        autostart.autostart_file(),
        paths.config_dir(),
        paths.state_dir(),
        paths.log_dir(),
    ]


def install_everything(home: Path) -> None:
    """What a user of a while has: synced sections, autostart, settings, logs, state."""
    path = credentials_file(home)
    path.write_bytes(USER_TEXT.encode())
    credfile.write_credentials(path, "dev", creds("ASIADEV0000000000001"))
    credfile.write_credentials(path, "prod", creds("ASIAPROD000000000001"))
    autostart.enable()
    settings.update_settings(lambda s: s.with_auto_sync("dev").with_favorite("dev"))
    paths.log_dir().mkdir(parents=True, exist_ok=True)
    paths.log_file().write_text("tray: icon shown\n")
    demo = paths.state_dir() / "demo" / "aws"
    demo.mkdir(parents=True)
    (demo / "config").write_text("[profile demo]\n")
    with engine_lock.InstanceLock("the tray"):
        pass  # leaves engine.lock behind, as every run does


def test_removes_our_sections_and_keeps_every_other_byte(home: Path) -> None:
    install_everything(home)
    path = credentials_file(home)
    aws_config = home / ".aws" / "config"
    aws_config.write_text("[profile dev]\nsso_session = corp\n")
    token = home / ".aws" / "sso" / "cache" / "abc.json"
    role = home / ".aws" / "cli" / "cache" / "def.json"
    for cache in (token, role):
        cache.parent.mkdir(parents=True)
        cache.write_text("{}")

    leftovers = uninstall.find_leftovers()
    assert leftovers.credential_sections == ("dev", "prod")
    assert leftovers.credentials_problem is None and not leftovers.running and not leftovers.empty
    assert leftovers.autostart_entry == autostart.autostart_file()
    # Linux: settings in ~/.config, logs inside the state folder; the state folder goes last.
    assert [(f.path, f.holds.split(" ")[0]) for f in leftovers.folders] == [
        (paths.config_dir(), "settings"),
        (paths.log_dir(), "log"),
        (paths.state_dir(), "state"),
    ]
    text = leftovers.describe()
    removed_part, kept_part = text.split("It will not touch:")
    assert f"from {path}, the sections it created: [dev], [prod]" in removed_part
    for thing in our_leftovers():
        assert str(thing) in removed_part
    assert str(aws_config) not in removed_part
    for kept in (aws_config, token.parent, role.parent):
        assert str(kept) in kept_part
    assert "did not create" in kept_part

    done = uninstall.remove_leftovers(leftovers)

    assert path.read_bytes() == USER_TEXT.encode()  # every byte of the user's file, as it was
    for thing in our_leftovers():
        assert not thing.exists(), thing
    assert aws_config.read_text() == "[profile dev]\nsso_session = corp\n"
    assert token.read_text() == "{}" and role.read_text() == "{}"
    assert done[0] == f"removed [dev], [prod] from {path}"
    assert any(str(autostart.autostart_file()) in line for line in done)
    assert len(done) == 5  # sections, autostart, settings, logs, state

    # Idempotent: a second run finds nothing and removes nothing.
    again = uninstall.find_leftovers()
    assert again.empty
    assert again.describe().startswith("aws-sso-tray has nothing to remove")
    assert uninstall.remove_leftovers(again) == []
    assert not paths.state_dir().exists()  # the lock it took left no folder behind
    assert path.read_bytes() == USER_TEXT.encode()


def test_sections_we_did_not_create_stay(home: Path) -> None:
    path = credentials_file(home)
    # [shared] was the user's before we wrote into it; [taken] was ours until the user put
    # their own keys in; [mixed] is ours with a key the user added since.
    path.write_text(
        "[shared]\naws_access_key_id = ASIAOLD\naws_secret_access_key = x\naws_session_token = y\n"
    )
    credfile.write_credentials(path, "shared", creds("ASIASHARED0000000001"))
    credfile.write_credentials(path, "taken", creds("ASIATAKEN00000000001"))
    credfile.write_credentials(path, "mixed", creds("ASIAMIXED00000000001"))
    text = path.read_text()
    text = text.replace("ASIATAKEN00000000001", "AKIAUSERSOWNKEY00001")
    text = text.replace("[mixed]\n", "[mixed]\nregion = eu-west-1\n")
    path.write_text(text)
    shared_before = credfile.read_section(path, "shared")
    taken_before = credfile.read_section(path, "taken")

    leftovers = uninstall.find_leftovers()
    assert leftovers.credential_sections == ("mixed",)
    uninstall.remove_leftovers(leftovers)

    assert credfile.read_section(path, "shared") == shared_before
    assert credfile.read_section(path, "taken") == taken_before
    assert credfile.read_section(path, "mixed") == {"region": "eu-west-1"}


def test_refuses_while_a_tray_or_daemon_runs(home: Path) -> None:
    install_everything(home)
    path = credentials_file(home)
    before = path.read_bytes()
    with engine_lock.InstanceLock("the tray"):
        leftovers = uninstall.find_leftovers()
        assert leftovers.running
        assert "quit the tray or stop the daemon first" in leftovers.describe()
        with pytest.raises(AlreadyRunningError, match="quit the tray"):
            uninstall.remove_leftovers(leftovers)
        assert path.read_bytes() == before
        for thing in our_leftovers():
            assert thing.exists(), thing
    # Once it has quit, the same leftovers go.
    assert uninstall.remove_leftovers(leftovers)
    assert path.read_bytes() == USER_TEXT.encode()


def test_unreadable_credentials_file_removes_nothing(home: Path) -> None:
    install_everything(home)
    path = credentials_file(home)
    path.write_bytes(path.read_bytes() + b"[broken\n")
    leftovers = uninstall.find_leftovers()
    assert leftovers.credential_sections == ()
    assert leftovers.credentials_problem
    assert "Fix that file first" in leftovers.describe()
    with pytest.raises(ConfigError, match="run `aws-sso-tray uninstall` again"):
        uninstall.remove_leftovers(leftovers)
    # The records that say which sections are ours are still there for the next try.
    assert credfile.state_file().exists()
    for thing in our_leftovers():
        assert thing.exists(), thing


def test_nothing_installed_is_nothing_to_do(home: Path) -> None:
    leftovers = uninstall.find_leftovers()
    assert leftovers.empty and leftovers.folders == () and leftovers.autostart_entry is None
    assert uninstall.remove_leftovers(leftovers) == []
    assert not paths.state_dir().exists()
    assert not paths.config_dir().exists()


def test_demo_world_home_removes_only_our_folders(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "world"
    monkeypatch.setenv(paths.HOME_VARIABLE, str(root))
    aws = paths.aws_dir()
    aws.mkdir(parents=True)
    credfile.write_credentials(paths.aws_credentials_file(), "demo", creds("ASIADEMO000000000001"))
    (aws / "config").write_text("[profile demo]\n")
    settings.update_settings(lambda s: s.with_favorite("demo"))

    leftovers = uninstall.find_leftovers()
    assert leftovers.credential_sections == ("demo",)
    assert {f.path for f in leftovers.folders} == {root / "config", root / "state"}
    uninstall.remove_leftovers(leftovers)

    assert sorted(p.name for p in root.iterdir()) == ["aws"]
    assert (aws / "config").read_text() == "[profile demo]\n"
    assert credfile.read_section(paths.aws_credentials_file(), "demo") is None


def test_only_the_current_credentials_file_is_cleaned_and_only_of_what_we_created_there(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Known limit (kept): sections we wrote into an earlier AWS_SHARED_CREDENTIALS_FILE stay.
    # What matters is that nothing is removed that we did not create in the current file, even
    # a section with the name of one of ours elsewhere.
    earlier = home / "earlier-credentials"
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(earlier))
    credfile.write_credentials(earlier, "dev", creds("ASIAEARLIER000000001"))
    earlier_bytes = earlier.read_bytes()
    monkeypatch.delenv("AWS_SHARED_CREDENTIALS_FILE")
    current = credentials_file(home)
    user_dev = "[dev]\naws_access_key_id = ASIAUSERS0000000001\naws_secret_access_key = s\n"
    current.write_text(user_dev + "aws_session_token = t\n")
    before = current.read_bytes()

    leftovers = uninstall.find_leftovers()
    assert leftovers.credentials_file == current and leftovers.credential_sections == ()
    uninstall.remove_leftovers(leftovers)

    assert current.read_bytes() == before
    assert earlier.read_bytes() == earlier_bytes
