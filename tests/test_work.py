"""The engine's records: what each event does to a kept-fresh profile and to a session."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from aws_sso_tray.aws.profiles import SsoProfile, SsoSession
from aws_sso_tray.engine import timing
from aws_sso_tray.engine.work import ProfileWork, SessionInfo
from aws_sso_tray.snapshot import ProfileStatus

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
LEAD = timedelta(minutes=10)
CORP = SsoSession("corp", "https://d-1234567890.awsapps.com/start", "us-east-1")
DEV = SsoProfile("dev", CORP, "111111111111", "ReadOnly", None)


def test_a_new_profile_is_due_at_once_and_not_after_a_success() -> None:
    work = ProfileWork(DEV, "dev")
    assert work.due(T0, LEAD, timedelta(0))
    work.succeeded(T0 + timedelta(hours=1), T0, T0)
    assert not work.due(T0, LEAD, timedelta(0))
    assert work.due(T0 + timedelta(minutes=50), LEAD, timedelta(0))
    assert work.status is ProfileStatus.FRESH and work.last_refresh_at == T0


def test_failures_back_off_and_are_reported_after_a_few() -> None:
    work = ProfileWork(DEV, "dev", expires_at=T0 + timedelta(hours=1))
    for n in range(1, timing.REPORT_AFTER):
        work.retry_later("throttled", T0)
        assert work.failures == n and work.status is ProfileStatus.FRESH
        assert work.retry_at is not None and work.retry_at > T0
        assert not work.due(T0, LEAD, timedelta(0))
    work.retry_later("throttled", T0)
    assert work.status is ProfileStatus.ERROR and work.last_error == "throttled"


def test_a_login_blocks_until_the_session_signs_in() -> None:
    work = ProfileWork(DEV, "dev")
    work.needs_login("session expired")
    assert work.blocked and not work.due(T0, LEAD, timedelta(0))
    assert work.wake_at(T0, LEAD, timedelta(0)) is None
    work.signed_in()
    assert not work.blocked and work.status is ProfileStatus.FRESH and work.last_error is None


def test_a_fix_it_error_waits_for_a_file_change_or_refresh_now() -> None:
    work = ProfileWork(DEV, "dev")
    work.needs_fix("long-term keys in [dev]")
    assert not work.due(T0, LEAD, timedelta(0))
    assert work.files_changed() and not work.files_changed()
    work.needs_fix("long-term keys in [dev]")
    work.force()
    assert work.due(T0, LEAD, timedelta(0))
    work.attempted()
    assert not work.forced


def test_unwritten_credentials_are_kept_until_a_success() -> None:
    from aws_sso_tray.aws.rolecreds import RoleCredentials

    creds = RoleCredentials("AKIA", "secret", "token", T0 + timedelta(hours=1))
    work = ProfileWork(DEV, "dev")
    work.unwritten(creds, T0)
    assert work.pending is creds and work.pending_at == T0
    work.succeeded(creds.expiration, T0, T0 + timedelta(seconds=5))
    assert work.pending is None and work.pending_at is None and work.fetched_at == T0


def test_a_section_written_by_someone_else_forgets_our_fetch_time() -> None:
    work = ProfileWork(DEV, "dev")
    work.succeeded(T0 + timedelta(hours=1), T0, T0)
    work.section_loaded(T0 + timedelta(hours=1))
    assert work.fetched_at == T0
    work.section_loaded(T0 + timedelta(hours=2))
    assert work.expires_at == T0 + timedelta(hours=2) and work.fetched_at is None


def test_the_clock_set_back_cuts_a_long_backoff() -> None:
    work = ProfileWork(DEV, "dev", retry_at=T0 + timedelta(days=1))
    work.clock_set_back(T0)
    assert work.retry_at == T0


def test_a_session_sign_out_is_new_once_and_clears_the_refusal() -> None:
    info = SessionInfo(CORP, refused=True, last_error="refused")
    assert info.observe_sign_out(T0)
    assert not info.refused and info.last_error is None
    assert not info.observe_sign_out(T0)
    info.auto_login_opened("-")
    info.rearm()
    assert info.auto_tried is None


def test_a_config_change_keeps_the_records_of_unchanged_profiles_only() -> None:
    from aws_sso_tray.engine.work import carry_over_sessions, carry_over_work
    from aws_sso_tray.files.settings import SyncTarget

    prod = SsoProfile("prod", CORP, "222222222222", "ReadOnly", None)
    old = {"dev": ProfileWork(DEV, "dev", failures=2), "prod": ProfileWork(prod, "prod")}
    moved = SsoProfile("prod", CORP, "333333333333", "ReadOnly", None)
    targets = [SyncTarget("dev", "dev"), SyncTarget("prod", "prod"), SyncTarget("gone", "gone")]
    work, missing = carry_over_work(targets, [DEV, moved], old)
    assert work["dev"] is old["dev"]
    assert work["prod"] is not old["prod"] and work["prod"].profile == moved
    assert missing == ["gone"]
    work, _missing = carry_over_work([SyncTarget("dev", "dev-creds")], [DEV], old)
    assert work["dev"] is not old["dev"] and work["dev"].section == "dev-creds"

    info = SessionInfo(CORP, has_token=True)
    other = SsoSession("other", CORP.start_url, "eu-west-1")
    infos = carry_over_sessions([CORP, other], {"corp": info})
    assert infos["corp"] is info and infos["other"] == SessionInfo(other)
