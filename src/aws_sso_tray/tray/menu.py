"""The tray menu as plain values: a Snapshot and the Settings in, a tree of `MenuEntry` out.

Pure and toolkit-free (no pystray, no PIL): `app.py` turns the tree into a pystray.Menu and
dispatches each entry's `Action`; everything a person reads in the menu, the tooltip and the
icon's state is decided here and tested without a display.

Layout (top to bottom):
- first run (no SSO session or profile in the AWS config, and no config problem): "Set up AWS
  SSO profiles…", which serves the configure page on 127.0.0.1 and opens it in the browser
  (pystray has no text input); while that page is open the entry shows it again instead;
- a config problem (disabled line, shortened) and "Open the AWS config file" right below it;
- with many profiles (more than PINNED_THRESHOLD): favourites, then recently used ones ("Pinned
  and recent"), so the profile a person needs is one or two clicks away however long the list
  is; with more than GROUP_THRESHOLD, then the kept-fresh and failing ones ("Kept fresh and
  failing"), always in sight;
- with one SSO session: the session's line (a submenu: log in, access portal, log out, and for
  an `[sso-session]` "Sync accounts from the portal") and its profiles flat below it; with
  several: one submenu per session holding its actions and its
  profiles; with more than GROUP_THRESHOLD profiles, a session's profiles are in one submenu per
  account (`Team 8 (000000000008)`, the id alone when the portal's name is not known here),
  sorted by name;
- global entries: refresh all now, add SSO profiles (the same page; not on first run, where it
  is the first entry), open the AWS config file, open the settings file, start at login
  (checkbox), quit.

A profile's line starts with its settings.toml label, if any (`[PROD] prod - logged in`). A
profile whose session needs a login is one plain entry: activating it starts that session's
login. A profile that is logged in is a submenu: keep fresh in [section] (checkbox), refresh
now, copy export lines, open the AWS console, copy the console URL, pin to top (checkbox), log
out; its first line is `ACCOUNT / ROLE`, `ACCOUNT / ROLE via SOURCE` for a role chained on SSO.

With `left_click = "dashboard"` (the default) "Open dashboard…" is the menu's default entry (on
first run, which has none, "Set up AWS SSO profiles…"): what a left click does on the backends
that hand the left click to the app (`app.left_click_runs_default`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from enum import Enum
from typing import TYPE_CHECKING

from aws_sso_tray.api import format_remaining
from aws_sso_tray.snapshot import (
    ProfileState,
    ProfileStatus,
    SessionState,
    SessionStatus,
    Snapshot,
)
from aws_sso_tray.tray.icons import IconState

if TYPE_CHECKING:
    from aws_sso_tray.api import Settings

PINNED_THRESHOLD = 8  # more profiles than this: favourites and recent ones go to the top
GROUP_THRESHOLD = 15  # more than this: one submenu per account, kept-fresh and failing on top
RECENT_SHOWN = 5  # recently used profiles shown at the top (after the favourites)
TOOLTIP_LIMIT = 127  # Windows truncates tray tooltips at 128 characters
ERROR_LABEL_LIMIT = 60
SETUP_LABEL = "Set up AWS SSO profiles…"
ADD_PROFILES_LABEL = "Add SSO profiles…"
SETUP_OPEN_LABEL = "Show the setup page again"  # a configure page is already being served
DASHBOARD_LABEL = "Open dashboard…"
RESCAN_LABEL = "Sync accounts from the portal"


class ActionKind(str, Enum):
    LOGIN = "login"  # target: session key; profile: the profile that was activated, if any
    LOGOUT = "logout"  # target: session key
    PORTAL = "portal"  # target: session key (its start URL is in the snapshot)
    TOGGLE_SYNC = "toggle_sync"  # target: profile; section: the credentials-file section
    REFRESH = "refresh"  # target: profile
    COPY_EXPORT = "copy_export"  # target: profile
    OPEN_CONSOLE = "open_console"  # target: profile (the access portal's console link)
    COPY_CONSOLE_URL = "copy_console_url"  # target: profile
    TOGGLE_FAVORITE = "toggle_favorite"  # target: profile
    REFRESH_ALL = "refresh_all"
    OPEN_CONFIG = "open_config"
    OPEN_SETTINGS = "open_settings"
    TOGGLE_AUTOSTART = "toggle_autostart"
    CONFIGURE = "configure"  # serve the configure page (or show the open one again)
    OPEN_DASHBOARD = "open_dashboard"  # the engine's dashboard page, in the browser
    RESCAN = "rescan"  # target: sso-session name; profiles in step with the portal's roles
    QUIT = "quit"


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    target: str | None = None
    profile: str | None = None  # LOGIN: the profile the person picked (recorded as recent)
    section: str | None = None  # TOGGLE_SYNC: the section to keep fresh


@dataclass(frozen=True)
class MenuEntry:
    """One line of the menu: an item, a checkbox (`checked` not None), a submenu, or a separator.

    `action` None with no children is an information line (shown disabled). `default`: what a
    left click on the icon does, where the backend hands the left click to the app.
    """

    label: str
    action: Action | None = None
    checked: bool | None = None
    enabled: bool = True
    children: tuple[MenuEntry, ...] = ()
    separator: bool = False
    default: bool = False

    @property
    def is_submenu(self) -> bool:
        return bool(self.children)

    def find(self, label_start: str) -> MenuEntry | None:
        """The first entry below this one (depth first) whose label starts with `label_start`."""
        return find_entry(self.children, label_start)


SEPARATOR = MenuEntry("", enabled=False, separator=True)


def find_entry(entries: Iterable[MenuEntry], label_start: str) -> MenuEntry | None:
    for entry in entries:
        if entry.label.startswith(label_start):
            return entry
        found = find_entry(entry.children, label_start)
        if found is not None:
            return found
    return None


# --- labels ------------------------------------------------------------------------------------


def format_clock(moment: datetime, now: datetime, tz: tzinfo | None = None) -> str:
    """`17:40` today (in `tz`, default the local zone), `Tue 09:15` on another day."""
    local, today = moment.astimezone(tz), now.astimezone(tz)
    if local.date() == today.date():
        return local.strftime("%H:%M")
    return local.strftime("%a %H:%M")


def _ends_at(session: SessionState) -> datetime | None:
    return session.session_ends_at or session.token_expires_at


def _short(text: str, limit: int = ERROR_LABEL_LIMIT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def session_label(session: SessionState, now: datetime, tz: tzinfo | None = None) -> str:
    """`corp - logged in until 17:40`, `corp - expired`, `corp - not signed in`..."""
    ends = _ends_at(session)
    status = session.status
    if status is SessionStatus.LOGGED_IN:
        state = f"logged in until {format_clock(ends, now, tz)}" if ends else "logged in"
    elif status is SessionStatus.EXPIRING:
        state = f"ends at {format_clock(ends, now, tz)}, log in again" if ends else "ends soon"
    elif status is SessionStatus.LOGGING_IN:
        state = "waiting for the browser sign-in"
    elif status is SessionStatus.ERROR:
        state = f"error: {_short(session.last_error)}" if session.last_error else "error"
    elif status is SessionStatus.SIGNED_OUT:
        state = "signed out"
    elif status is SessionStatus.NOT_SIGNED_IN or session.token_expires_at is None:
        state = "not signed in"
    else:
        state = "expired"
    return f"{session.name} - {state}"


def profile_label(
    profile: ProfileState,
    session: SessionState | None,
    now: datetime,
    tz: tzinfo | None = None,
    *,
    with_session: bool = False,
) -> str:
    """`dev - fresh in [dev] until 17:55`, `[PROD] prod - log in`, `dev (corp) - refreshing`..."""
    name = f"{profile.name} ({session.name})" if with_session and session else profile.name
    if profile.label:
        name = f"[{profile.label}] {name}"
    if session is not None and _needs_login(session):
        return f"{name} - log in"
    if session is not None and session.status is SessionStatus.LOGGING_IN:
        return f"{name} - signing in…"
    status = profile.status
    if status is ProfileStatus.FRESH:
        section = profile.synced_section or profile.name
        until = profile.credentials_expire_at
        tail = f" until {format_clock(until, now, tz)}" if until else ""
        return f"{name} - fresh in [{section}]{tail}"
    if status is ProfileStatus.REFRESHING:
        return f"{name} - refreshing…"
    if status is ProfileStatus.LOGIN_NEEDED:
        return f"{name} - log in"
    if status is ProfileStatus.ERROR:
        return f"{name} - error: {_short(profile.last_error)}" if profile.last_error else name
    return f"{name} - logged in"


def _needs_login(session: SessionState) -> bool:
    return session.status in _SIGNED_OFF


_SIGNED_OFF = (SessionStatus.LOGIN_NEEDED, SessionStatus.NOT_SIGNED_IN, SessionStatus.SIGNED_OUT)


# --- the tree ----------------------------------------------------------------------------------


def build_menu(
    snapshot: Snapshot,
    settings: Settings,
    *,
    autostart_enabled: bool = False,
    configuring: bool = False,
    now: datetime | None = None,
    tz: tzinfo | None = None,
) -> tuple[MenuEntry, ...]:
    """The whole menu for `snapshot` and `settings` (`now` defaults to the snapshot's time).

    `configuring`: a configure page is open, so its entry offers to show that page again.
    """
    now = snapshot.taken_at if now is None else now
    entries: list[MenuEntry] = []
    first_run = is_first_run(snapshot)
    configure = Action(ActionKind.CONFIGURE)
    # The left click's entry: the dashboard, or on first run (no dashboard entry) the setup page.
    left = settings.left_click == "dashboard"
    if first_run:
        # The one thing to do on a fresh machine comes first, one click away.
        entries += [
            MenuEntry(SETUP_OPEN_LABEL if configuring else SETUP_LABEL, configure, default=left),
            MenuEntry("No SSO profiles in the AWS config file yet", enabled=False),
            SEPARATOR,
        ]
    if snapshot.config_error:
        entries += [
            MenuEntry(f"AWS config problem: {_short(snapshot.config_error)}", enabled=False),
            MenuEntry("Open the AWS config file", Action(ActionKind.OPEN_CONFIG)),
            SEPARATOR,
        ]

    sessions = {s.key: s for s in snapshot.sessions}
    look = _Look.of(settings, now, tz, multiple=len(sessions) > 1)
    if len(snapshot.profiles) > PINNED_THRESHOLD:
        entries += _top(snapshot, sessions, look)
    entries += _sessions_part(snapshot, sessions, look)
    # Profiles whose session the snapshot does not list (should not happen; never hide them).
    orphans = [p for p in snapshot.profiles if p.session_key not in sessions]
    entries += [_profile_entry(p, None, look) for p in orphans]

    logged_in = any(not _needs_login(s) for s in snapshot.sessions)
    entries += [
        SEPARATOR,
        MenuEntry(
            "Refresh all now",
            Action(ActionKind.REFRESH_ALL),
            enabled=logged_in and not snapshot.busy,
        ),
    ]
    if not first_run:
        dashboard = Action(ActionKind.OPEN_DASHBOARD)
        entries.append(MenuEntry(DASHBOARD_LABEL, dashboard, default=left))
        entries.append(
            MenuEntry(SETUP_OPEN_LABEL if configuring else ADD_PROFILES_LABEL, configure)
        )
    entries += [
        MenuEntry("Open the AWS config file", Action(ActionKind.OPEN_CONFIG)),
        MenuEntry("Open the settings file", Action(ActionKind.OPEN_SETTINGS)),
        MenuEntry("Start at login", Action(ActionKind.TOGGLE_AUTOSTART), checked=autostart_enabled),
        SEPARATOR,
        MenuEntry("Quit", Action(ActionKind.QUIT)),
    ]
    return tuple(entries)


def is_first_run(snapshot: Snapshot) -> bool:
    """No SSO session or profile in the AWS config, and nothing wrong with it: set them up."""
    return not snapshot.sessions and not snapshot.profiles and not snapshot.config_error


def _group(snapshot: Snapshot) -> dict[str, list[ProfileState]]:
    groups: dict[str, list[ProfileState]] = {}
    for profile in snapshot.profiles:
        groups.setdefault(profile.session_key, []).append(profile)
    return groups


def _favourites_first(profiles: list[ProfileState], settings: Settings) -> list[ProfileState]:
    """Favourites in their pinned order, then the rest in config order."""
    rank = {name: i for i, name in enumerate(settings.favorites)}
    favourites = sorted((p for p in profiles if p.name in rank), key=lambda p: rank[p.name])
    return favourites + [p for p in profiles if p.name not in rank]


def _pinned(snapshot: Snapshot, settings: Settings) -> list[ProfileState]:
    """Favourites (pinned order), then up to RECENT_SHOWN recent ones not already pinned."""
    known = {p.name: p for p in snapshot.profiles}
    names = [n for n in settings.favorites if n in known]
    recent = [n for n in settings.recent if n in known and n not in names]
    return [known[n] for n in names + recent[:RECENT_SHOWN]]


@dataclass(frozen=True)
class _Look:
    """What every profile line needs, worked out once per menu (500 profiles: no per-line
    scans of the settings)."""

    settings: Settings
    now: datetime
    tz: tzinfo | None
    multiple: bool  # several sessions: lines outside a session's submenu name their session
    sync: dict[str, str]  # profile -> the section it is kept fresh in
    favorites: frozenset[str]

    @classmethod
    def of(cls, settings: Settings, now: datetime, tz: tzinfo | None, *, multiple: bool) -> _Look:
        sync, favorites = settings.auto_sync_map(), frozenset(settings.favorites)
        return cls(settings, now, tz, multiple, sync, favorites)

    def relied_on(self, profile: ProfileState) -> bool:
        """Kept fresh, or failing: always in sight, however long the menu."""
        kept = profile.name in self.sync or profile.synced_section is not None
        return kept or profile.status in (ProfileStatus.ERROR, ProfileStatus.LOGIN_NEEDED)


def _top(snapshot: Snapshot, sessions: dict[str, SessionState], look: _Look) -> list[MenuEntry]:
    """With many profiles: pinned and recent ones, then (grouped menus) kept-fresh and failing
    ones, each block once, above the sessions."""
    pinned = _pinned(snapshot, look.settings)
    blocks: list[tuple[str, list[ProfileState]]] = [("Pinned and recent", pinned)]
    if len(snapshot.profiles) > GROUP_THRESHOLD:
        shown = {p.name for p in pinned}
        relied = [p for p in snapshot.profiles if look.relied_on(p) and p.name not in shown]
        blocks.append(("Kept fresh and failing", relied))
    entries: list[MenuEntry] = []
    for title, profiles in blocks:
        if not profiles:
            continue
        entries.append(MenuEntry(title, enabled=False))
        for profile in profiles:
            session = sessions.get(profile.session_key)
            entries.append(_profile_entry(profile, session, look, with_session=look.multiple))
        entries.append(SEPARATOR)
    return entries


def _sessions_part(
    snapshot: Snapshot, sessions: dict[str, SessionState], look: _Look
) -> list[MenuEntry]:
    """One line (few sessions: flat) or submenu per session, with its profiles: flat, or (more
    than GROUP_THRESHOLD profiles) in one submenu per account."""
    by_session = _group(snapshot)
    grouped = len(snapshot.profiles) > GROUP_THRESHOLD
    entries: list[MenuEntry] = []
    for key, session in sessions.items():
        profiles = _favourites_first(by_session.get(key, []), look.settings)
        if grouped:
            lines = _account_entries(profiles, session, look)
        else:
            lines = [_profile_entry(p, session, look) for p in profiles]
        label = session_label(session, look.now, look.tz)
        if look.multiple:
            children = (*_session_actions(session), SEPARATOR, *lines)
            entries.append(MenuEntry(label, children=children))
        else:
            entries.append(MenuEntry(label, children=_session_actions(session)))
            entries += lines
    return entries


def account_label(account_id: str, account_name: str | None) -> str:
    """`Sandbox (111122223333)`, or the id alone when the portal's name is not known here."""
    return f"{account_name} ({account_id})" if account_name else account_id


def _account_entries(
    profiles: list[ProfileState], session: SessionState, look: _Look
) -> list[MenuEntry]:
    """One submenu per account, sorted by name (then id), holding its roles' profiles."""
    accounts: dict[str, list[ProfileState]] = {}
    names: dict[str, str] = {}
    for profile in profiles:
        accounts.setdefault(profile.account_id, []).append(profile)
        if profile.account_name:
            names.setdefault(profile.account_id, profile.account_name)
    order = sorted(accounts, key=lambda a: (names.get(a, "").lower() or "\uffff", a))
    return [
        MenuEntry(
            account_label(account, names.get(account)),
            children=tuple(_profile_entry(p, session, look) for p in accounts[account]),
        )
        for account in order
    ]


def _session_actions(session: SessionState) -> tuple[MenuEntry, ...]:
    key = session.key
    logged_in = session.status in (SessionStatus.LOGGED_IN, SessionStatus.EXPIRING)
    if session.status is SessionStatus.LOGGING_IN:
        login_label = "Open the sign-in page again"
        if session.browser_error:  # say what failed, or the click looks like it does nothing
            login_label += f" (it did not open: {_short(session.browser_error)})"
    elif logged_in:
        login_label = "Log in again"
    else:
        login_label = "Log in"
    entries = [MenuEntry(login_label, Action(ActionKind.LOGIN, key))]
    if session.status is SessionStatus.ERROR and session.last_error:
        entries.insert(0, MenuEntry(f"Last error: {_short(session.last_error)}", enabled=False))
    entries += [
        MenuEntry("Open the access portal", Action(ActionKind.PORTAL, key)),
        MenuEntry(
            f"Log out of {session.name}",
            Action(ActionKind.LOGOUT, key),
            enabled=not _needs_login(session) or session.token_expires_at is not None,
        ),
    ]
    if _is_named(session):  # a legacy profile's implicit session has no section to sync
        entries.append(MenuEntry(RESCAN_LABEL, Action(ActionKind.RESCAN, session.name)))
    return tuple(entries)


def _is_named(session: SessionState) -> bool:
    """An `[sso-session NAME]` (its key is its name; a legacy session's key is its start URL)."""
    return session.key == session.name


def role_line(profile: ProfileState) -> str:
    """`111122223333 / Admin`; chained on SSO as `list` says it: `... / Deployer via dev`."""
    line = f"{profile.account_id} / {profile.role_name}"
    # a long source name is clipped like the menu's other long lines; a plain line stays whole
    return _short(f"{line} via {profile.via}") if profile.via else line


def _profile_entry(
    profile: ProfileState,
    session: SessionState | None,
    look: _Look,
    *,
    with_session: bool = False,
) -> MenuEntry:
    now, tz = look.now, look.tz
    label = profile_label(profile, session, now, tz, with_session=with_session)
    session_key = session.key if session else profile.session_key
    if session is None or _needs_login(session) or session.status is SessionStatus.LOGGING_IN:
        # The one click that matters: log in (again) for this profile's session.
        return MenuEntry(label, Action(ActionKind.LOGIN, session_key, profile=profile.name))

    name = profile.name
    section = look.sync.get(name) or profile.synced_section
    synced = name in look.sync
    shown_section = section or name
    busy = profile.status is ProfileStatus.REFRESHING
    children: list[MenuEntry] = [MenuEntry(role_line(profile), enabled=False)]
    if profile.status is ProfileStatus.ERROR and profile.last_error:
        children.append(MenuEntry(f"Last error: {_short(profile.last_error)}", enabled=False))
    if profile.status is ProfileStatus.FRESH and profile.next_refresh_at is not None:
        children.append(
            MenuEntry(
                f"Next refresh at {format_clock(profile.next_refresh_at, now, tz)}", enabled=False
            )
        )
    children += [
        MenuEntry(
            f"Keep fresh in credentials [{shown_section}]",
            Action(ActionKind.TOGGLE_SYNC, name, section=shown_section),
            checked=synced,
        ),
        MenuEntry("Refresh now", Action(ActionKind.REFRESH, name), enabled=not busy),
        MenuEntry("Copy export lines", Action(ActionKind.COPY_EXPORT, name)),
        MenuEntry("Open AWS console", Action(ActionKind.OPEN_CONSOLE, name)),
        MenuEntry("Copy console URL", Action(ActionKind.COPY_CONSOLE_URL, name)),
        MenuEntry(
            "Pin to the top",
            Action(ActionKind.TOGGLE_FAVORITE, name),
            checked=name in look.favorites,
        ),
        SEPARATOR,
        MenuEntry(f"Log out of {session.name}", Action(ActionKind.LOGOUT, session_key)),
    ]
    return MenuEntry(label, children=tuple(children))


# --- tooltip and icon --------------------------------------------------------------------------


def tooltip(snapshot: Snapshot, now: datetime | None = None) -> str:
    """`corp: 6 h 12 m left; 3 profiles synced` (one part per session), at most 127 chars."""
    now = snapshot.taken_at if now is None else now
    if snapshot.config_error:
        return _clip(f"aws-sso-tray: AWS config problem: {snapshot.config_error}")
    if not snapshot.sessions:
        return "aws-sso-tray: no SSO profiles yet (open the menu to set them up)"
    parts = [_session_summary(s, now) for s in snapshot.sessions]
    synced = sum(1 for p in snapshot.profiles if p.status is ProfileStatus.FRESH)
    if synced:
        parts.append(f"{synced} profile{'s' if synced != 1 else ''} synced")
    if snapshot.busy:
        parts.append("working…")
    return _clip("; ".join(parts))


def _session_summary(session: SessionState, now: datetime) -> str:
    ends = _ends_at(session)
    if session.status in (SessionStatus.LOGGED_IN, SessionStatus.EXPIRING) and ends:
        left = format_remaining(ends - now)
        return f"{session.name}: {left} left" if left != "expired" else f"{session.name}: expired"
    if session.status is SessionStatus.LOGGED_IN:
        return f"{session.name}: logged in"
    if session.status is SessionStatus.LOGGING_IN:
        return f"{session.name}: signing in"
    if session.status is SessionStatus.ERROR:
        return f"{session.name}: error"
    if session.status is SessionStatus.SIGNED_OUT:
        return f"{session.name}: signed out"
    if session.status is SessionStatus.NOT_SIGNED_IN or not session.token_expires_at:
        return f"{session.name}: not signed in"
    return f"{session.name}: expired"


def _clip(text: str) -> str:
    return text if len(text) <= TOOLTIP_LIMIT else text[: TOOLTIP_LIMIT - 1] + "…"


def icon_state(snapshot: Snapshot, settings: Settings | None = None) -> IconState:
    """The icon's look: busy > error > login needed > expiring soon > ok.

    A logged-out session nobody relies on does not turn the icon to "login needed" forever:
    that takes a session feeding a kept-fresh profile, or no session logged in at all.
    """
    if snapshot.busy or any(s.status is SessionStatus.LOGGING_IN for s in snapshot.sessions):
        return IconState.BUSY
    if snapshot.config_error:
        return IconState.ERROR
    if not snapshot.sessions:  # a fresh install: something to set up, not something broken
        return IconState.LOGIN_NEEDED
    if any(s.status is SessionStatus.ERROR for s in snapshot.sessions) or any(
        p.status is ProfileStatus.ERROR for p in snapshot.profiles
    ):
        return IconState.ERROR
    kept = set(settings.auto_sync_map()) if settings is not None else set()
    relied_on = {
        p.session_key
        for p in snapshot.profiles
        if p.synced_section is not None or p.name in kept or p.status is ProfileStatus.LOGIN_NEEDED
    }
    needing = [s for s in snapshot.sessions if _needs_login(s)]
    if any(s.key in relied_on for s in needing) or len(needing) == len(snapshot.sessions):
        return IconState.LOGIN_NEEDED
    if any(s.status is SessionStatus.EXPIRING for s in snapshot.sessions):
        return IconState.EXPIRING
    return IconState.OK


__all__ = [
    "ADD_PROFILES_LABEL",
    "DASHBOARD_LABEL",
    "GROUP_THRESHOLD",
    "PINNED_THRESHOLD",
    "RECENT_SHOWN",
    "RESCAN_LABEL",
    "SEPARATOR",
    "SETUP_LABEL",
    "SETUP_OPEN_LABEL",
    "Action",
    "ActionKind",
    "MenuEntry",
    "account_label",
    "build_menu",
    "find_entry",
    "format_clock",
    "icon_state",
    "is_first_run",
    "profile_label",
    "session_label",
    "tooltip",
]
