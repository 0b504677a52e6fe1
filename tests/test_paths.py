"""Where files live: botocore's variables, ~ at call time, and the AWS_SSO_TRAY_HOME world."""

from __future__ import annotations

from pathlib import Path

import pytest

from aws_sso_tray.files import paths


def test_defaults_follow_home_at_call_time(home: Path) -> None:
    assert paths.aws_config_file() == home / ".aws" / "config"
    assert paths.aws_credentials_file() == home / ".aws" / "credentials"
    assert paths.sso_cache_dir() == home / ".aws" / "sso" / "cache"
    assert paths.cli_cache_dir() == home / ".aws" / "cli" / "cache"
    assert paths.config_dir() == home / ".config" / "aws-sso-tray"
    assert paths.state_dir() == home / ".local" / "state" / "aws-sso-tray"


def test_botocore_variables_win(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", "~/elsewhere/cfg")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "creds"))
    assert paths.aws_config_file() == home / "elsewhere" / "cfg"
    assert paths.aws_credentials_file() == home / "creds"


def test_one_folder_holds_a_separate_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SSO_TRAY_HOME", str(tmp_path / "demo"))
    root = tmp_path / "demo"
    assert paths.aws_config_file() == root / "aws" / "config"
    assert paths.sso_cache_dir() == root / "aws" / "sso" / "cache"
    assert paths.cli_cache_dir() == root / "aws" / "cli" / "cache"
    assert paths.config_dir() == root / "config"
    assert paths.state_dir() == root / "state"
    assert paths.log_dir() == root / "log"


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"XDG_CONFIG_HOME": None, "XDG_STATE_HOME": None},
        {"XDG_CONFIG_HOME": "", "XDG_STATE_HOME": ""},
        {"XDG_CONFIG_HOME": "relative/cfg", "XDG_STATE_HOME": "relative/state"},
        {"XDG_CONFIG_HOME": "/elsewhere/cfg/", "XDG_STATE_HOME": "/elsewhere/state"},
        {"HOME": "/home/with/trailing/slash/", "XDG_CONFIG_HOME": None, "XDG_STATE_HOME": None},
        {"AWS_SSO_TRAY_HOME": "/demo/world"},
    ],
)
def test_string_locations_agree_with_platformdirs(
    env: dict[str, str | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    # credential-process's fast path finds settings.toml without platformdirs: same answer
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    assert Path(paths.config_location()) == paths.config_dir()
    assert Path(paths.state_location()) == paths.state_dir()
