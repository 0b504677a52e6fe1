"""The refresh engine against the real emulator and real files, driven by an injected clock.

The clock is the one thing faked: `FakeClock` is real time plus an offset, so the emulator (real
time plus `advance()`) and the engine agree. `advance` moves both clocks (time passing while
awake); `jump` moves only the wall clock (a suspend, or someone setting the clock).
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from aws_sso_tray import clock
from aws_sso_tray.aws.profiles import SsoSession
from aws_sso_tray.desktop.notify import Notice
from aws_sso_tray.engine.options import Clock, EngineOptions
from aws_sso_tray.engine.outbox import NoticeSink
from aws_sso_tray.engine.worker import THREAD_NAME, Engine
from aws_sso_tray.files import credfile, paths, settings
from aws_sso_tray.snapshot import ProfileStatus, SessionStatus
from sso_helpers import device_login
from waiting import wait_for

if TYPE_CHECKING:
    from aws_sso_tray.emulator import Emulator
    from fixture_types import RunCli, WriteConfig

SESSION = SsoSession(
    "corp", "https://d-1234567890.awsapps.com/start", "us-east-1", ("sso:account:access",)
)
STANDIN = "aws_sso_tray.emulator.browser"  # the browser stand-in, run with -m
PROFILES = {
    "dev": ("111111111111", "ReadOnly"),
    "dev-admin": ("111111111111", "Admin"),
    "prod": ("222222222222", "ReadOnly"),
}


class FakeClock:
    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.offset = 0.0
        self.mono_offset = 0.0
        self.fail_next = False

    def now(self) -> datetime:
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("a bug somewhere in a tick")
        return clock.now() + timedelta(seconds=self.offset)

    def monotonic(self) -> float:
        return time.monotonic() + self.mono_offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds
        self.mono_offset += seconds
        self.emu.advance(seconds)

    def jump(self, seconds: float) -> None:
        self.offset += seconds
        if seconds > 0:
            self.emu.advance(seconds)


class Notices:
    """The desktop edge: records what would be shown."""

    def __init__(self) -> None:
        self.sent: list[Notice] = []
        self.cleared: list[str] = []
        self.on_action = None

    def send(self, notice: Notice) -> None:
        self.sent.append(notice)

    def clear(self, key: str) -> None:
        self.cleared.append(key)

    def keys_sent(self) -> list[str]:
        return [n.key for n in self.sent]


# The fakes stand in for the engine's edges: checked against the protocols the engine reads.
_clock: type[Clock] = FakeClock
_sink: type[NoticeSink] = Notices

# `setup`: the emulator, the engine's clock, its notices, and `make(**options)` for an engine.
Setup = tuple["Emulator", FakeClock, Notices, Callable[..., Engine]]


def config_text() -> str:
    text = (
        f"[sso-session {SESSION.name}]\nsso_start_url = {SESSION.start_url}\n"
        f"sso_region = {SESSION.region}\nsso_registration_scopes = sso:account:access\n\n"
    )
    for name, (account, role) in PROFILES.items():
        text += (
            f"[profile {name}]\nsso_session = {SESSION.name}\nsso_account_id = {account}\n"
            f"sso_role_name = {role}\nregion = us-east-1\n\n"
        )
    return text


@pytest.fixture
def setup(emulator: Emulator, aws_config: WriteConfig) -> Setup:
    aws_config(config_text())
    emulator.config.device_poll_interval = 0  # device sign-ins here are approved at once
    device_login(emulator, SESSION)
    for name in PROFILES:
        settings.add_auto_sync(name)
    fake = FakeClock(emulator)
    notices = Notices()

    def make(**kw: Any) -> Engine:
        kw.setdefault("env", {})
        return Engine(notifier=notices, options=EngineOptions(clock=fake, watch_interval=0, **kw))

    return emulator, fake, notices, make


def read_credentials() -> dict[str, Any]:
    from botocore.configloader import raw_config_parse

    return raw_config_parse(str(paths.aws_credentials_file()))


def test_first_tick_writes_every_section_in_one_write(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu, _fake, _notices, make = setup
    writes: list[list[str]] = []
    real_write_many = credfile.write_many

    def spy(path: Path, updates: Any, **kw: Any) -> None:
        writes.append(sorted(updates))
        real_write_many(path, updates, **kw)

    monkeypatch.setattr(credfile, "write_many", spy)
    engine = make()
    engine.tick()
    assert writes == [sorted(PROFILES)]
    assert emu.count("GetRoleCredentials") == 3
    creds = read_credentials()
    for name in PROFILES:
        assert creds[name]["aws_access_key_id"].startswith("ASIA")
        assert creds[name]["aws_session_token"]
    snap = engine.snapshot
    for name in PROFILES:
        state = snap.profile(name)
        assert state is not None and state.status == ProfileStatus.FRESH
        assert state.synced_section == name
        assert state.credentials_expire_at is not None
        assert state.next_refresh_at == state.credentials_expire_at - timedelta(minutes=10)
    session = snap.session("corp")
    assert session is not None and session.status == SessionStatus.LOGGED_IN


def test_nothing_is_called_while_nothing_is_due(setup: Setup) -> None:
    emu, fake, _notices, make = setup
    engine = make()
    engine.tick()
    emu.clear_requests()
    for _ in range(45):  # 45 minutes of ticks: credentials last an hour, lead is 10 min
        fake.advance(60)
        engine.tick()
    assert emu.requests == []
    # A second engine starting on fresh sections makes no portal call either.
    make().tick()
    assert emu.requests == []
    fake.advance(6 * 60)  # 51 min: inside the lead time
    engine.tick()
    assert emu.count("GetRoleCredentials") == 3
    state = engine.snapshot.profile("dev")
    assert state is not None and state.credentials_expire_at is not None
    assert state.credentials_expire_at - fake.now() > timedelta(minutes=55)


def test_resume_after_8_hours_refreshes_within_one_tick(setup: Setup) -> None:
    emu, fake, _notices, make = setup
    emu.config.session_ttl = 24 * 3600
    device_login(emu, SESSION)  # a session that outlives the night
    engine = make()
    engine.tick()
    before = read_credentials()["dev"]["aws_access_key_id"]
    emu.clear_requests()
    fake.jump(8 * 3600)  # asleep overnight: the monotonic clock did not move
    engine.tick()
    assert emu.count("GetRoleCredentials") == 3, (engine.snapshot, emu.requests)
    assert emu.count("GetRoleCredentials") == 3
    assert emu.count("CreateToken") == 1  # the SSO token renewed with its refresh token
    after = read_credentials()
    assert after["dev"]["aws_access_key_id"] != before
    state = engine.snapshot.profile("dev")
    assert state is not None and state.status == ProfileStatus.FRESH
    assert state.credentials_expire_at is not None and state.credentials_expire_at > fake.now()


def test_clock_set_back_does_not_stall_or_storm(setup: Setup) -> None:
    emu, fake, _notices, make = setup
    engine = make()
    engine.tick()
    emu.clear_requests()
    fake.jump(-3600)
    for _ in range(5):
        engine.tick()
    assert emu.requests == []  # credentials now look *longer* valid: nothing due
    fake.jump(3600)
    fake.advance(51 * 60)
    engine.tick()
    assert emu.count("GetRoleCredentials") == 3


@pytest.mark.slow
def test_endpoint_failures_back_off_with_jitter_then_recover(setup: Setup) -> None:
    emu, fake, notices, make = setup
    engine = make()
    engine.tick()
    fake.advance(51 * 60)
    emu.clear_requests()
    emu.inject_fault("GetRoleCredentials", "5xx", count=1000)
    engine.tick()  # botocore retried each call itself; then the engine backs off
    first = emu.count("GetRoleCredentials")
    assert first >= 3
    state = engine.snapshot.profile("dev")
    assert state is not None and state.last_error and "InternalServer" in state.last_error
    assert state.status == ProfileStatus.FRESH  # the section still holds valid credentials
    assert state.next_refresh_at is not None and state.next_refresh_at > fake.now()
    engine.tick()
    assert emu.count("GetRoleCredentials") == first  # backing off: no hammering
    for _ in range(2):  # two more failed rounds: reported as failing, once
        fake.advance(backoff_cap_seconds())
        engine.tick()
    state = engine.snapshot.profile("dev")
    assert state is not None and state.status == ProfileStatus.ERROR
    assert notices.keys_sent().count("refresh-failed") == 1
    emu.clear_faults()
    fake.advance(backoff_cap_seconds())
    engine.tick()
    state = engine.snapshot.profile("dev")
    assert state is not None and state.status == ProfileStatus.FRESH and state.last_error is None
    assert "refresh-failed" in notices.cleared


def backoff_cap_seconds() -> float:
    from aws_sso_tray.engine import timing

    return timing.BACKOFF_CAP.total_seconds() + 1


def test_unwritable_credentials_file_is_reported_and_kept(setup: Setup) -> None:
    emu, fake, _notices, make = setup
    engine = make()
    engine.tick()
    path = paths.aws_credentials_file()
    original = path.read_bytes()
    path.chmod(0o400)
    fake.advance(51 * 60)
    emu.clear_requests()
    engine.tick()
    assert path.read_bytes() == original
    state = engine.snapshot.profile("dev")
    assert state is not None and state.last_error and str(path.name) in state.last_error
    assert emu.count("GetRoleCredentials") == 3
    path.chmod(0o600)
    fake.advance(backoff_cap_seconds())
    engine.tick()
    # The credentials fetched before are written now; no second trip to the portal.
    assert emu.count("GetRoleCredentials") == 3
    assert path.read_bytes() != original
    state = engine.snapshot.profile("dev")
    assert state is not None and state.status == ProfileStatus.FRESH and state.last_error is None


def test_auto_sync_added_while_running_takes_effect_at_once(setup: Setup) -> None:
    _emu, _fake, _notices, make = setup
    settings.remove_auto_sync("prod")
    engine = make()
    engine.tick()
    assert "prod" not in read_credentials()
    settings.add_auto_sync("prod", "production")
    engine.tick()
    assert read_credentials()["production"]["aws_access_key_id"].startswith("ASIA")
    state = engine.snapshot.profile("prod")
    assert state is not None and state.synced_section == "production"


def test_expired_session_stops_hammering_and_opens_the_login_once(setup: Setup) -> None:
    emu, fake, notices, make = setup
    opened: list[str] = []
    engine = make(opener=opened.append, env={"DISPLAY": ":99"})
    engine.tick()
    emu.revoke_all()  # the administrator ended the session
    fake.advance(51 * 60)
    emu.clear_requests()
    engine.tick()
    wait_for(lambda: opened, "the login page to be opened")
    snap = engine.snapshot
    state = snap.profile("dev")
    assert state is not None and state.status == ProfileStatus.LOGIN_NEEDED
    assert "auto-login:corp" in notices.keys_sent()
    (notice,) = [n for n in notices.sent if n.key == "auto-login:corp"]
    names = list(PROFILES)
    kept = f"{', '.join(names[:-1])} and {names[-1]} are kept fresh: sign in"
    assert kept in notice.message, notice.message
    calls = len([r for r in emu.requests if r.op in ("GetRoleCredentials", "CreateToken")])
    for _ in range(10):
        fake.advance(30)
        engine.tick()
    assert len([r for r in emu.requests if r.op in ("GetRoleCredentials", "CreateToken")]) == calls
    assert len(opened) == 1
    # PKCE on a desktop, device code in a container (choose_flow decides); either is ours
    assert opened[0].startswith((emu.url + "/authorize?", emu.url + "/device?"))
    engine.stop()


def test_login_through_the_browser_standin_re_arms_and_refreshes(setup: Setup) -> None:
    emu, fake, notices, make = setup

    def browser(url: str) -> None:  # the person presses Allow on the page
        subprocess.run(
            [sys.executable, "-m", STANDIN, "--foreground", url],
            check=True,
            timeout=30,
            env=os.environ,
        )

    engine = make(opener=browser, env={"DISPLAY": ":99"})
    engine.tick()
    emu.revoke_all()
    fake.advance(51 * 60)
    engine.tick()  # login needed: the login starts on its own thread
    wait_for(lambda: not any(t.name.startswith("login-") for t in threading.enumerate()), "login")
    engine.tick()  # picks up the new token: refreshes at once
    state = engine.snapshot.profile("dev")
    assert state is not None and state.status == ProfileStatus.FRESH, state
    assert "login:corp" in notices.keys_sent()
    assert "login-needed:corp" in notices.cleared


def test_no_auto_login_when_turned_off_or_headless(setup: Setup) -> None:
    emu, fake, notices, make = setup
    opened: list[str] = []
    headless = make(opener=opened.append, env={})
    headless.tick()
    emu.revoke_all()
    fake.advance(51 * 60)
    headless.tick()
    assert opened == []
    assert "login-needed:corp" in notices.keys_sent()  # the notice with its Log in button instead
    settings.update_settings(lambda s: s.replace(auto_login=False))
    with_display = make(opener=opened.append, env={"DISPLAY": ":99"})
    with_display.tick()
    wait_for(lambda: not _login_threads(), "the tick's logins and browsers to finish")
    assert opened == []


def test_no_browser_in_the_first_minute_after_resume(setup: Setup) -> None:
    _emu, fake, _notices, make = setup
    opened: list[str] = []
    engine = make(opener=opened.append, env={"DISPLAY": ":99"})
    engine.tick()
    fake.jump(9 * 3600)  # past the 8 h session: the refresh is refused
    engine.tick()
    state = engine.snapshot.profile("dev")
    assert state is not None and state.status == ProfileStatus.LOGIN_NEEDED
    wait_for(lambda: not _login_threads(), "the tick's logins and browsers to finish")
    assert opened == []  # the user has only just opened the lid
    fake.advance(61)
    engine.tick()
    wait_for(lambda: opened, "the login page after the grace minute")
    engine.stop()


def test_worker_thread_survives_a_bug_and_stops_fast(setup: Setup) -> None:
    _emu, fake, _notices, make = setup
    engine = make()
    fake.fail_next = True  # the first tick blows up
    engine.start()
    assert any(t.name == THREAD_NAME for t in threading.enumerate())
    wait_for(lambda: engine.snapshot.profile("dev") is not None, "a tick after the bug")
    wait_for(lambda: paths.aws_credentials_file().exists(), "the credentials file")
    wait_for(lambda: "dev" in read_credentials(), "the section")
    # The worker waits on its stop event: it ends at once, far inside a minute's tick.
    assert engine.stop(timeout=30)
    assert not any(t.name == THREAD_NAME for t in threading.enumerate())


def test_subscribers_and_snapshot_file(setup: Setup) -> None:
    from aws_sso_tray.engine import statusfile

    _emu, _fake, _notices, make = setup
    seen: list[Any] = []
    engine = make()
    engine.subscribe(seen.append)
    engine.tick()
    engine.tick()
    assert seen and seen[-1] == engine.snapshot
    published = statusfile.read_snapshot()
    assert published is not None
    assert published.to_dict()["profiles"] == engine.snapshot.to_dict()["profiles"]


def test_a_settings_change_reaches_subscribers_even_when_the_snapshot_is_the_same(
    setup: Setup,
) -> None:
    """The tray reads settings.toml beside the snapshot (left_click, favorites): an edit that
    changes nothing the snapshot holds is still handed on, once; a tick with no change is not."""
    _emu, _fake, _notices, make = setup
    seen: list[Any] = []
    engine = make()
    engine.subscribe(seen.append)
    engine.tick()
    engine.tick()
    before = len(seen)
    engine.tick()
    assert len(seen) == before  # nothing new, nothing handed on
    settings.update_settings(lambda s: dataclasses.replace(s, left_click="menu"))
    engine.tick()
    assert len(seen) == before + 1
    assert seen[-1].profiles == seen[-2].profiles and seen[-1].sessions == seen[-2].sessions
    engine.tick()
    assert len(seen) == before + 1


def test_an_engine_with_no_profiles_still_publishes_for_status(aws_config: WriteConfig) -> None:
    from aws_sso_tray.engine import statusfile

    aws_config("")  # a fresh install: no SSO profiles, no settings
    Engine(options=EngineOptions(watch_interval=0)).tick()
    published = statusfile.read_snapshot()
    assert published is not None
    assert published.sessions == () and published.profiles == ()


def test_refresh_now_fetches_even_when_not_due(setup: Setup) -> None:
    emu, _fake, _notices, make = setup
    engine = make()
    engine.tick()
    emu.clear_requests()
    engine.refresh_now("dev")
    engine.tick()
    assert emu.count("GetRoleCredentials") == 1
    engine.refresh_now()
    engine.tick()
    assert emu.count("GetRoleCredentials") == 4


def test_log_in_action_starts_the_login_on_a_background_thread(setup: Setup) -> None:
    _emu, _fake, notices, make = setup
    opened: list[str] = []
    engine = make(opener=opened.append, env={"DISPLAY": ":99"})
    engine.tick()
    assert notices.on_action == engine.handle_action
    caller = threading.current_thread().name
    engine.handle_action("login-needed:corp")
    wait_for(lambda: opened, "the login page")
    assert any(t.name == "login-corp" for t in threading.enumerate())
    assert caller == threading.current_thread().name
    engine.stop()  # cancels the waiting login


def _login_threads() -> list[threading.Thread]:
    """The engine's sign-in threads (`login-SESSION`) and the browsers they open."""
    return [t for t in threading.enumerate() if t.name.startswith("login-")]


