"""alerts.decide: which notices a snapshot change calls for, each at most once per event."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

from aws_sso_tray.engine import alerts
from aws_sso_tray.snapshot import (
    ProfileState,
    ProfileStatus,
    SessionState,
    SessionStatus,
    Snapshot,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
WARN = timedelta(minutes=15)


def session(status: SessionStatus = SessionStatus.LOGGED_IN, **kw: object) -> SessionState:
    values: dict[str, object] = {
        "key": "corp",
        "name": "corp",
        "start_url": "https://d-1.awsapps.com/start",
        "status": status,
        "token_expires_at": T0 + timedelta(hours=1),
        "session_ends_at": T0 + timedelta(hours=8),
        **kw,
    }
    return SessionState(**values)  # type: ignore[arg-type]


def profile(status: ProfileStatus = ProfileStatus.FRESH, **kw: object) -> ProfileState:
    values: dict[str, object] = {
        "name": "dev",
        "session_key": "corp",
        "account_id": "111111111111",
        "role_name": "ReadOnly",
        "status": status,
        "synced_section": "dev",
        **kw,
    }
    return ProfileState(**values)  # type: ignore[arg-type]


def snap(s: SessionState, *profiles: ProfileState) -> Snapshot:
    return Snapshot(taken_at=T0, sessions=(s,), profiles=profiles or (profile(),))


def run(
    steps: list[tuple[datetime, Snapshot]], sent: alerts.Sent | None = None
) -> tuple[list[list[str]], list[alerts.Decision]]:
    sent = sent or alerts.Sent()
    previous: Snapshot | None = None
    keys: list[list[str]] = []
    decisions = []
    for now, current in steps:
        d = alerts.decide(previous, current, sent, now=now, warn_before=WARN)
        keys.append([n.key for n in d.notices])
        decisions.append(d)
        sent, previous = d.sent, current
    return keys, decisions


def test_quiet_while_all_is_well() -> None:
    keys, _ = run([(T0, snap(session())), (T0 + timedelta(hours=1), snap(session()))])
    assert keys == [[], []]


def test_session_ending_warned_once_before_the_session_end_not_the_token_expiry() -> None:
    end = T0 + timedelta(hours=8)
    s = session(session_ends_at=end)
    steps = [
        # the access token is renewed hourly: its expiry never warns
        (T0 + timedelta(minutes=50), snap(replace(s, token_expires_at=T0 + timedelta(hours=1)))),
        (end - timedelta(minutes=20), snap(s)),
        (end - timedelta(minutes=14), snap(replace(s, status=SessionStatus.EXPIRING))),
        (end - timedelta(minutes=10), snap(replace(s, status=SessionStatus.EXPIRING))),
        (end - timedelta(minutes=1), snap(replace(s, status=SessionStatus.EXPIRING))),
    ]
    keys, decisions = run(steps)
    assert keys == [[], [], ["session-ending:corp"], [], []]
    notice = decisions[2].notices[0]
    assert notice.action_label == "Log in"
    assert "14 m" in notice.message
    assert alerts.session_of(notice.key) == "corp"


def test_unknown_session_end_never_warns() -> None:
    s = session(session_ends_at=None)
    keys, _ = run([(T0, snap(s)), (T0 + timedelta(hours=7, minutes=55), snap(s))])
    assert keys == [[], []]


def test_expired_with_log_in_action_once_then_login_succeeded_clears_it() -> None:
    live = session()
    dead = session(SessionStatus.LOGIN_NEEDED, last_error="refresh refused")
    fresh = session(
        token_expires_at=T0 + timedelta(hours=9), session_ends_at=T0 + timedelta(hours=16)
    )
    keys, decisions = run(
        [
            (T0, snap(live)),
            (T0 + timedelta(hours=8), snap(dead, profile(ProfileStatus.LOGIN_NEEDED))),
            (T0 + timedelta(hours=8, minutes=1), snap(dead, profile(ProfileStatus.LOGIN_NEEDED))),
            (T0 + timedelta(hours=8, minutes=2), snap(fresh)),
        ]
    )
    assert keys == [[], ["login-needed:corp"], [], ["login:corp"]]
    expired = decisions[1].notices[0]
    assert expired.action_label == "Log in" and alerts.session_of(expired.key) == "corp"
    assert "refresh refused" in expired.message and "dev" in expired.message
    assert "login-needed:corp" in decisions[3].clear


def test_second_expiry_after_a_login_notifies_again() -> None:
    dead1 = session(SessionStatus.LOGIN_NEEDED, token_expires_at=T0)
    live = session(token_expires_at=T0 + timedelta(hours=9))
    dead2 = session(SessionStatus.LOGIN_NEEDED, token_expires_at=T0 + timedelta(hours=9))
    keys, _ = run([(T0, snap(dead1)), (T0, snap(live)), (T0 + timedelta(hours=9), snap(dead2))])
    assert keys == [["login-needed:corp"], ["login:corp"], ["login-needed:corp"]]


def test_session_nobody_relies_on_stays_quiet() -> None:
    dead = session(SessionStatus.LOGIN_NEEDED)
    idle = profile(ProfileStatus.IDLE, synced_section=None)
    keys, _ = run([(T0, snap(dead, idle))])
    assert keys == [[]]


def test_refresh_failing_once_and_flapping_endpoint_does_not_flood() -> None:
    ok = snap(session(), profile())
    bad = snap(session(), profile(ProfileStatus.ERROR, last_error="endpoint unreachable"))
    steps = []
    now = T0
    for _ in range(5):  # fails and recovers every 5 minutes for 50 minutes
        steps.append((now, bad))
        now += timedelta(minutes=5)
        steps.append((now, ok))
        now += timedelta(minutes=5)
    steps.append((T0 + timedelta(hours=2), bad))  # after the cool-down: once more
    keys, decisions = run(steps)
    sent = [k for ks in keys for k in ks]
    assert sent == ["refresh-failed", "refresh-failed"]
    assert "endpoint unreachable" in decisions[0].notices[0].message
    assert "refresh-failed" in decisions[1].clear


def test_many_failing_profiles_make_one_notice() -> None:
    profiles = [
        profile(ProfileStatus.ERROR, name=f"p{i}", synced_section=f"p{i}", last_error="throttled")
        for i in range(5)
    ]
    keys, decisions = run([(T0, snap(session(), *profiles))])
    assert keys == [["refresh-failed"]]
    assert "p0, p1, p2, p3, p4" in decisions[0].notices[0].message


def test_sent_records_are_bounded() -> None:
    old = alerts.Sent(events={"x": T0 - timedelta(days=3)}, shown={"y": T0 - timedelta(days=3)})
    d = alerts.decide(None, snap(session()), old, now=T0, warn_before=WARN)
    assert d.sent.events == {} and d.sent.shown == {}


def test_session_of_ignores_other_notices() -> None:
    assert alerts.session_of("refresh-failed") is None
    assert alerts.session_of("login:corp") is None
    assert alerts.session_of("login-needed:https://x/start") == "https://x/start"


# --- issue 9: sign-in and sign-out ---------------------------------------------------------------


def test_never_signed_in_is_not_an_expiry_no_red_notice_on_first_run() -> None:
    first = session(SessionStatus.NOT_SIGNED_IN, token_expires_at=None, session_ends_at=None)
    blocked = profile(ProfileStatus.LOGIN_NEEDED)
    keys, decisions = run([(T0, snap(first, blocked)), (T0 + timedelta(minutes=1), snap(first))])
    assert keys == [["login-needed:corp"], []]  # once, and with the Log in button
    notice = decisions[0].notices[0]
    assert notice.urgency != "critical"
    text = f"{notice.title} {notice.message}".lower()
    assert "not signed in" in text
    assert "expired" not in text and "ended" not in text
    assert notice.action_label == "Log in" and alerts.session_of(notice.key) == "corp"
    # Nobody relies on it: quiet.
    idle = profile(ProfileStatus.IDLE, synced_section=None)
    assert run([(T0, snap(first, idle))])[0] == [[]]


def test_sign_out_is_quiet_and_takes_the_end_notices_off_the_screen() -> None:
    end = T0 + timedelta(hours=8)
    ending = session(SessionStatus.EXPIRING, session_ends_at=end, signed_in_at=T0)
    out = session(SessionStatus.SIGNED_OUT, token_expires_at=None, session_ends_at=None)
    blocked = profile(ProfileStatus.LOGIN_NEEDED)
    keys, decisions = run(
        [
            (end - timedelta(minutes=10), snap(ending)),
            (end - timedelta(minutes=9), snap(out, blocked)),
            (end + timedelta(hours=1), snap(out, blocked)),
        ]
    )
    assert keys == [["session-ending:corp"], [], []]  # no "expired" for a sign-out
    assert {"session-ending:corp", "login-needed:corp"} <= set(decisions[1].clear)


def test_sign_in_elsewhere_while_ending_withdraws_the_ending_notice() -> None:
    """`aws-sso-tray login` in a terminal while "ends soon" is up: the engine only sees the
    recorded sign-in time move on (the session stays live throughout)."""
    end = T0 + timedelta(hours=8)
    ending = session(SessionStatus.EXPIRING, session_ends_at=end, signed_in_at=T0)
    again = session(
        token_expires_at=end + timedelta(hours=1),
        session_ends_at=end + timedelta(hours=7, minutes=55),
        signed_in_at=end - timedelta(minutes=5),
    )
    keys, decisions = run([(end - timedelta(minutes=10), snap(ending)), (end, snap(again))])
    assert keys == [["session-ending:corp"], ["login:corp"]]
    assert "session-ending:corp" in decisions[1].clear
    assert {"auto-login:corp", "login-page:corp"} <= set(decisions[1].clear)


def test_sign_in_after_a_sign_out_or_a_first_run_says_so() -> None:
    live = session(signed_in_at=T0)
    for before in (SessionStatus.SIGNED_OUT, SessionStatus.NOT_SIGNED_IN):
        off = session(before, token_expires_at=None, session_ends_at=None)
        keys, decisions = run([(T0, snap(off)), (T0 + timedelta(minutes=1), snap(live))])
        assert keys[1] == ["login:corp"], before
        assert "login-needed:corp" in decisions[1].clear


def _depth(text: str) -> int:
    depth = deepest = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        deepest = max(deepest, depth)
    return deepest


def test_login_needed_never_nests_parentheses() -> None:
    # a timed-out sign-in's error often has parentheses of its own
    error = (
        "sign-in to SSO session 'corp' was not completed within 10 min (the page was left open)."
    )
    live = session()
    dead = session(SessionStatus.LOGIN_NEEDED, last_error=error)
    _keys, decisions = run(
        [
            (T0, snap(live)),
            (T0 + timedelta(hours=8), snap(dead, profile(ProfileStatus.LOGIN_NEEDED))),
        ]
    )
    (notice,) = decisions[1].notices
    assert error.rstrip(".") in notice.message
    assert _depth(notice.message) <= 1, notice.message
    assert ".." not in notice.message


def test_refresh_failed_says_retrying_only_for_profiles_that_are_retried() -> None:
    fix = profile(
        ProfileStatus.ERROR,
        last_error="you have no access to role Ghost: check sso_role_name",
        next_refresh_at=None,
    )
    _keys, decisions = run([(T0, snap(session(), fix))])
    (notice,) = decisions[0].notices
    assert "retrying" not in notice.message.lower(), notice.message
    assert "check sso_role_name" in notice.message
    assert "AWS config" in notice.message  # what trying again waits for

    retried = profile(
        ProfileStatus.ERROR,
        name="prod",
        synced_section="prod",
        last_error="cannot reach the AWS endpoint",
        next_refresh_at=T0 + timedelta(minutes=2),
    )
    _keys, decisions = run([(T0, snap(session(), retried))])
    assert "Retrying in the background" in decisions[0].notices[0].message

    _keys, decisions = run([(T0, snap(session(), retried, fix))])
    message = decisions[0].notices[0].message
    assert "check sso_role_name" in message and "cannot reach the AWS endpoint" in message
    # Fix-it first, then the retried one: "Retrying" is said of prod only.
    assert message.index("check sso_role_name") < message.index("prod") < message.index("Retr")


def test_notices_about_a_labelled_profile_carry_its_label() -> None:
    prod = profile(ProfileStatus.ERROR, name="prod", label="PROD", last_error="AccessDenied")
    keys, decisions = run([(T0, snap(session(), prod, profile(name="dev")))])
    assert keys == [["refresh-failed"]]
    assert "profile [PROD] prod: AccessDenied" in decisions[0].notices[0].message
    dead = session(SessionStatus.LOGIN_NEEDED)
    prod = profile(ProfileStatus.LOGIN_NEEDED, name="prod", label="PROD")
    keys, decisions = run([(T0, snap(dead, prod, profile(ProfileStatus.LOGIN_NEEDED)))])
    assert keys == [["login-needed:corp"]]
    assert "Profiles kept fresh: [PROD] prod, dev." in decisions[0].notices[0].message
    never = session(SessionStatus.NOT_SIGNED_IN, token_expires_at=None, session_ends_at=None)
    _, decisions = run([(T0, snap(never, replace(prod, status=ProfileStatus.IDLE)))])
    assert "keep [PROD] prod fresh" in decisions[0].notices[0].message
