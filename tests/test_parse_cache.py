"""Each file parsed once per change: the shared parse, its invalidation, and the engine's reads.

Parses are counted by wrapping `IniDocument._parse` (every document, whatever its class, runs
it once when built). Real files in the temporary HOME, the real engine against the emulator.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from aws_sso_tray import clock
from aws_sso_tray.aws.profiles import SsoSession
from aws_sso_tray.engine.options import EngineOptions
from aws_sso_tray.engine.worker import Engine
from aws_sso_tray.errors import ConfigError
from aws_sso_tray.files import credfile, inifile, paths, settings
from sso_helpers import device_login

SESSION = SsoSession(
    "corp", "https://d-1234567890.awsapps.com/start", "us-east-1", ("sso:account:access",)
)
PROFILES = [f"p{i:02d}" for i in range(12)]


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> Callable[[], int]:
    """How many INI documents were parsed since the fixture was made (`parses()`)."""
    count = 0
    real = inifile.IniDocument._parse

    def counting(self: inifile.IniDocument) -> None:
        nonlocal count
        count += 1
        real(self)

    monkeypatch.setattr(inifile.IniDocument, "_parse", counting)
    return lambda: count


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files count as settled at once (the real rule waits out a coarse mtime tick)."""
    monkeypatch.setattr(inifile, "SETTLE_SECONDS", 0.0)


@pytest.fixture
def cred_file(home: Path) -> Path:
    return home / ".aws" / "credentials"


def sections_text(count: int, value: str = "1") -> str:
    return "".join(f"[s{i}]\nregion = r{i}\nx = {value}\n\n" for i in range(count))


# --- the shared parse ------------------------------------------------------------------------


@pytest.mark.usefixtures("settled")
def test_many_sections_cost_one_parse(cred_file: Path, parses: Callable[[], int]) -> None:
    cred_file.write_text(sections_text(50))
    names = [f"s{i}" for i in range(50)]
    found = credfile.read_sections(cred_file, [*names, "absent"])
    assert parses() == 1
    assert found["s7"] == {"region": "r7", "x": "1"}
    assert found["absent"] is None
    for i, name in enumerate(names):
        assert credfile.read_section(cred_file, name) == {"region": f"r{i}", "x": "1"}
    assert credfile.owned_sections(cred_file) == frozenset()
    assert parses() == 1  # the same file: the same parse


@pytest.mark.usefixtures("settled")
def test_an_outside_write_is_seen(cred_file: Path, parses: Callable[[], int]) -> None:
    cred_file.write_text(sections_text(3))
    assert credfile.read_section(cred_file, "s1") == {"region": "r1", "x": "1"}
    with cred_file.open("a") as handle:  # appended in place: same inode, new size
        handle.write("[late]\nx = 2\n")
    assert credfile.read_section(cred_file, "late") == {"x": "2"}
    replacement = cred_file.with_name("new")
    replacement.write_text(sections_text(3, value="9"))  # the same size, a new inode
    replacement.replace(cred_file)
    assert credfile.read_section(cred_file, "s1") == {"region": "r1", "x": "9"}
    assert parses() == 3


def test_a_same_size_rewrite_within_one_mtime_tick_is_seen(
    cred_file: Path, parses: Callable[[], int]
) -> None:
    # A coarse filesystem clock gives a rewrite the old mtime; here the rewrite puts it back.
    cred_file.write_text(sections_text(3))
    before = cred_file.stat()
    assert credfile.read_section(cred_file, "s2") == {"region": "r2", "x": "1"}
    cred_file.write_text(sections_text(3, value="7"))  # in place: same inode, same size
    os.utime(cred_file, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = cred_file.stat()
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (
        before.st_ino,
        before.st_size,
        before.st_mtime_ns,
    )
    assert credfile.read_section(cred_file, "s2") == {"region": "r2", "x": "7"}
    assert parses() == 2  # a file changed in the last seconds is never kept


def test_a_file_is_settled_only_seconds_after_its_last_change(
    cred_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cred_file.write_text("[a]\nx = 1\n")
    st = cred_file.stat()
    assert not inifile._settled(st)
    later = max(st.st_mtime_ns, st.st_ctime_ns) + int(inifile.SETTLE_SECONDS * 1e9)
    monkeypatch.setattr(time, "time_ns", lambda: later)  # the clock inifile reads
    assert inifile._settled(st)


@pytest.mark.usefixtures("settled")
def test_an_unreadable_file_is_refused_every_time(cred_file: Path) -> None:
    cred_file.write_text("[a]\nx = 1\nnot an option\n")
    for _ in range(2):  # the shared parse keeps its problems
        with pytest.raises(ConfigError, match="line 3"):
            credfile.read_sections(cred_file, ["a"])


@pytest.mark.usefixtures("settled")
def test_a_big_file_is_not_held(
    cred_file: Path, parses: Callable[[], int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inifile, "SHARED_MAX_BYTES", 10)
    cred_file.write_text(sections_text(2))
    credfile.read_section(cred_file, "s0")
    credfile.read_section(cred_file, "s1")
    assert parses() == 2


# --- the engine --------------------------------------------------------------------------------


@pytest.fixture
def engine(emulator: Any, aws_config: Any) -> Engine:
    text = (
        f"[sso-session {SESSION.name}]\nsso_start_url = {SESSION.start_url}\n"
        f"sso_region = {SESSION.region}\nsso_registration_scopes = sso:account:access\n\n"
    )
    for name in PROFILES:
        text += (
            f"[profile {name}]\nsso_session = {SESSION.name}\nsso_account_id = 111111111111\n"
            f"sso_role_name = ReadOnly\nregion = us-east-1\n\n"
        )
    aws_config(text)
    device_login(emulator, SESSION)
    settings.update_settings(lambda s: _keep_fresh(s, PROFILES))
    return Engine(options=EngineOptions(watch_interval=0, env={}))


def _keep_fresh(current: settings.Settings, names: list[str]) -> settings.Settings:
    for name in names:
        current = current.with_auto_sync(name)
    return current


def test_the_engine_reads_every_section_from_one_parse_and_skips_its_own_writes(
    engine: Engine, parses: Callable[[], int]
) -> None:
    engine.tick()  # the first sync: the file did not exist, so only the write parses it
    assert parses() == 1
    engine.refresh_now()
    engine.tick()
    assert parses() == 2  # the write's own read of the file, nothing after it
    engine.tick()
    engine.tick()
    assert parses() == 2  # our own write is no change to re-read

    # Another program moves one section's expiry: one parse, and the engine sees it.
    path = paths.aws_credentials_file()
    soon = clock.now().replace(microsecond=0) + timedelta(minutes=42)
    text = path.read_text()
    old = credfile.read_section(path, "p03")
    assert old is not None
    parsed = parses()
    head, tail = text.split("[p03]", 1)
    tail = tail.replace(old[credfile.EXPIRATION], clock.format_time(soon), 1)
    path.write_text(f"{head}[p03]{tail}\n[someone-else]\nx = 1\n")
    engine.tick()
    assert parses() == parsed + 1
    state = engine.snapshot.profile("p03")
    assert state is not None and state.credentials_expire_at == soon


def test_status_without_an_engine_parses_the_file_once(
    engine: Engine, parses: Callable[[], int]
) -> None:
    engine.tick()
    before = parses()
    offline = Engine(options=EngineOptions(publish_file=False, watch_interval=0))
    snap = offline.offline_snapshot()
    assert parses() == before + 1
    for name in PROFILES:
        state = snap.profile(name)
        assert state is not None and state.credentials_expire_at is not None