@pytest.mark.parametrize(
    "skew", [-7200, 0, 7200], ids=["portal-2h-behind", "no-skew", "portal-2h-ahead"]
)
def test_short_credentials_are_fetched_at_most_once_per_half_lifetime(
    setup: Setup, skew: float
) -> None:
    """120 s credentials, the default lead (10 min) and its 60 s batch slack: no busy loop.

    The lifetime is judged by our clock at fetch time (server expiration - our now), so a
    portal clock 2 h behind ours gives credentials that look dead on arrival: 5 s apart at
    most, not every tick.
    """
    emu, fake, _notices, make = setup
    settings.remove_auto_sync("dev-admin")  # two profiles
    emu.config.credential_ttl = 120
    emu.config.access_token_ttl = emu.config.session_ttl = 48 * 3600
    emu.advance(skew)  # the portal's clock is off from ours by `skew`
    device_login(emu, SESSION)
    engine = make()
    for _ in range(300):  # five minutes of one-second ticks
        engine.tick()
        fake.advance(1)
    lifetime = 120 + skew  # server expiration - our clock at fetch time
    floor = max(lifetime / 2, planning_min_interval())
    for name in ("dev", "prod"):
        calls = emu.role_calls(*PROFILES[name])  # emulator time = our time + skew
        gaps = [b - a for a, b in itertools.pairwise(calls)]
        assert calls, name
        # The emulator stamps a call when it arrives, in real time (plus the fake offset): on a
        # loaded machine a request can arrive a second or more after the engine read `now`, so
        # one gap may look that much shorter. A busy loop would show gaps of one tick or less.
        assert min(gaps, default=floor) >= floor - 1.5, (name, len(calls), gaps[:5])
        assert len(calls) <= 300 / floor + 1, (name, len(calls))
        if floor < 300:  # and it does keep refreshing
            assert len(calls) >= 300 / (floor + 2), (name, len(calls))


