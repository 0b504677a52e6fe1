"""Snapshot building: the engine's records in, a `Snapshot` out, no clock, files or threads."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from aws_sso_tray.aws.profiles import SsoProfile, SsoSession
from aws_sso_tray.engine import view
from aws_sso_tray.engine.logins import LoginsView
from aws_sso_tray.engine.work import ProfileWork, SessionInfo
from aws_sso_tray.snapshot import ProfileStatus, SessionStatus, Snapshot

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
LEAD = timedelta(minutes=10)
WARN = timedelta(minutes=30)
CORP = SsoSession("corp", "https://d-1234567890.awsapps.com/start", "us-east-1")
DEV = SsoProfile("dev", CORP, "111111111111", "ReadOnly", None)
PROD = SsoProfile("prod", CORP, "222222222222", "ReadOnly", None)


def signed_in(**kw: object) -> SessionInfo:
    info = SessionInfo(CORP, has_token=True, token_expires_at=T0 + timedelta(hours=1))
    for name, value in kw.items():
        setattr(info, name, value)
    return info


def build(**kw: object) -> Snapshot:
    args: dict[str, object] = {
        "profiles": [DEV, PROD],
        "work": {},
        "sessions": [],
        "refresh_before": LEAD,
        "warn_before": WARN,
    }
    args.update(kw)
    return view.build_snapshot(T0, **args)  # type: ignore[arg-type]


def test_profiles_not_kept_fresh_are_idle() -> None:
    snap = build()
    assert [p.status for p in snap.profiles] == [ProfileStatus.IDLE, ProfileStatus.IDLE]
    dev = snap.profile("dev")
    assert dev is not None and dev.synced_section is None
    assert snap.taken_at == T0 and not snap.busy and snap.config_error is None


def test_a_kept_fresh_profile_shows_its_section_and_next_refresh() -> None:
    work = ProfileWork(DEV, "dev", expires_at=T0 + timedelta(hours=1))
    dev = build(work={"dev": work}).profile("dev")
    assert dev is not None
    assert dev.status is ProfileStatus.FRESH and dev.synced_section == "dev"
    assert dev.credentials_expire_at == T0 + timedelta(hours=1)
    assert dev.next_refresh_at == T0 + timedelta(hours=1) - LEAD


def test_a_profile_waiting_for_the_user_has_no_next_refresh() -> None:
    work = ProfileWork(DEV, "dev")
    work.needs_fix("no access to the role")
    dev = build(work={"dev": work}).profile("dev")
    assert dev is not None and dev.next_refresh_at is None
    assert dev.status is ProfileStatus.ERROR and dev.last_error == "no access to the role"


def test_a_retry_is_the_next_refresh() -> None:
    work = ProfileWork(DEV, "dev", expires_at=T0 + timedelta(hours=1))
    work.retry_later("throttled", T0)
    dev = build(work={"dev": work}).profile("dev")
    assert dev is not None and dev.next_refresh_at == work.retry_at
    assert dev.status is ProfileStatus.FRESH  # still valid, not yet reported


def test_session_status_in_order_of_precedence() -> None:
    def status(info: SessionInfo, logging_in: bool = False) -> SessionStatus:
        return view.session_status(info, T0, logging_in, WARN)

    assert status(signed_in()) is SessionStatus.LOGGED_IN
    assert status(signed_in(), logging_in=True) is SessionStatus.LOGGING_IN
    assert status(SessionInfo(CORP)) is SessionStatus.NOT_SIGNED_IN
    assert status(SessionInfo(CORP, signed_out_at=T0)) is SessionStatus.SIGNED_OUT
    assert status(signed_in(refused=True)) is SessionStatus.LOGIN_NEEDED
    expired = signed_in(token_expires_at=T0 - timedelta(minutes=1))
    assert status(expired) is SessionStatus.LOGIN_NEEDED
    assert status(signed_in(token_expires_at=T0, can_refresh=True)) is SessionStatus.LOGGED_IN
    ending = signed_in(session_ends_at=T0 + timedelta(minutes=5))
    assert status(ending) is SessionStatus.EXPIRING
    assert status(signed_in(last_error="throttled")) is SessionStatus.ERROR


def test_a_waiting_sign_in_shows_its_page_and_makes_the_snapshot_busy() -> None:
    logins = LoginsView(
        frozenset({"corp"}), {"corp": ("https://example.test/device", "no browser")}
    )
    snap = build(sessions=[signed_in()], logins=logins)
    corp = snap.session("corp")
    assert corp is not None and corp.status is SessionStatus.LOGGING_IN
    assert corp.login_url == "https://example.test/device"
    assert corp.browser_error == "no browser"
    assert snap.busy


def test_problems_are_joined_once_each() -> None:
    snap = build(problems=["", "config broken", "bad setting", "config broken"])
    assert snap.config_error == "config broken; bad setting"
