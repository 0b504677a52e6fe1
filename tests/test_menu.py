"""The pure tray menu model: which entries, labels, checks and enabled states a snapshot gives."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

import pytest

from aws_sso_tray.files.settings import Settings, SyncTarget
from aws_sso_tray.snapshot import (
    ProfileState,
    ProfileStatus,
    SessionState,
    SessionStatus,
    Snapshot,
)
from aws_sso_tray.tray.icons import IconState
from aws_sso_tray.tray.menu import (
    PINNED_THRESHOLD,
    RECENT_SHOWN,
    Action,
    ActionKind,
    MenuEntry,
    build_menu,
    find_entry,
    format_clock,
    icon_state,
    tooltip,
)

if TYPE_CHECKING:
    from aws_sso_tray.emulator import Emulator
    from fixture_types import RunCli, WriteConfig

UTC = timezone.utc
NOW = datetime(2024, 5, 6, 11, 28, tzinfo=UTC)
CORP = "corp"
LAB = "https://lab.awsapps.com/start"


def session(
    key: str = CORP,
    status: SessionStatus = SessionStatus.LOGGED_IN,
    *,
    name: str | None = None,
    ends: datetime | None = NOW + timedelta(hours=6, minutes=12),
    token: datetime | None = NOW + timedelta(minutes=50),
    error: str | None = None,
) -> SessionState:
    return SessionState(
        key=key,
        name=name or key,
        start_url=f"https://{key}.awsapps.com/start",
        status=status,
        token_expires_at=token,
        session_ends_at=ends,
        last_error=error,
    )


def profile(
    name: str,
    key: str = CORP,
    status: ProfileStatus = ProfileStatus.IDLE,
    **kw: object,
) -> ProfileState:
    return ProfileState(
        name=name,
        session_key=key,
        account_id="111122223333",
        role_name="Admin",
        status=status,
        **kw,  # type: ignore[arg-type]
    )


def snap(sessions: list[SessionState], profiles: list[ProfileState], **kw: object) -> Snapshot:
    return Snapshot(taken_at=NOW, sessions=tuple(sessions), profiles=tuple(profiles), **kw)  # type: ignore[arg-type]


def labels(entries: tuple[MenuEntry, ...]) -> list[str]:
    return [e.label for e in entries if not e.separator]


def menu(s: Snapshot, settings: Settings | None = None, **kw: object) -> tuple[MenuEntry, ...]:
    return build_menu(s, settings or Settings(), tz=UTC, **kw)  # type: ignore[arg-type]


# --- one session: flat -----------------------------------------------------------------------


def test_one_logged_in_session_lists_its_profiles_flat_with_their_state() -> None:
    s = snap(
        [session()],
        [
            profile("dev"),
            profile(
                "prod",
                status=ProfileStatus.FRESH,
                synced_section="default",
                credentials_expire_at=NOW + timedelta(minutes=55),
            ),
        ],
    )
    entries = menu(s)
    assert labels(entries) == [
        "corp - logged in until 17:40",
        "dev - logged in",
        "prod - fresh in [default] until 12:23",
        "Refresh all now",
        "Open dashboard…",
        "Add SSO profiles…",
        "Open the AWS config file",
        "Open the settings file",
        "Start at login",
        "Quit",
    ]
    corp = entries[0]
    assert labels(corp.children) == [
        "Log in again",
        "Open the access portal",
        "Log out of corp",
        "Sync accounts from the portal",
    ]
    assert corp.children[1].action == Action(ActionKind.PORTAL, CORP)


def test_logged_in_profile_offers_sync_checkbox_refresh_copy_logout() -> None:
    settings = Settings(auto_sync=(SyncTarget("prod", "default"),))
    s = snap(
        [session()],
        [profile("dev"), profile("prod", status=ProfileStatus.FRESH, synced_section="default")],
    )
    entries = menu(s, settings)
    dev = find_entry(entries, "dev")
    assert dev is not None and dev.is_submenu
    keep = dev.find("Keep fresh")
    assert keep is not None
    assert keep.label == "Keep fresh in credentials [dev]"
    assert keep.checked is False
    assert keep.action == Action(ActionKind.TOGGLE_SYNC, "dev", section="dev")
    assert dev.find("Refresh now") == MenuEntry("Refresh now", Action(ActionKind.REFRESH, "dev"))
    copy = dev.find("Copy export lines")
    assert copy is not None and copy.action == Action(ActionKind.COPY_EXPORT, "dev")
    logout = dev.find("Log out")
    assert logout is not None and logout.action == Action(ActionKind.LOGOUT, CORP)

    prod = find_entry(entries, "prod")
    assert prod is not None
    keep_prod = prod.find("Keep fresh")
    assert keep_prod is not None
    assert keep_prod.label == "Keep fresh in credentials [default]"
    assert keep_prod.checked is True


def test_a_chained_role_names_the_profile_it_is_assumed_with_as_list_does() -> None:
    deploy = ProfileState(
        name="deploy",
        session_key=CORP,
        account_id="222222222222",
        role_name="Deployer",
        status=ProfileStatus.IDLE,
        via="dev",
    )
    far = "a-source-profile-with-a-name-much-longer-than-a-menu-line-should-be"
    admin = ProfileState(
        name="admin",
        session_key=CORP,
        account_id="333333333333",
        role_name="Admin",
        status=ProfileStatus.FRESH,
        via=far,
    )
    entries = menu(snap([session()], [profile("dev"), deploy, admin]))
    lines = {
        name: entry.children[0]
        for name in ("dev", "deploy", "admin")
        if (entry := find_entry(entries, name)) is not None
    }
    assert lines["deploy"] == MenuEntry("222222222222 / Deployer via dev", enabled=False)
    assert lines["dev"] == MenuEntry("111122223333 / Admin", enabled=False)  # a plain role
    # a long source is clipped as the menu clips long lines, the account and role kept whole
    long_line = lines["admin"].label
    assert long_line.startswith("333333333333 / Admin via a-source-profile-")
    assert long_line.endswith("…") and len(long_line) <= 60
    assert far.startswith(long_line.removeprefix("333333333333 / Admin via ")[:-1])
    # the profile's own line and its actions are a plain profile's
    assert find_entry(entries, "deploy - logged in") is not None
    assert kinds(entries, "deploy") == kinds(entries, "dev")


def kinds(entries: tuple[MenuEntry, ...], profile: str) -> list[ActionKind | None]:
    """What each line of `profile`'s submenu does (None: a line that only informs)."""
    entry = find_entry(entries, profile)
    assert entry is not None and entry.is_submenu
    return [e.action.kind if e.action else None for e in entry.children if not e.separator]