def planning_min_interval() -> float:
    from aws_sso_tray.engine import timing

    return timing.MIN_REFRESH_INTERVAL.total_seconds()


GHOST = (
    "[profile ghost]\nsso_session = corp\nsso_account_id = 111111111111\nsso_role_name = Ghost\n"
)


def role_calls(emu: Emulator, account: str, role: str) -> int:
    return len(emu.role_calls(account, role))


def an_hour_of_ticks(engine: Engine, fake: FakeClock) -> None:
    for _ in range(61):
        fake.advance(60)
        engine.tick()


@pytest.mark.parametrize("answer", ["ForbiddenException", "ResourceNotFoundException"])
def test_a_denied_role_stops_in_an_error_state_until_the_config_changes(
    setup: Setup, aws_config: WriteConfig, answer: str
) -> None:
    emu, fake, notices, make = setup
    emu.config.missing_role_error = answer
    aws_config(config_text() + GHOST)
    settings.add_auto_sync("ghost")
    engine = make()
    engine.tick()
    assert role_calls(emu, "111111111111", "Ghost") == 1
    state = engine.snapshot.profile("ghost")
    assert state is not None and state.status == ProfileStatus.ERROR
    assert state.last_error and "sso_role_name" in state.last_error  # says what to do
    assert state.next_refresh_at is None  # nothing planned: waiting for the user
    assert "refresh-failed" in notices.keys_sent()
    (notice,) = [n for n in notices.sent if n.key == "refresh-failed"]
    # A fix-it error is not retried: the notice says what to fix, not "Retrying".
    assert "retrying" not in notice.message.lower(), notice.message
    assert "sso_role_name" in notice.message and "AWS config" in notice.message, notice.message
    an_hour_of_ticks(engine, fake)  # the others refresh (our own writes are no fix)
    assert role_calls(emu, "111111111111", "Ghost") == 1
    assert role_calls(emu, *PROFILES["dev"]) == 2
    state = engine.snapshot.profile("ghost")
    assert state is not None and state.status == ProfileStatus.ERROR
    aws_config(config_text() + GHOST.replace("Ghost", "Admin"))  # the user fixes the role
    engine.tick()
    state = engine.snapshot.profile("ghost")
    assert state is not None and state.status == ProfileStatus.FRESH, state
    assert read_credentials()["ghost"]["aws_access_key_id"].startswith("ASIA")


