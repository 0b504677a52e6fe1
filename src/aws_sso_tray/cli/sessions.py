"""`list`, `login` and `logout`: the SSO sessions and the profiles that use them."""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from aws_sso_tray import api
from aws_sso_tray.cli.common import PROG, Commands, duration, err, local_time, out

if TYPE_CHECKING:
    from aws_sso_tray.api import LoginPrompt, ProfileLogin


def cmd_list(args: argparse.Namespace) -> int:
    import json

    listing = api.list_profiles()
    for problem in listing.problems:
        err(f"{PROG}: warning: {problem}")
    if args.json:
        out(json.dumps([p.to_json() for p in listing.profiles], indent=2) + "\n")
        return 0
    if not listing.profiles:
        out("No SSO profiles in the AWS config. Add some with `aws-sso-tray configure`.\n")
        return 0
    out(_table(listing.profiles, api.now()))
    return 0


def _login_words(profile: ProfileLogin, current: datetime) -> str:
    expires = profile.token_expires_at
    if expires is None:
        return profile.without_token
    # Whole seconds, as `--json` shows it, so the table and the JSON agree on the minute.
    expires = expires.replace(microsecond=0)
    local = expires.astimezone().strftime("%H:%M")
    return f"until {local} ({api.format_remaining(expires - current)})"


def _table(rows: tuple[ProfileLogin, ...], current: datetime) -> str:
    headers = ("PROFILE", "SESSION", "ACCOUNT", "ROLE", "LOGIN", "SYNCED TO")
    lines: list[tuple[str, ...]] = [headers]
    for row in rows:
        session = row.sso_session or f"(legacy) {row.start_url}"
        lines.append(
            (
                row.name,
                session,
                row.account_id,
                # a role chained on SSO says what it is assumed with (its root's login shows)
                f"{row.role_name} via {row.via}" if row.via else row.role_name,
                _login_words(row, current),
                row.synced_section or "-",
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(headers))]
    return "".join(
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip() + "\n"
        for line in lines
    )


def _show_prompt(prompt: LoginPrompt) -> None:
    """Tell the person what to open (and which code to check) for a sign-in."""
    if prompt.browser_error:
        code = f" and check that it shows the code {prompt.user_code}"
        code = code if prompt.user_code else ""
        err(
            f"Could not open a browser ({prompt.browser_error}). "
            f"Open this URL in a browser to sign in{code}:\n{prompt.url}"
        )
        return
    if prompt.joined:
        err(f"A login for {prompt.session} is already waiting; waiting for it to finish.")
    if prompt.reason:
        err(prompt.reason)
    if prompt.user_code:
        err(f"Check that the page shows this code: {prompt.user_code}")
    if prompt.opening_browser:
        err("Opening the sign-in page in your browser. If it does not open, go to:\n" + prompt.url)
    else:
        err(f"Open this URL in a browser to sign in:\n{prompt.url}")


def cmd_login(args: argparse.Namespace) -> int:
    session, label = api.find_session(args.command, args.profile, args.sso_session)
    expires = api.login(
        session,
        flow="device" if args.use_device_code else "auto",
        open_browser=not args.no_browser,
        timeout=args.timeout,
        on_prompt=_show_prompt,
    )
    out(f"Logged in to {session.display_name} ({label}) until {local_time(expires)}\n")
    return 0


def cmd_logout(args: argparse.Namespace) -> int:
    if args.profile or args.sso_session:
        targets = [api.find_session(args.command, args.profile, args.sso_session)[0]]
    else:
        targets = api.sessions()
        if not targets:
            out("Nothing to log out: the AWS config has no SSO profiles.\n")
    for session in targets:
        result = api.logout(session)
        if not result.token_found:
            out(f"Not logged in to {session.display_name}; cleared its cached files\n")
        else:
            out(f"Logged out of {session.display_name}\n")
        if result.revoke_error:
            err(f"{PROG}: warning: {session.display_name}: {result.revoke_error}")
    if args.remove_credentials:
        everything = not (args.profile or args.sso_session)
        for section in api.remove_written_credentials(targets, everything=everything):
            out(f"Removed [{section}] from {api.credentials_file()}\n")
    return 0


def add_commands(commands: Commands) -> None:
    p = commands.add(
        "list", cmd_list, "list the SSO profiles of the AWS config and their login state"
    )
    p.add_argument("--json", action="store_true", help="one JSON object per profile")

    p = commands.add("login", cmd_login, "sign in to a profile's SSO session in the browser")
    p.add_argument("profile", nargs="?", metavar="PROFILE")
    p.add_argument("--sso-session", metavar="NAME", help="log in to this [sso-session]")
    p.add_argument(
        "--use-device-code",
        action="store_true",
        help="use the device-code flow instead of the 127.0.0.1 callback",
    )
    p.add_argument(
        "--no-browser", action="store_true", help="print the URL instead of opening a browser"
    )
    p.add_argument(
        "--timeout",
        type=duration,
        default=timedelta(minutes=10),
        metavar="DURATION",
        help="give up after this long (default 10m)",
    )

    p = commands.add("logout", cmd_logout, "end SSO sessions and delete their cached tokens")
    p.add_argument(
        "profile",
        nargs="?",
        metavar="PROFILE",
        help="log out of this profile's session (default: all sessions)",
    )
    p.add_argument("--sso-session", metavar="NAME")
    p.add_argument(
        "--remove-credentials",
        action="store_true",
        help="also remove the credentials-file sections aws-sso-tray wrote",
    )