def test_expired_session_profiles_are_one_click_logins() -> None:
    s = snap(
        [session(status=SessionStatus.LOGIN_NEEDED, token=NOW - timedelta(minutes=3))],
        [profile("dev"), profile("prod")],
    )
    entries = menu(s)
    assert labels(entries)[:3] == ["corp - expired", "dev - log in", "prod - log in"]
    dev = find_entry(entries, "dev")
    assert dev is not None and not dev.is_submenu
    assert dev.action == Action(ActionKind.LOGIN, CORP, profile="dev")
    assert find_entry(entries, "Refresh all now") == MenuEntry(
        "Refresh all now", Action(ActionKind.REFRESH_ALL), enabled=False
    )


def test_never_logged_in_session_says_so_and_cannot_log_out() -> None:
    s = snap([session(status=SessionStatus.LOGIN_NEEDED, token=None, ends=None)], [profile("dev")])
    entries = menu(s)
    assert entries[0].label == "corp - not signed in"
    logout = entries[0].find("Log out")
    assert logout is not None and logout.enabled is False
    assert entries[0].children[0].label == "Log in"


def test_logging_in_session_lets_the_user_reopen_the_page() -> None:
    s = snap([session(status=SessionStatus.LOGGING_IN)], [profile("dev")], busy=True)
    entries = menu(s)
    assert entries[0].label == "corp - waiting for the browser sign-in"
    assert entries[0].children[0] == MenuEntry(
        "Open the sign-in page again", Action(ActionKind.LOGIN, CORP)
    )
    dev = find_entry(entries, "dev")
    assert dev is not None
    assert dev.label == "dev - signing in…"
    assert dev.action == Action(ActionKind.LOGIN, CORP, profile="dev")