def test_long_term_keys_in_the_section_stop_it_until_the_file_changes(setup: Setup) -> None:
    emu, fake, _notices, make = setup
    path = paths.aws_credentials_file()
    iam_keys = (
        "[dev]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
    )
    path.write_text(iam_keys)
    path.chmod(0o600)
    engine = make()
    engine.tick()
    assert role_calls(emu, *PROFILES["dev"]) == 1
    state = engine.snapshot.profile("dev")
    assert state is not None and state.status == ProfileStatus.ERROR
    assert state.last_error and "long-term keys" in state.last_error
    assert read_credentials()["dev"]["aws_access_key_id"] == "AKIAIOSFODNN7EXAMPLE"
    assert engine.snapshot.profile("prod").status == ProfileStatus.FRESH  # type: ignore[union-attr]
    an_hour_of_ticks(engine, fake)  # prod and dev-admin are rewritten: not dev's fix
    assert role_calls(emu, *PROFILES["dev"]) == 1
    assert role_calls(emu, *PROFILES["prod"]) == 2
    assert read_credentials()["dev"]["aws_access_key_id"] == "AKIAIOSFODNN7EXAMPLE"
    path.write_text(path.read_text().replace(iam_keys, ""))  # the user moves the keys away
    engine.tick()
    state = engine.snapshot.profile("dev")
    assert state is not None and state.status == ProfileStatus.FRESH, state
    assert read_credentials()["dev"]["aws_access_key_id"].startswith("ASIA")


