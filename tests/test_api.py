"""The facade and the core pieces it brought together, in-process against the emulator.

The CLI's own tests (test_cli.py) run the same paths through a subprocess; these check what the
faces get back: structured results, one bounded pool, one long-term-keys rule.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from aws_sso_tray import api
from aws_sso_tray.aws import rolecreds
from aws_sso_tray.errors import ConfigError, LongTermKeysError
from aws_sso_tray.files import credfile
from test_cli import CONFIG, logged_in, setup  # noqa: F401 (fixtures)

if TYPE_CHECKING:
    from aws_sso_tray.emulator import Emulator
    from fixture_types import WriteConfig


def test_importing_the_api_loads_no_core_module() -> None:
    code = (
        "import sys, aws_sso_tray.api\n"
        "print(sorted(m for m in sys.modules if m.startswith(('aws_sso_tray', 'boto'))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "['aws_sso_tray', 'aws_sso_tray.api', 'aws_sso_tray.errors']"


def test_run_bounded_keeps_order_errors_and_the_bound() -> None:
    running, most = 0, 0
    lock = threading.Lock()

    def work(n: int) -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.02)
        with lock:
            running -= 1
        if n == 3:
            raise ValueError("three")
        return n * 10

    results = rolecreds.run_bounded(work, list(range(8)), 3)
    assert [r for r, _ in results] == [0, 10, 20, None, 40, 50, 60, 70]
    assert [type(e).__name__ for _, e in results if e is not None] == ["ValueError"]
    assert 1 < most <= 3
    assert rolecreds.run_bounded(work, [], 3) == []


def test_sync_once_returns_what_it_wrote_and_each_failure(
    logged_in: Emulator,  # noqa: F811
    aws_config: WriteConfig,
    home: Path,
) -> None:
    aws_config(
        CONFIG + "\n[profile nope]\nsso_session = corp\nsso_account_id = 999999999999\n"
        "sso_role_name = Ghost\n"
    )
    result = api.sync_once(["dev", "nope", "prod:p", "dev"], jobs=2)
    assert [(name, section) for name, section, _ in result.written] == [
        ("dev", "dev"),
        ("prod", "p"),
    ]
    assert [name for name, _ in result.failures] == ["nope"]
    text = (home / ".aws" / "credentials").read_text()
    assert "[dev]" in text and "[p]" in text and "[nope]" not in text
    assert all(creds.session_token for _, _, creds in result.written)
    with pytest.raises(ConfigError, match=r"\[x\] named for both 'dev' and 'prod'"):
        api.sync_once(["dev:x", "prod:x"])


def test_one_long_term_keys_rule_for_auto_add_and_writes(
    logged_in: Emulator,  # noqa: F811
    home: Path,
) -> None:
    path = home / ".aws" / "credentials"
    before = path.read_bytes()
    with pytest.raises(LongTermKeysError, match=r"keep dev fresh in another section"):
        api.keep_fresh("dev", "static")
    with pytest.raises(LongTermKeysError, match=r"refusing to overwrite them"):
        credfile.check_writable_section(path, "default")
    assert path.read_bytes() == before
    credfile.check_writable_section(path, "absent")  # no section: nothing to refuse
    credfile.check_writable_section(home / "missing", "default")  # no file either
    # a section we wrote is ours to rewrite, and to keep fresh
    api.export_to_section("mine", api.sso_credentials("dev"))
    credfile.check_writable_section(path, "mine")
    assert api.keep_fresh("dev", "mine").sync_section("dev") == "mine"
    assert ("dev", "mine") in api.keep_fresh_targets()[0]
    # one function for both faces: the tray's keep-fresh is refused the same way
    with pytest.raises(ConfigError, match="ghost"):
        api.keep_fresh("ghost")
    stopped = api.stop_keeping_fresh("dev")
    assert stopped is not None and stopped.sync_section("dev") is None
    assert api.stop_keeping_fresh("dev") is None  # it was not kept fresh any more


def test_credentials_of_a_static_profile_come_from_botocore(
    logged_in: Emulator,  # noqa: F811
) -> None:
    creds = api.credentials("static")
    assert isinstance(creds, rolecreds.RoleCredentials)
    assert creds.access_key_id == "AKIASTATICEXAMPLE000"
    assert creds.session_token is None and creds.expiration is None
    with pytest.raises(ConfigError, match="no profile 'ghost'"):
        api.credentials("ghost")


def test_list_profiles_tells_each_session_state(
    setup: Emulator,  # noqa: F811
) -> None:
    listing = api.list_profiles()
    assert [p.name for p in listing.profiles] == ["dev", "dev-admin", "prod"]
    assert {p.without_token for p in listing.profiles} == {"not signed in"}
    assert listing.profiles[0].to_json()["token_expires_at"] is None


def test_logout_by_session_key_is_the_same_logout(
    logged_in: Emulator,  # noqa: F811
) -> None:
    key = api.list_profiles().profiles[0].session_key
    session = api.session_for(key)
    assert session.name == "corp" and session.cache_key == key
    result = api.logout(session)
    assert result.token_found and result.revoke_error is None
    assert {p.without_token for p in api.list_profiles().profiles} == {"signed out"}
    with pytest.raises(ConfigError, match="no SSO session 'gone'"):
        api.session_for("gone")