def test_expiring_session_and_error_labels() -> None:
    s = snap(
        [session(status=SessionStatus.EXPIRING, ends=NOW + timedelta(minutes=9))],
        [
            profile("dev", status=ProfileStatus.ERROR, last_error="Throttled by AWS: try later"),
            profile("ops", status=ProfileStatus.REFRESHING),
        ],
    )
    entries = menu(s)
    assert entries[0].label == "corp - ends at 11:37, log in again"
    dev = find_entry(entries, "dev")
    assert dev is not None
    assert dev.label == "dev - error: Throttled by AWS: try later"
    assert dev.children[1].label == "Last error: Throttled by AWS: try later"
    ops = find_entry(entries, "ops")
    assert ops is not None and ops.label == "ops - refreshing…"
    refresh = ops.find("Refresh now")
    assert refresh is not None and refresh.enabled is False


def test_session_error_is_shown_with_a_retry() -> None:
    long_error = "could not reach the endpoint " + "x" * 200
    s = snap([session(status=SessionStatus.ERROR, error=long_error)], [profile("dev")])
    entries = menu(s)
    assert entries[0].label.startswith("corp - error: could not reach the endpoint")
    assert len(entries[0].label) < 90
    assert entries[0].children[0].label.startswith("Last error:")
    assert entries[0].children[1].action == Action(ActionKind.LOGIN, CORP)


def test_clock_labels_name_the_day_when_not_today() -> None:
    assert format_clock(NOW + timedelta(hours=1), NOW, UTC) == "12:28"
    assert format_clock(NOW + timedelta(days=1), NOW, UTC) == "Tue 11:28"
    tz = timezone(timedelta(hours=2))
    assert format_clock(NOW, NOW, tz) == "13:28"


# --- several sessions: grouped ---------------------------------------------------------------


def test_several_sessions_group_profiles_under_their_session() -> None:
    s = snap(
        [session(), session(LAB, SessionStatus.LOGIN_NEEDED, name="lab.awsapps.com", token=None)],
        [profile("dev"), profile("sandbox", LAB), profile("prod")],
    )
    entries = menu(s)
    assert labels(entries)[:2] == [
        "corp - logged in until 17:40",
        "lab.awsapps.com - not signed in",
    ]
    corp, lab = entries[0], entries[1]
    assert labels(corp.children) == [
        "Log in again",
        "Open the access portal",
        "Log out of corp",
        "Sync accounts from the portal",
        "dev - logged in",
        "prod - logged in",
    ]
    sandbox = lab.find("sandbox")
    assert sandbox is not None
    assert sandbox.action == Action(ActionKind.LOGIN, LAB, profile="sandbox")
    # Not repeated at the top level.
    assert find_entry(entries[2:], "dev") is None


def test_every_sso_session_offers_to_sync_its_accounts_from_the_portal() -> None:
    s = snap(
        [
            session(),
            session("lab", SessionStatus.LOGIN_NEEDED, token=None),
            session(LAB, name="lab.awsapps.com"),  # a legacy profile's implicit session
        ],
        [profile("dev"), profile("sandbox", "lab"), profile("old", LAB)],
    )
    entries = menu(s)
    for index, name in ((0, "corp"), (1, "lab")):  # signed in or not: the sync signs in
        sync = entries[index].find("Sync accounts from the portal")
        assert sync is not None and sync.enabled, name
        assert sync.action == Action(ActionKind.RESCAN, name)
    assert entries[2].label.startswith("lab.awsapps.com")
    assert entries[2].find("Sync accounts") is None  # no [sso-session] section to sync


