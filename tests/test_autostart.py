"""Start at login: the entry each platform reads, written into the test's HOME, and switched off."""

from __future__ import annotations

import configparser
import os
import plistlib
import shlex
import stat
import sys
from pathlib import Path

import pytest

from aws_sso_tray.desktop import autostart


def test_linux_desktop_entry_round_trip(home: Path) -> None:
    assert autostart.is_enabled("linux") is False
    path = autostart.enable("linux")
    assert path == home / ".config" / "autostart" / "aws-sso-tray.desktop"
    assert autostart.is_enabled("linux") is True
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(path, encoding="utf-8")
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application"
    assert shlex.split(entry["Exec"]) == [
        sys.executable,
        "-m",
        "aws_sso_tray",
        "tray",
        "--autostart",
    ]
    assert path.stat().st_mode & 0o777 == 0o644
    assert autostart.disable("linux") is True
    assert not path.exists()
    assert autostart.disable("linux") is False
    assert autostart.is_enabled("linux") is False


def test_linux_entry_switched_off_by_the_desktop_counts_as_off(home: Path) -> None:
    path = autostart.enable("linux")
    path.write_text(path.read_text().replace("enabled=true", "enabled=false"))
    assert autostart.is_enabled("linux") is False
    path.write_text(autostart.desktop_entry(["x"]) + "Hidden=true\n")
    assert autostart.is_enabled("linux") is False
    # Switching it on again from the tray rewrites it.
    assert autostart.set_enabled(True, "linux") is True


def test_exec_quoting_survives_spaces_and_percent() -> None:
    entry = autostart.desktop_entry(["/opt/my apps/py$thon", "-m", "50%"])
    exec_line = next(line for line in entry.splitlines() if line.startswith("Exec="))
    assert exec_line == 'Exec="/opt/my apps/py\\$thon" -m 50%%'


def test_xdg_config_home_is_respected(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "elsewhere"))
    assert autostart.enable("linux") == home / "elsewhere" / "autostart" / "aws-sso-tray.desktop"


def test_macos_launch_agent(home: Path) -> None:
    path = autostart.enable("darwin")
    assert path == home / "Library" / "LaunchAgents" / "io.github.aws-sso-tray.plist"
    agent = plistlib.loads(path.read_bytes())
    assert agent["Label"] == "io.github.aws-sso-tray"
    assert agent["RunAtLoad"] is True
    assert agent["ProgramArguments"][-2:] == ["tray", "--autostart"]
    assert autostart.is_enabled("darwin") is True
    assert autostart.disable("darwin") is True
    assert autostart.is_enabled("darwin") is False


def test_windows_startup_folder(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APPDATA", str(home / "AppData" / "Roaming"))
    path = autostart.enable("win32")
    assert path == (
        home / "AppData/Roaming/Microsoft/Windows/Start Menu/Programs/Startup/aws-sso-tray.cmd"
    )
    script = path.read_bytes().decode("utf-8")
    assert script.startswith('@echo off\r\nstart "" ')
    assert script.rstrip().endswith("-m aws_sso_tray tray --autostart")
    assert autostart.is_enabled("win32") is True
    assert autostart.set_enabled(False, "win32") is False


@pytest.mark.parametrize("platform", ["linux", "darwin", "win32"])
def test_a_separate_world_starts_nothing_at_login(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, platform: str
) -> None:
    # The demo's tray (AWS_SSO_TRAY_HOME) toggles an entry in its own world, never the real one.
    world = tmp_path / "world"
    monkeypatch.setenv("AWS_SSO_TRAY_HOME", str(world))
    monkeypatch.setenv("APPDATA", str(home / "AppData" / "Roaming"))
    path = autostart.enable(platform)
    assert path.is_relative_to(world), path
    assert autostart.is_enabled(platform)
    assert not any(p.is_file() for p in home.rglob("*")), "wrote into the real HOME"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")
@pytest.mark.parametrize("platform", ["linux", "darwin", "win32"])
def test_folders_made_for_the_entry_are_0700_under_umask_000_and_existing_ones_unchanged(
    home: Path, monkeypatch: pytest.MonkeyPatch, platform: str
) -> None:
    # The login-entry folder is shared with other apps: one we create is 0700 like every folder
    # we make (a 0777 one would let other users swap the command run at login), whatever the
    # umask; one that is already there keeps its mode.
    monkeypatch.setenv("APPDATA", str(home / "AppData" / "Roaming"))
    (home / "AppData").mkdir(mode=0o755)
    (home / "AppData").chmod(0o755)
    previous = os.umask(0)
    try:
        path = autostart.enable(platform)
    finally:
        os.umask(previous)
    created = [p for p in path.relative_to(home).parents if p != Path()]
    for folder in created:
        if folder == Path("AppData"):
            continue
        assert stat.S_IMODE((home / folder).stat().st_mode) == 0o700, folder
    assert stat.S_IMODE((home / "AppData").stat().st_mode) == 0o755
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert autostart.is_enabled(platform)