def test_a_malformed_sso_region_is_a_fix_it_error_not_a_retry(
    setup: Setup, aws_config: WriteConfig
) -> None:
    emu, fake, _notices, make = setup
    aws_config(config_text().replace("sso_region = us-east-1", "sso_region = us east 1"))
    engine = make()
    engine.tick()
    # The config reader leaves the broken profiles out; the snapshot says what to fix in them.
    error = engine.snapshot.config_error
    assert error and "us east 1" in error and "[sso-session corp]" in error, error
    assert "not an SSO profile" not in error and error.count("us east 1") == 1, error
    an_hour_of_ticks(engine, fake)
    assert engine.snapshot.profile("dev") is None
    assert emu.count("GetRoleCredentials") == 0
    aws_config(config_text())
    engine.tick()
    assert role_calls(emu, *PROFILES["dev"]) == 1
    assert engine.snapshot.profile("dev").status == ProfileStatus.FRESH  # type: ignore[union-attr]


def test_an_unknown_profile_is_reported_and_never_asked_for(
    setup: Setup, aws_config: WriteConfig
) -> None:
    emu, fake, _notices, make = setup
    settings.add_auto_sync("ghost")  # not in the config
    engine = make()
    engine.tick()
    error = engine.snapshot.config_error
    assert error and "ghost" in error
    an_hour_of_ticks(engine, fake)
    assert role_calls(emu, "111111111111", "Admin") == 2  # dev-admin, refreshed as usual
    aws_config(config_text() + GHOST.replace("Ghost", "Admin"))
    engine.tick()
    state = engine.snapshot.profile("ghost")
    assert state is not None and state.status == ProfileStatus.FRESH


