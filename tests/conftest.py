"""Shared fixtures: an isolated HOME for every test, and the Identity Center emulator.

Every test runs with HOME, the XDG folders and the AWS variables pointed into its own temporary
folder, so no test can read or damage the real ~/.aws, and botocore never probes the instance
metadata address.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import settings as hypothesis_settings

if TYPE_CHECKING:
    from aws_sso_tray.emulator import Emulator
    from fixture_types import RunCli, WriteConfig

# Property tests: 200 examples in the full run (CI), fewer in the fast loop
# (`-m "not slow and not desktop"`, see CONTRIBUTING.md), where speed is the point. No deadline:
# an example's time is not what these tests check (timings live in benchmarks/), and on a loaded
# machine hypothesis's 200 ms default failed examples that start a subprocess.
hypothesis_settings.register_profile("full", max_examples=200, deadline=None)
hypothesis_settings.register_profile("fast", max_examples=50, deadline=None)


def pytest_configure(config: pytest.Config) -> None:
    fast = "not slow" in (config.getoption("markexpr", "") or "")
    hypothesis_settings.load_profile("fast" if fast else "full")


_AWS_VARS_TO_CLEAR = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_SSO",
    "AWS_ENDPOINT_URL_SSO_OIDC",
    "AWS_CA_BUNDLE",
    "BROWSER",
    "AWS_SSO_TRAY_HOME",
)


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh HOME with an empty ~/.aws, and XDG folders inside the test's temp folder."""
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))
    for var, sub in (
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_STATE_HOME", ".local/state"),
        ("XDG_CACHE_HOME", ".cache"),
        ("XDG_DATA_HOME", ".local/share"),
    ):
        monkeypatch.setenv(var, str(home / sub))
    for var in _AWS_VARS_TO_CLEAR:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # botocore fixes these folders from HOME when it is imported, before this fixture runs:
    # point them at the test's HOME too, or stock boto3 would use the real ~/.aws caches.
    import botocore.credentials
    import botocore.tokens
    import botocore.utils

    sso_cache = str(home / ".aws" / "sso" / "cache")
    monkeypatch.setattr(botocore.tokens.SSOTokenProvider, "_SSO_TOKEN_CACHE_DIR", sso_cache)
    monkeypatch.setattr(botocore.credentials.SSOProvider, "_SSO_TOKEN_CACHE_DIR", sso_cache)
    monkeypatch.setattr(
        botocore.utils.JSONFileCache, "CACHE_DIR", str(home / ".aws" / "boto" / "cache")
    )
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    return home


@pytest.fixture
def aws_config(home: Path) -> WriteConfig:
    """Write ~/.aws/config: `aws_config(text)` returns the path."""

    def write(text: str) -> Path:
        path = home / ".aws" / "config"
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """A running emulator; AWS_ENDPOINT_URL_SSO / _SSO_OIDC point at it."""
    from aws_sso_tray.emulator import Emulator, EmulatorConfig

    emu = Emulator(EmulatorConfig())
    emu.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSO", emu.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSO_OIDC", emu.url)
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def cli() -> RunCli:
    """`cli("list", "--json")` runs the real CLI in a subprocess with the test's environment.

    Keyword `env` adds variables; returns the CompletedProcess (text mode).
    """
    import subprocess

    def run(
        *args: str,
        env: dict[str, str] | None = None,
        input: str | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        return subprocess.run(
            [sys.executable, "-m", "aws_sso_tray", *args],
            capture_output=True,
            text=True,
            env=full_env,
            input=input,
            timeout=timeout,
            check=False,
        )

    return run