def test_favourites_sort_first_within_their_group() -> None:
    s = snap([session()], [profile("a"), profile("b"), profile("c")])
    entries = menu(s, Settings(favorites=("c", "b")))
    assert labels(entries)[1:4] == ["c - logged in", "b - logged in", "a - logged in"]
    pin = find_entry(entries, "c - ")
    assert pin is not None
    pin_entry = pin.find("Pin to the top")
    assert pin_entry is not None and pin_entry.checked is True
    assert pin_entry.action == Action(ActionKind.TOGGLE_FAVORITE, "c")
    # Few profiles: no separate "Pinned and recent" block.
    assert find_entry(entries, "Pinned and recent") is None


def test_dozens_of_profiles_keep_favourites_and_recent_at_the_top() -> None:
    names = [f"acct-{i:02d}" for i in range(40)]
    sessions = [session(), session("lab", SessionStatus.LOGIN_NEEDED, token=None)]
    profiles = [profile(n, CORP if i % 2 else "lab") for i, n in enumerate(names)]
    recent = ("acct-30", "acct-07", "acct-11", "acct-02", "acct-33", "acct-35", "acct-37")
    settings = Settings(favorites=("acct-21", "acct-04", "gone"), recent=("acct-04", *recent))
    entries = menu(snap(sessions, profiles), settings)
    assert len(profiles) > PINNED_THRESHOLD
    assert entries[0] == MenuEntry("Pinned and recent", enabled=False)
    top = []
    for entry in entries[1:]:
        if entry.separator:
            break
        top.append(entry)
    # Favourites in their order (unknown ones skipped), then recent ones not already pinned.
    assert [e.label.split(" ")[0] for e in top] == ["acct-21", "acct-04", *recent[:RECENT_SHOWN]]
    assert top[0].label == "acct-21 (corp) - logged in"
    # A pinned logged-out profile is still a single click to log in.
    assert top[1].label == "acct-04 (lab) - log in"
    assert top[1].action == Action(ActionKind.LOGIN, "lab", profile="acct-04")
    # Everything stays reachable under its session too (more than GROUP_THRESHOLD profiles:
    # in its account's submenu, named by the id when the portal's name is not known).
    corp = find_entry(entries, "corp - ")
    assert corp is not None
    (account,) = [c for c in corp.children if c.is_submenu]
    assert account.label == "111122223333"
    assert len([c for c in account.children if c.label.startswith("acct-")]) == 20


def test_global_entries_and_autostart_checkbox() -> None:
    s = snap([session()], [profile("dev")])
    entries = menu(s, autostart_enabled=True)
    tail = [e for e in entries if not e.separator][-7:]
    assert [(e.label, e.action, e.checked) for e in tail] == [
        ("Refresh all now", Action(ActionKind.REFRESH_ALL), None),
        ("Open dashboard…", Action(ActionKind.OPEN_DASHBOARD), None),
        ("Add SSO profiles…", Action(ActionKind.CONFIGURE), None),
        ("Open the AWS config file", Action(ActionKind.OPEN_CONFIG), None),
        ("Open the settings file", Action(ActionKind.OPEN_SETTINGS), None),
        ("Start at login", Action(ActionKind.TOGGLE_AUTOSTART), True),
        ("Quit", Action(ActionKind.QUIT), None),
    ]
    assert entries[-1].label == "Quit" and entries[-2].separator
    off = find_entry(menu(s, autostart_enabled=False), "Start at login")
    assert off is not None and off.checked is False


def test_busy_snapshot_disables_refresh_all() -> None:
    entries = menu(snap([session()], [profile("dev")], busy=True))
    refresh_all = find_entry(entries, "Refresh all now")
    assert refresh_all is not None and refresh_all.enabled is False