# --- issue 9: sign-in and sign-out ---------------------------------------------------------------


def _alarming(notices: Notices) -> list[Notice]:
    """Notices that say a session expired or ended, or that are red."""
    return [
        n
        for n in notices.sent
        if n.urgency == "critical"
        or "expired" in f"{n.title} {n.message}".lower()
        or "has ended" in n.message
    ]


def test_first_run_without_a_token_is_not_signed_in_and_raises_no_alarm(
    emulator: Emulator, aws_config: WriteConfig
) -> None:
    aws_config(config_text())
    settings.add_auto_sync("dev")
    notices = Notices()
    options = EngineOptions(
        clock=FakeClock(emulator), watch_interval=0, env={}, opener=list[str]().append
    )
    engine = Engine(notifier=notices, options=options)
    engine.tick()
    engine.tick()
    assert _alarming(notices) == []
    session = engine.snapshot.session("corp")
    assert session is not None and session.status.value == "not_signed_in"
    assert "login-needed:corp" in notices.keys_sent()  # a gentle "sign in" with its button
    state = engine.snapshot.profile("dev")
    assert state is not None and state.status == ProfileStatus.LOGIN_NEEDED


def test_logout_elsewhere_is_signed_out_no_alarm_no_browser_until_the_user_signs_in(
    setup: Setup,
) -> None:
    from aws_sso_tray.login import flows

    emu, fake, notices, make = setup
    opened: list[str] = []
    engine = make(opener=opened.append, env={"DISPLAY": ":99"})  # auto_login is on by default
    engine.tick()
    assert engine.snapshot.session("corp").status == SessionStatus.LOGGED_IN  # type: ignore[union-attr]
    flows.logout(SESSION)  # what `aws-sso-tray logout` in another process does to the files
    emu.clear_requests()
    engine.tick()
    assert engine.snapshot.session("corp").status.value == "signed_out"  # type: ignore[union-attr]
    for _ in range(3):  # long past the credentials' refresh time
        fake.advance(51 * 60)
        engine.tick()
    time.sleep(0.3)  # an opener thread would have run by now
    assert opened == []
    assert _alarming(notices) == []
    assert "auto-login:corp" not in notices.keys_sent()
    assert [r.op for r in emu.requests if r.op in ("GetRoleCredentials", "CreateToken")] == []
    state = engine.snapshot.profile("dev")
    assert state is not None and state.status == ProfileStatus.LOGIN_NEEDED
    assert "signed out" in (state.last_error or "")

    # The user signs in again (here: the device flow, approved on the emulator).
    def approve(prompt: Any) -> None:
        emu.approve_device(prompt.user_code)

    flows.login(SESSION, flow="device", open_browser=False, timeout=30, on_prompt=approve)
    engine.tick()
    assert engine.snapshot.session("corp").status == SessionStatus.LOGGED_IN  # type: ignore[union-attr]
    state = engine.snapshot.profile("dev")
    assert state is not None and state.status == ProfileStatus.FRESH, state
    assert "login:corp" in notices.keys_sent()


def test_a_browser_that_cannot_open_leaves_the_url_in_log_notice_and_menu(
    setup: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    from aws_sso_tray.tray import menu

    _emu, _fake, notices, make = setup
    tries: list[str] = []

    def broken(url: str) -> str:
        tries.append(url)
        return "the browser command 'chromium' exited with status 1"

    engine = make(opener=broken, env={"DISPLAY": ":99"})
    engine.tick()
    with caplog.at_level("WARNING"):
        assert engine.login("corp", reason="test")
        wait_for(lambda: "login-page:corp" in notices.keys_sent(), "the where-to-sign-in notice")
    url = tries[0]
    notice = next(n for n in notices.sent if n.key == "login-page:corp")
    assert url in notice.message and "exited with status 1" in notice.message
    assert any(url in r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    engine.tick()
    session = engine.snapshot.session("corp")
    assert session is not None and session.status == SessionStatus.LOGGING_IN
    assert session.login_url == url and session.browser_error is not None
    entry = menu.build_menu(engine.snapshot, settings.load_settings()[0], now=clock.now())
    labels = [e.label for top in entry for e in (top, *top.children)]
    assert any(
        label.startswith("Open the sign-in page again") and "exited with status 1" in label
        for label in labels
    ), labels
    # "Open the sign-in page again" tries the same page again.
    assert engine.login("corp")
    wait_for(lambda: len(tries) == 2, "a second try")
    assert tries[1] == url
    engine.stop()


def test_a_portal_expiration_out_of_range_is_retried_with_backoff(setup: Setup) -> None:
    emu, fake, _notices, make = setup
    emu.config.credential_ttl = 1e17  # GetRoleCredentials says expiration 1e20 ms
    engine = make()
    engine.tick()
    state = engine.snapshot.profile("dev")
    assert state is not None and state.next_refresh_at is not None, state
    assert "expiration" in (state.last_error or ""), state
    assert "internal error" not in (state.last_error or "")
    asked = role_calls(emu, *PROFILES["dev"])
    engine.tick()  # not before the backoff is over
    assert role_calls(emu, *PROFILES["dev"]) == asked
    emu.config.credential_ttl = 3600
    fake.advance((state.next_refresh_at - fake.now()).total_seconds() + 1)
    engine.tick()
    state = engine.snapshot.profile("dev")
    assert state is not None and state.status == ProfileStatus.FRESH, state
    assert read_credentials()["dev"]["aws_access_key_id"].startswith("ASIA")


def _sign_out_like_the_aws_cli() -> None:
    """What `aws sso logout` leaves: the token file gone, and every sso role-cache entry."""
    from aws_sso_tray.aws import rolecreds, tokens

    tokens.token_cache_file(SESSION).unlink()
    rolecreds.delete_cached_credentials(None)


def test_a_token_deleted_by_another_tool_is_a_sign_out_not_an_expiry(setup: Setup) -> None:
    """`aws sso logout` (or botocore deleting the token file) while the session was live leaves
    no sign-out marker of ours: it is still the user signing out. No "expired" notice, no
    browser, no portal call until the user signs in, and a restarted engine agrees."""
    from aws_sso_tray.aws import rolecreds

    emu, fake, notices, make = setup
    opened: list[str] = []
    engine = make(opener=opened.append, env={"DISPLAY": ":99"})  # auto_login is on by default
    engine.tick()
    assert engine.snapshot.session("corp").status == SessionStatus.LOGGED_IN  # type: ignore[union-attr]
    rolecreds.get_credentials(_profile("dev"))  # an entry in the AWS CLI's role cache too
    _sign_out_like_the_aws_cli()
    emu.clear_requests()
    engine.tick()
    assert engine.snapshot.session("corp").status == SessionStatus.SIGNED_OUT  # type: ignore[union-attr]
    for _ in range(3):  # long past the credentials' refresh time
        fake.advance(51 * 60)
        engine.tick()
    assert _login_threads() == []  # no login started, so no page to open
    assert opened == []
    assert _alarming(notices) == [], notices.sent
    assert "auto-login:corp" not in notices.keys_sent()
    assert [r.op for r in emu.requests if r.op in ("GetRoleCredentials", "CreateToken")] == []
    state = engine.snapshot.profile("dev")
    assert state is not None and state.status == ProfileStatus.LOGIN_NEEDED
    assert "signed out" in (state.last_error or "")
    engine.stop()

    again = make(opener=opened.append, env={"DISPLAY": ":99"})
    again.tick()
    assert again.snapshot.session("corp").status == SessionStatus.SIGNED_OUT  # type: ignore[union-attr]
    assert opened == []
    again.stop()


def test_a_token_deleted_while_no_engine_ran_is_a_sign_out_of_our_recorded_sign_in(
    setup: Setup,
) -> None:
    from aws_sso_tray.login import history

    _emu, _fake, notices, make = setup
    history.record_login(
        SESSION.cache_key, history.SessionRecord(clock.now(), SESSION.start_url, "pkce")
    )
    _sign_out_like_the_aws_cli()
    opened: list[str] = []
    engine = make(opener=opened.append, env={"DISPLAY": ":99"})
    engine.tick()
    engine.tick()
    assert engine.snapshot.session("corp").status == SessionStatus.SIGNED_OUT  # type: ignore[union-attr]
    assert opened == [] and _alarming(notices) == []
    assert "auto-login:corp" not in notices.keys_sent()
    engine.stop()


def _profile(name: str) -> Any:
    from aws_sso_tray.aws import profiles

    return profiles.get_profile(name)


def test_first_run_with_auto_login_sends_one_notice_not_two(
    emulator: Emulator, aws_config: WriteConfig
) -> None:
    aws_config(config_text())
    settings.add_auto_sync("dev")
    notices = Notices()
    opened: list[str] = []
    options = EngineOptions(
        clock=FakeClock(emulator),
        watch_interval=0,
        env={"DISPLAY": ":99"},  # a desktop: auto_login (on by default) opens the sign-in
        opener=opened.append,
    )
    engine = Engine(notifier=notices, options=options)
    engine.tick()
    wait_for(lambda: opened, "the sign-in page to be opened")
    engine.tick()
    about_signing_in = [n for n in notices.sent if n.key.endswith(":corp")]
    assert len(about_signing_in) == 1, [(n.key, n.title) for n in notices.sent]
    assert _alarming(notices) == []
    engine.stop()


def test_the_confirm_the_code_notice_is_withdrawn_after_the_sign_in(setup: Setup) -> None:
    emu, _fake, notices, make = setup
    from aws_sso_tray.aws import tokens

    tokens.token_cache_file(SESSION).unlink()  # not signed in yet
    engine = make(opener=list[str]().append, env={})  # no display: device code
    engine.tick()
    assert engine.login("corp", reason="you pressed Log in")
    code = wait_for(lambda: emu.pending_user_codes(), "the device sign-in")[0]
    notice = wait_for(
        lambda: next((n for n in notices.sent if code in n.message), None), "the code notice"
    )
    emu.approve_device(code)
    wait_for(lambda: not _login_threads(), "the sign-in to finish")
    engine.tick()
    assert engine.snapshot.session("corp").status == SessionStatus.LOGGED_IN  # type: ignore[union-attr]
    assert notice.key in notices.cleared, (notice.key, notices.cleared)
    engine.stop()


def test_status_prints_where_to_sign_in_when_no_browser_could_show_the_page(
    setup: Setup, cli: RunCli
) -> None:
    from aws_sso_tray.engine.lock import InstanceLock

    _emu, _fake, notices, make = setup

    def broken(url: str) -> str:
        return "the browser command 'chromium' exited with status 1"

    with InstanceLock():  # this test's engine is the running one `status` reads
        engine = make(opener=broken, env={"DISPLAY": ":99"}, publish_file=True)
        engine.tick()
        assert engine.login("corp", reason="test")
        wait_for(lambda: "login-page:corp" in notices.keys_sent(), "the where-to-sign-in notice")
        engine.tick()
        session = engine.snapshot.session("corp")
        assert session is not None and session.login_url and session.browser_error
        done = cli("status")
        engine.stop()
    assert done.returncode == 0, done.stderr
    assert "engine: running" in done.stdout, done.stdout
    line = next((x for x in done.stdout.splitlines() if session.login_url in x), None)
    assert line is not None, done.stdout
    assert "exited with status 1" in line and "corp" in line, line