def test_first_run_offers_setup_first_and_nothing_else_to_log_in() -> None:
    entries = menu(snap([], []))
    # default: the left click's entry, as there is no dashboard entry on first run
    setup = MenuEntry("Set up AWS SSO profiles…", Action(ActionKind.CONFIGURE), default=True)
    assert entries[0] == setup
    assert entries[1].label == "No SSO profiles in the AWS config file yet"
    assert entries[1].enabled is False and entries[1].action is None
    assert entries[2].separator
    # Offered once: no second "Add SSO profiles…" among the global entries.
    configure = [e for e in entries if e.action == Action(ActionKind.CONFIGURE)]
    assert configure == [entries[0]]
    assert find_entry(entries, "Add SSO profiles") is None
    refresh_all = find_entry(entries, "Refresh all now")
    assert refresh_all is not None and refresh_all.enabled is False
    assert labels(entries)[-4:] == [
        "Open the AWS config file",
        "Open the settings file",
        "Start at login",
        "Quit",
    ]


def test_first_run_with_the_setup_page_open_offers_to_show_it_again() -> None:
    entries = menu(snap([], []), configuring=True)
    again = MenuEntry("Show the setup page again", Action(ActionKind.CONFIGURE), default=True)
    assert entries[0] == again
    assert find_entry(entries, "Set up AWS SSO profiles") is None


def _defaults(entries: tuple[MenuEntry, ...]) -> list[MenuEntry]:
    found = [e for e in entries if e.default]
    return found + [d for e in entries for d in _defaults(e.children)]


def test_the_left_click_entry_is_the_dashboard_unless_the_setting_says_menu() -> None:
    s = snap([session()], [profile("dev"), profile("prod")])
    (default,) = _defaults(menu(s))
    assert default == MenuEntry("Open dashboard…", Action(ActionKind.OPEN_DASHBOARD), default=True)
    assert _defaults(menu(s, Settings(left_click="menu"))) == []
    assert _defaults(menu(snap([], []), Settings(left_click="menu"))) == []  # first run too


def test_with_profiles_adding_more_is_a_global_entry() -> None:
    entries = menu(snap([session()], [profile("dev")]))
    assert find_entry(entries, "Set up AWS SSO profiles") is None
    add = find_entry(entries, "Add SSO profiles…")
    assert add == MenuEntry("Add SSO profiles…", Action(ActionKind.CONFIGURE))
    names = labels(entries)
    assert names.index("Refresh all now") < names.index("Add SSO profiles…")
    assert names.index("Add SSO profiles…") < names.index("Open the AWS config file")
    # While a page is open the same entry shows it again rather than starting another.
    again = menu(snap([session()], [profile("dev")]), configuring=True)
    assert find_entry(again, "Add SSO profiles") is None
    shown = find_entry(again, "Show the setup page again")
    assert shown is not None and shown.action == Action(ActionKind.CONFIGURE)


def test_config_error_is_one_shortened_line_with_the_file_near_the_top() -> None:
    problem = "~/.aws/config line 3: " + "section header without a closing bracket " * 4
    entries = menu(snap([], [], config_error=problem))
    assert entries[0].label.startswith("AWS config problem: ~/.aws/config line 3: section")
    assert entries[0].label.endswith("…") and len(entries[0].label) < len(problem)
    assert entries[0].enabled is False and entries[0].action is None
    assert entries[1] == MenuEntry("Open the AWS config file", Action(ActionKind.OPEN_CONFIG))
    assert entries[2].separator
    problems = [e for e in entries if e.label.startswith("AWS config problem")]
    assert len(problems) == 1
    # Not a first run: the config is there but broken, so no setup entry at the top.
    assert find_entry(entries, "Set up AWS SSO profiles") is None
    short = menu(snap([], [], config_error="~/.aws/config line 3: bad section"))
    assert short[0].label == "AWS config problem: ~/.aws/config line 3: bad section"


def test_config_error_next_to_working_profiles_keeps_them_and_adding() -> None:
    problem = "auto-sync profile 'gone' is not an SSO profile in ~/.aws/config"
    entries = menu(snap([session()], [profile("dev")], config_error=problem))
    assert entries[0].label == f"AWS config problem: {problem[:59]}…"
    assert entries[1].action == Action(ActionKind.OPEN_CONFIG)
    assert find_entry(entries, "dev - logged in") is not None
    assert find_entry(entries, "Add SSO profiles…") is not None


# --- tooltip and icon state ------------------------------------------------------------------


def test_tooltip_summarises_sessions_and_synced_profiles() -> None:
    s = snap(
        [session(), session("lab", SessionStatus.LOGIN_NEEDED, token=NOW - timedelta(hours=1))],
        [profile(f"p{i}", status=ProfileStatus.FRESH, synced_section=f"p{i}") for i in range(3)],
    )
    assert tooltip(s) == "corp: 6 h 12 m left; lab: expired; 3 profiles synced"
    one = snap([session()], [profile("p", status=ProfileStatus.FRESH, synced_section="p")])
    assert tooltip(one) == "corp: 6 h 12 m left; 1 profile synced"
    many = snap([session(f"session-{i}") for i in range(20)], [])
    assert len(tooltip(many)) <= 127 and tooltip(many).endswith("…")


@pytest.mark.parametrize(
    ("sessions", "profiles", "busy", "error", "expected"),
    [
        ([session()], [profile("dev")], False, None, IconState.OK),
        ([session()], [profile("dev")], True, None, IconState.BUSY),
        ([session(status=SessionStatus.LOGGING_IN)], [], False, None, IconState.BUSY),
        ([session(status=SessionStatus.EXPIRING)], [], False, None, IconState.EXPIRING),
        ([session(status=SessionStatus.ERROR)], [], False, None, IconState.ERROR),
        ([session()], [profile("d", status=ProfileStatus.ERROR)], False, None, IconState.ERROR),
        ([], [], False, "broken", IconState.ERROR),
        ([], [], False, None, IconState.LOGIN_NEEDED),  # first run: set up, not an error
        ([session(status=SessionStatus.LOGIN_NEEDED)], [], False, None, IconState.LOGIN_NEEDED),
        # A logged-out session nobody keeps fresh does not outweigh a good one...
        (
            [session(), session("lab", SessionStatus.LOGIN_NEEDED)],
            [profile("sandbox", "lab")],
            False,
            None,
            IconState.OK,
        ),
        # ...but one feeding a kept-fresh profile does.
        (
            [session(), session("lab", SessionStatus.LOGIN_NEEDED)],
            [profile("sandbox", "lab", ProfileStatus.LOGIN_NEEDED, synced_section="sandbox")],
            False,
            None,
            IconState.LOGIN_NEEDED,
        ),
    ],
)
def test_icon_state(
    sessions: list[SessionState],
    profiles: list[ProfileState],
    busy: bool,
    error: str | None,
    expected: IconState,
) -> None:
    assert icon_state(snap(sessions, profiles, busy=busy, config_error=error)) == expected


def test_icon_state_counts_settings_auto_sync_as_relied_on() -> None:
    s = snap([session(), session("lab", SessionStatus.LOGIN_NEEDED)], [profile("sandbox", "lab")])
    assert icon_state(s) == IconState.OK
    kept = Settings(auto_sync=(SyncTarget("sandbox", "sandbox"),))
    assert icon_state(s, kept) == IconState.LOGIN_NEEDED


def test_every_logged_in_profile_opens_its_console_or_copies_its_url() -> None:
    s = snap([session()], [profile("dev"), profile("prod", status=ProfileStatus.FRESH)])
    for name in ("dev", "prod"):
        entry = find_entry(menu(s), name)
        assert entry is not None and entry.is_submenu
        assert entry.find("Open AWS console") == MenuEntry(
            "Open AWS console", Action(ActionKind.OPEN_CONSOLE, name)
        )
        assert entry.find("Copy console URL") == MenuEntry(
            "Copy console URL", Action(ActionKind.COPY_CONSOLE_URL, name)
        )
        shown = labels(entry.children)
        assert shown.index("Copy export lines") + 1 == shown.index("Open AWS console")
        assert shown.index("Open AWS console") + 1 == shown.index("Copy console URL")


# --- hundreds of profiles: grouped by account ------------------------------------------------


def role(
    name: str, account: str, key: str = CORP, account_name: str | None = None, **kw: object
) -> ProfileState:
    return ProfileState(
        name=name,
        session_key=key,
        account_id=account,
        role_name=name.rsplit("-", 1)[-1],
        status=kw.pop("status", ProfileStatus.IDLE),  # type: ignore[arg-type]
        account_name=account_name,
        **kw,  # type: ignore[arg-type]
    )


def many_profiles() -> list[ProfileState]:
    """Two sessions; corp: 3 named accounts x 3 roles and one unnamed; lab: 2 accounts x 3."""
    profiles = []
    for account, name in (("333", "zeta"), ("111", "Alpha"), ("222", "beta")):
        profiles += [role(f"{name}-{r}", account, account_name=name) for r in ("A", "B", "C")]
    profiles += [role(f"noname-{r}", "999") for r in ("A", "B")]
    profiles += [role(f"lab{a}-{r}", f"55{a}", "lab", f"lab{a}") for a in (1, 2) for r in "XYZ"]
    return profiles


def test_more_than_the_threshold_groups_each_session_by_account_name_and_id() -> None:
    from aws_sso_tray.tray.menu import GROUP_THRESHOLD

    profiles = many_profiles()
    assert len(profiles) > GROUP_THRESHOLD
    entries = menu(snap([session(), session("lab")], profiles))
    corp = find_entry(entries, "corp - ")
    assert corp is not None
    accounts = [c for c in corp.children if c.is_submenu]
    # Sorted by name (case aside), then the accounts whose name is not known here: the id.
    assert [a.label for a in accounts] == ["Alpha (111)", "beta (222)", "zeta (333)", "999"]
    assert labels(accounts[0].children) == [
        "Alpha-A - logged in",
        "Alpha-B - logged in",
        "Alpha-C - logged in",
    ]
    first = accounts[0].children[0].find("111 / A")
    assert first is not None and first.enabled is False
    # The session's own actions stay first in its submenu.
    assert labels(corp.children)[:3] == [
        "Log in again",
        "Open the access portal",
        "Log out of corp",
    ]
    lab = find_entry(entries, "lab - ")
    assert lab is not None
    assert [c.label for c in lab.children if c.is_submenu] == ["lab1 (551)", "lab2 (552)"]
    # Not flat at the top level any more.
    assert not [e for e in entries if e.label.startswith("Alpha-")]


def test_grouped_menu_keeps_kept_fresh_and_failing_profiles_on_top() -> None:
    profiles = many_profiles()
    profiles[4] = role(
        "beta-B", "222", account_name="beta", status=ProfileStatus.FRESH, synced_section="beta-B"
    )
    profiles[7] = role(
        "zeta-B", "333", account_name="zeta", status=ProfileStatus.ERROR, last_error="AccessDenied"
    )
    settings = Settings(
        auto_sync=(SyncTarget("lab1-X", "default"),), favorites=("zeta-B",), recent=("Alpha-C",)
    )
    entries = menu(snap([session(), session("lab")], profiles), settings)
    assert labels(entries)[:6] == [
        "Pinned and recent",
        "zeta-B (corp) - error: AccessDenied",
        "Alpha-C (corp) - logged in",
        "Kept fresh and failing",  # each profile once: zeta-B is pinned already
        "beta-B (corp) - fresh in [beta-B]",
        "lab1-X (lab) - logged in",  # kept fresh by the settings, no refresh yet
    ]
    assert entries[3].enabled is False and entries[3].action is None
    # Still in their account's submenu too.
    corp = find_entry(entries, "corp - ")
    assert corp is not None
    beta = corp.find("beta (222)")
    assert beta is not None and beta.find("beta-B - fresh") is not None


def test_grouped_menu_with_one_session_puts_the_accounts_at_the_top_level() -> None:
    profiles = [p for p in many_profiles() if p.session_key == CORP]
    profiles += [role(f"extra-{i}", "444", account_name="extra") for i in range(5)]
    entries = menu(snap([session()], profiles))
    assert labels(entries)[:6] == [
        "corp - logged in until 17:40",
        "Alpha (111)",
        "beta (222)",
        "extra (444)",
        "zeta (333)",
        "999",
    ]
    # No "Kept fresh and failing" header when there is nothing to show in it.
    assert find_entry(entries, "Kept fresh and failing") is None


def test_a_label_leads_the_profiles_line_wherever_it_is_shown() -> None:
    prod = profile("prod", label="PROD", status=ProfileStatus.FRESH, synced_section="prod")
    entries = menu(snap([session()], [profile("dev"), prod]))
    assert labels(entries)[1:3] == ["dev - logged in", "[PROD] prod - fresh in [prod]"]
    entries = menu(snap([session(), session("lab")], [prod, *many_profiles()]))
    assert find_entry(entries, "[PROD] prod (corp) - fresh") is not None  # kept fresh: on top


# --- end to end: the portal's names and the settings' labels reach the menu ------------------


def test_account_names_from_the_portal_and_labels_reach_status_and_the_menu(
    emulator: Emulator, aws_config: WriteConfig, cli: RunCli
) -> None:
    import json

    from aws_sso_tray.aws import accountnames, portal
    from aws_sso_tray.emulator import Account, EmulatorConfig
    from aws_sso_tray.files import settings as settings_file

    start_url = "https://d-1234567890.awsapps.com/start"
    accounts = [Account(f"{i:012d}", f"Team {i}", "", ("ReadOnly", "Admin")) for i in range(1, 9)]
    emulator.config = EmulatorConfig(accounts=tuple(accounts))
    text = f"[sso-session corp]\nsso_start_url = {start_url}\nsso_region = us-east-1\n\n"
    for account in accounts:
        for role_name in account.roles:
            text += (
                f"[profile t{int(account.account_id)}-{role_name}]\nsso_session = corp\n"
                f"sso_account_id = {account.account_id}\nsso_role_name = {role_name}\n\n"
            )
    aws_config(text)
    path = settings_file.settings_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text('[[labels]]\nmatch = "t8-*"\nlabel = "PROD"\ncolor = "red"\n')

    before = json.loads(cli("status", "--json").stdout)
    assert {p["account_name"] for p in before["profiles"]} == {None}  # never listed here

    # configure lists the accounts (ListAccounts): their names are remembered from then on
    issued = emulator.login(start_url=start_url)
    portal.scan(issued.access_token, "us-east-1")
    assert accountnames.known() == {a.account_id: a.name for a in accounts}
    assert accountnames.location().stat().st_mode & 0o777 == 0o600

    data = json.loads(cli("status", "--json").stdout)
    t8 = next(p for p in data["profiles"] if p["name"] == "t8-Admin")
    assert (t8["account_name"], t8["label"]) == ("Team 8", "PROD")
    t1 = next(p for p in data["profiles"] if p["name"] == "t1-Admin")
    assert (t1["account_name"], t1["label"]) == ("Team 1", None)

    snapshot = Snapshot.from_dict(data)
    entries = menu(snapshot, settings_file.load_settings()[0])
    team8 = find_entry(entries, "Team 8 (000000000008)")
    assert team8 is not None and team8.is_submenu
    assert [e.label.split(" - ")[0] for e in team8.children] == [
        "[PROD] t8-ReadOnly",
        "[PROD] t8-Admin",
    ]
