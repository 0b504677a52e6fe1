"""The command line: parses flags, calls the core, prints results and one-line errors.

A face only: every decision lives in the core modules. Imports of the core happen inside each
command so that `credential-process`, which runs before every AWS command a user types, loads
neither boto3 nor botocore's session machinery when it can answer from the cache.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from aws_sso_tray import __version__
from aws_sso_tray.errors import AppError, ConfigError, ExitCode, UsageError, report

if TYPE_CHECKING:
    from aws_sso_tray.aws.profiles import SsoProfile, SsoSession

PROG = "aws-sso-tray"
SYNC_WORKERS = 8  # the portal throttles: a small bounded pool

Handler = Callable[[argparse.Namespace], int]


def _duration(text: str) -> timedelta:
    from aws_sso_tray.clock import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _jobs(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 32:
        raise argparse.ArgumentTypeError("must be a whole number from 1 to 32")
    return int(text)


def _print(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _err(text: str) -> None:
    sys.stderr.write(text.rstrip("\n") + "\n")
    sys.stderr.flush()


# --- list -----------------------------------------------------------------------------------


def cmd_list(args: argparse.Namespace) -> int:
    import json

    from aws_sso_tray.aws import profiles, tokens
    from aws_sso_tray.clock import format_time, now
    from aws_sso_tray.files import settings
    from aws_sso_tray.login import history

    loaded = profiles.load_profiles()
    for problem in profiles.config_problems():
        _err(f"{PROG}: warning: {problem}")
    kept, _warnings = settings.load_settings()
    synced = kept.auto_sync_map()
    current = now()
    rows: list[dict[str, Any]] = []
    token_cache: dict[str, datetime | None] = {}
    # Without a live token, the tray's and `status`'s words for the session.
    states: dict[str, str] = {}
    for profile in loaded:
        key = profile.session.cache_key
        if key not in token_cache:
            token = tokens.read_token(profile.session)
            token_cache[key] = (
                token.expires_at if token is not None and token.expires_at > current else None
            )
            if token is not None:
                states[key] = "expired"
            else:
                duration = kept.session_duration_for(profile.session.name)
                out = history.sign_out_time(profile.session, now=current, session_duration=duration)
                states[key] = "signed out" if out is not None else "not signed in"
        expires = token_cache[key]
        rows.append(
            {
                "name": profile.name,
                "sso_session": profile.session.name,
                "start_url": profile.session.start_url,
                "region": profile.session.region,
                "account_id": profile.account_id,
                "role_name": profile.role_name,
                "token_expires_at": format_time(expires) if expires else None,
                "synced_section": synced.get(profile.name),
            }
        )
    if args.json:
        _print(json.dumps(rows, indent=2) + "\n")
        return 0
    if not rows:
        _print("No SSO profiles in the AWS config. Add some with `aws-sso-tray configure`.\n")
        return 0
    _print(_table(rows, current, [states[p.session.cache_key] for p in loaded]))
    return 0


def _table(rows: list[dict[str, Any]], current: datetime, states: list[str]) -> str:
    from aws_sso_tray.clock import format_remaining, parse_time

    headers = ("PROFILE", "SESSION", "ACCOUNT", "ROLE", "LOGIN", "SYNCED TO")
    lines: list[tuple[str, ...]] = [headers]
    for row, without_token in zip(rows, states, strict=True):
        if row["token_expires_at"]:
            expires = parse_time(row["token_expires_at"])
            local = expires.astimezone().strftime("%H:%M")
            state = f"until {local} ({format_remaining(expires - current)})"
        else:
            state = without_token
        session = row["sso_session"] or f"(legacy) {row['start_url']}"
        lines.append(
            (
                row["name"],
                session,
                row["account_id"],
                row["role_name"],
                state,
                row["synced_section"] or "-",
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(headers))]
    return "".join(
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip() + "\n"
        for line in lines
    )


# --- export / credential-process --------------------------------------------------------------


def _profile_name(args: argparse.Namespace) -> str:
    return str(
        args.profile
        or os.environ.get("AWS_PROFILE")
        or os.environ.get("AWS_DEFAULT_PROFILE")
        or "default"
    )


def _sso_credentials(profile: SsoProfile, args: argparse.Namespace) -> Any:
    from aws_sso_tray.aws import rolecreds

    min_remaining = _min_remaining(args)
    cached = rolecreds.cached_credentials(profile, min_remaining=min_remaining)
    if cached is not None:
        return cached
    return rolecreds.get_credentials(profile, min_remaining=min_remaining)


def _min_remaining(args: argparse.Namespace) -> timedelta:
    """--min-remaining, else settings.toml's min_remaining."""
    if args.min_remaining is not None:
        return args.min_remaining  # type: ignore[no-any-return]
    from aws_sso_tray.files.settings import load_min_remaining

    return load_min_remaining()


def cmd_credential_process(args: argparse.Namespace) -> int:
    from aws_sso_tray.aws import formats, profiles

    profile = profiles.get_profile(_profile_name(args))
    _print(formats.process_json(_sso_credentials(profile, args)))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from aws_sso_tray.aws import formats

    creds = _any_profile_credentials(_profile_name(args), args)
    if args.credentials_file_profile:
        from aws_sso_tray.files import credfile, paths

        credfile.write_credentials(
            paths.aws_credentials_file(), args.credentials_file_profile, creds, force=args.force
        )
    if args.format == "env":
        _print(formats.env_lines(creds))
    elif args.format == "env-export":
        _print(formats.env_lines(creds, export=True))
    elif args.format == "json" or not args.credentials_file_profile:
        _print(formats.process_json(creds))
    return 0


def _any_profile_credentials(name: str, args: argparse.Namespace) -> Any:
    """SSO profiles take our cached path; any other profile is resolved by boto3, as
    aws-export-credentials does (assume-role chains, credential_process, static keys)."""
    from aws_sso_tray.aws import profiles

    profile = profiles.find_profile(name)
    if profile is not None:
        return _sso_credentials(profile, args)
    return _boto3_credentials(name)


def _boto3_credentials(name: str) -> Any:
    from dataclasses import dataclass

    import botocore.exceptions
    import botocore.session

    from aws_sso_tray.aws.clients import to_app_error
    from aws_sso_tray.clock import parse_time

    @dataclass(frozen=True)
    class Resolved:
        access_key_id: str
        secret_access_key: str
        session_token: str | None
        expiration: datetime | None

    try:
        session = botocore.session.Session(profile=name)
        creds = session.get_credentials()
        if creds is None:
            raise ConfigError(
                f"profile '{name}' has no credentials: check ~/.aws/config and ~/.aws/credentials"
            )
        frozen = creds.get_frozen_credentials()
        expiry = getattr(creds, "_expiry_time", None)
    except botocore.exceptions.ProfileNotFound:
        known = ", ".join(sorted(botocore.session.Session().available_profiles)) or "none"
        raise ConfigError(
            f"no profile '{name}' in the AWS config or credentials file (profiles: {known}); "
            "check the name or run `aws-sso-tray configure`"
        ) from None
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise to_app_error(exc, what=f"resolving credentials for profile '{name}'") from exc
    return Resolved(
        frozen.access_key or "",
        frozen.secret_key or "",
        frozen.token,
        parse_time(expiry) if expiry is not None else None,
    )


# --- sync --------------------------------------------------------------------------------------


def cmd_sync(args: argparse.Namespace) -> int:
    from concurrent.futures import ThreadPoolExecutor

    from aws_sso_tray.aws import profiles, rolecreds
    from aws_sso_tray.files import credfile, paths, settings

    targets: list[tuple[str, str]] = []
    for spec in args.targets:
        try:
            targets.append(settings.parse_target(spec))
        except ValueError as exc:
            raise ConfigError(f"{spec}: {exc}") from None
    if not targets:
        loaded, _ = settings.load_settings()
        targets = list(loaded.auto_sync_map().items())
        if not targets:
            raise ConfigError(
                "nothing to sync: name profiles (`aws-sso-tray sync dev:default`) "
                "or add them with `aws-sso-tray auto add PROFILE[:SECTION]`"
            )
    # One section, one profile (as `auto add` insists): the second write would silently
    # replace the first, and the output would claim both.
    owners: dict[str, str] = {}
    for name, section in dict.fromkeys(targets):
        if owners.setdefault(section, name) != name:
            raise ConfigError(
                f"section [{section}] named for both '{owners[section]}' and '{name}': "
                "give each profile its own section (PROFILE:SECTION)"
            )
    targets = list(dict.fromkeys(targets))
    resolved = [(profiles.get_profile(name), section) for name, section in targets]
    min_remaining = _min_remaining(args)

    def fetch(item: tuple[SsoProfile, str]) -> Any:
        return rolecreds.get_credentials(item[0], min_remaining=min_remaining)

    failures: list[tuple[str, AppError]] = []
    updates: dict[str, Any] = {}
    with ThreadPoolExecutor(max_workers=args.jobs, thread_name_prefix="sync") as pool:
        futures = [(item, pool.submit(fetch, item)) for item in resolved]
        for (profile, section), future in futures:
            try:
                updates[section] = future.result()
            except AppError as exc:
                failures.append((profile.name, exc))
    if updates:
        credfile.write_many(paths.aws_credentials_file(), updates, force=args.force)
        for (profile, section), _ in futures:
            if section in updates:
                creds = updates[section]
                _print(f"{profile.name} -> [{section}] until {_local(creds.expiration)}\n")
    for name, failure in failures:
        _err(f"{PROG}: error: {name}: {failure.message}")
    return int(failures[0][1].exit_code) if failures else 0


def _local(when: datetime | None) -> str:
    return when.astimezone().strftime("%H:%M") if when else "unknown"


# --- login / logout ------------------------------------------------------------------------------


def _session_from_args(args: argparse.Namespace) -> tuple[SsoSession, str]:
    """The SSO session named by PROFILE or --sso-session, and a profile-ish name for messages."""
    from aws_sso_tray.aws import profiles

    if args.sso_session:
        return profiles.get_session(args.sso_session), args.sso_session
    if not args.profile:
        raise UsageError(
            f"{args.command}: name a PROFILE or --sso-session NAME (see `aws-sso-tray list`)"
        )
    profile = profiles.get_profile(args.profile)
    return profile.session, profile.name


def cmd_login(args: argparse.Namespace) -> int:
    from aws_sso_tray.login import flows
    from aws_sso_tray.login.prompt import FlowChoice, LoginPrompt

    session, label = _session_from_args(args)
    flow: FlowChoice = "device" if args.use_device_code else "auto"

    def on_prompt(prompt: LoginPrompt) -> None:
        if prompt.browser_error:
            code = f" and check that it shows the code {prompt.user_code}"
            code = code if prompt.user_code else ""
            _err(
                f"Could not open a browser ({prompt.browser_error}). "
                f"Open this URL in a browser to sign in{code}:\n{prompt.url}"
            )
            return
        if prompt.joined:
            _err(f"A login for {prompt.session} is already waiting; waiting for it to finish.")
        if prompt.reason:
            _err(prompt.reason)
        if prompt.user_code:
            _err(f"Check that the page shows this code: {prompt.user_code}")
        if prompt.opening_browser:
            _err(
                "Opening the sign-in page in your browser. If it does not open, go to:\n"
                + prompt.url
            )
        else:
            _err(f"Open this URL in a browser to sign in:\n{prompt.url}")

    token = flows.login(
        session,
        flow=flow,
        open_browser=not args.no_browser,
        timeout=args.timeout.total_seconds(),
        on_prompt=on_prompt,
        join=True,
    )
    _print(f"Logged in to {session.display_name} ({label}) until {_local(token.expires_at)}\n")
    return 0


def cmd_logout(args: argparse.Namespace) -> int:
    from aws_sso_tray.aws import profiles
    from aws_sso_tray.files import credfile, paths
    from aws_sso_tray.login import flows

    if args.profile or args.sso_session:
        targets = [_session_from_args(args)[0]]
    else:
        targets = profiles.sessions(profiles.load_profiles())
        if not targets:
            _print("Nothing to log out: the AWS config has no SSO profiles.\n")
    for session in targets:
        result = flows.logout(session)
        if not result.token_found:
            _print(f"Not logged in to {session.display_name}; cleared its cached files\n")
        else:
            _print(f"Logged out of {session.display_name}\n")
        if result.revoke_error:
            _err(f"{PROG}: warning: {session.display_name}: {result.revoke_error}")
    if args.remove_credentials:
        everything = not (args.profile or args.sso_session)
        sections = _sections_written_for({s.cache_key for s in targets}, everything=everything)
        removed = credfile.remove_sections(paths.aws_credentials_file(), sections)
        for section in removed:
            _print(f"Removed [{section}] from {paths.aws_credentials_file()}\n")
    return 0


def _sections_written_for(session_keys: set[str], *, everything: bool) -> list[str]:
    """Sections that may hold these sessions' credentials: their profiles' auto-sync targets
    and default sections (credfile then removes only those we created and still own)."""
    from aws_sso_tray.aws import profiles
    from aws_sso_tray.files import credfile, paths, settings

    loaded, _ = settings.load_settings()
    synced = loaded.auto_sync_map()
    names: list[str] = []
    for profile in profiles.load_profiles():
        if profile.session.cache_key in session_keys:
            names += [synced.get(profile.name, profile.name), profile.name]
    if everything:
        names += sorted(credfile.owned_sections(paths.aws_credentials_file()))
    return list(dict.fromkeys(names))


# --- auto ---------------------------------------------------------------------------------------


def cmd_auto_add(args: argparse.Namespace) -> int:
    from aws_sso_tray.aws import profiles
    from aws_sso_tray.errors import LongTermKeysError
    from aws_sso_tray.files import credfile, paths, settings

    for spec in args.targets:
        try:
            name, section = settings.parse_target(spec)
        except ValueError as exc:
            raise ConfigError(f"{spec}: {exc}") from None
        profiles.get_profile(name)  # an unknown or non-SSO profile fails here, not in the engine
        creds_file = paths.aws_credentials_file()
        existing = credfile.read_section(creds_file, section) or {}
        if (
            "aws_access_key_id" in existing
            and "aws_session_token" not in existing
            and section not in credfile.owned_sections(creds_file)
        ):
            raise LongTermKeysError(
                f"[{section}] in {creds_file} holds long-term keys: keep {name} fresh in another "
                f"section (`aws-sso-tray auto add {name}:{name}`)"
            )
        settings.add_auto_sync(name, section)
        _print(f"{name} will be kept fresh in [{section}] of {creds_file}\n")
    _print(
        "A running `aws-sso-tray tray` or `aws-sso-tray daemon` picks this up at once; "
        "`aws-sso-tray sync` writes it now.\n"
    )
    return 0


def cmd_auto_remove(args: argparse.Namespace) -> int:
    from aws_sso_tray.files import settings

    status = 0
    for name in args.profiles:
        if settings.remove_auto_sync(name):
            _print(f"{name} is no longer kept fresh (its credentials-file section stays)\n")
        else:
            _err(f"{PROG}: {name} was not kept fresh")
            status = int(ExitCode.CONFIG)
    return status


def cmd_auto_list(args: argparse.Namespace) -> int:
    import json

    from aws_sso_tray.files import settings

    loaded, warnings = settings.load_settings()
    for warning in warnings:
        _err(f"{PROG}: warning: {warning}")
    targets = [{"profile": t.profile, "section": t.section} for t in loaded.auto_sync]
    if args.json:
        _print(json.dumps(targets, indent=2) + "\n")
    elif not targets:
        _print(
            "No profile is kept fresh. Add one with `aws-sso-tray auto add PROFILE[:SECTION]`.\n"
        )
    else:
        _print("".join(f"{t['profile']} -> [{t['section']}]\n" for t in targets))
    return 0


def cmd_configure(args: argparse.Namespace) -> int:
    from aws_sso_tray.setup.configure import run_terminal_configure

    if args.web:
        from aws_sso_tray.setup.configure_page import start_configure_page

        page = start_configure_page(open_browser=True)
        _err(
            "Set up your SSO profiles on this page (it closes itself when done; the link "
            f"works once, within 2 minutes):\n{page.url}"
        )
        if page.wait(None):
            return 0
        if page.problem is not None:  # already logged as a warning on stderr when it is one
            return int(ExitCode.ERROR)
        return int(ExitCode.LOGIN_TIMEOUT)
    return run_terminal_configure()


# --- tray -----------------------------------------------------------------------------------


def _log_to_file(args: argparse.Namespace) -> None:
    """The long-running faces also log to a rotating file in the platform's log folder."""
    from aws_sso_tray.files import paths
    from aws_sso_tray.logs import setup_logging

    setup_logging(
        debug=bool(getattr(args, "debug", False)),
        log_file=paths.log_file(),
        stderr_level=None if getattr(args, "debug", False) else 20,  # INFO
    )


def cmd_tray(args: argparse.Namespace) -> int:
    from aws_sso_tray.tray import run_tray

    _log_to_file(args)
    return run_tray(autostart=bool(getattr(args, "autostart", False)))


def cmd_daemon(args: argparse.Namespace) -> int:
    from aws_sso_tray.daemon import run_daemon

    _log_to_file(args)
    return run_daemon(args.refresh_before, args.warn_before)


def cmd_status(args: argparse.Namespace) -> int:
    from aws_sso_tray.daemon import status

    _print(status(json=args.json))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from aws_sso_tray import demo

    if args.env:
        _print(demo.env_lines())
        return 0
    # The demo sets up its logging itself, once its world (and log folder) exists.
    from aws_sso_tray.tray import run_tray

    return demo.run_demo(
        run_tray=None if args.no_tray else run_tray,
        auto_approve=args.auto_approve,
        port=args.port,
        debug=bool(args.debug),
    )


def cmd_uninstall(args: argparse.Namespace) -> int:
    from aws_sso_tray.setup import uninstall

    plan = uninstall.plan_uninstall()
    _print(plan.describe().rstrip("\n") + "\n")
    if plan.empty:
        return 0
    if plan.running or plan.credentials_problem:
        uninstall.apply(plan)  # refuses with the one-line reason (and its exit code)
        return int(ExitCode.ERROR)
    if not args.yes:
        try:
            answer = input("Remove these? [y/N] ")
        except EOFError:
            answer = ""
        if answer.strip().lower() not in ("y", "yes"):
            _print("Nothing was removed.\n")
            return 0
    for line in uninstall.apply(plan):
        _print(f"{line}\n")
    return 0


# --- parser --------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Keep AWS IAM Identity Center (SSO) sessions and credentials fresh.",
        epilog="Exit codes and examples: see README.md. Run `aws-sso-tray COMMAND --help`.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("--debug", action="store_true", help="log at DEBUG and show tracebacks")
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: a subcommand's unset --debug must not undo `aws-sso-tray --debug COMMAND`.
    common.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="log at DEBUG and show tracebacks",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[common], help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        return p

    min_remaining = {
        "type": _duration,
        "metavar": "DURATION",
        "help": "reuse cached role credentials only with at least this much left "
        "(default: min_remaining in settings, 15m)",
    }

    p = add("list", cmd_list, "list the SSO profiles of the AWS config and their login state")
    p.add_argument("--json", action="store_true", help="one JSON object per profile")

    p = add("export", cmd_export, "print or write credentials for a profile")
    p.add_argument("--profile", "-p", help="profile name (default: $AWS_PROFILE or 'default')")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument(
        "--json",
        dest="format",
        action="store_const",
        const="json",
        help="credential_process JSON (default)",
    )
    fmt.add_argument("--env", dest="format", action="store_const", const="env", help="K=V lines")
    fmt.add_argument(
        "--env-export",
        dest="format",
        action="store_const",
        const="env-export",
        help="export K=V lines, for eval $(...)",
    )
    p.add_argument(
        "--credentials-file-profile",
        "-c",
        metavar="SECTION",
        help="write the credentials into this section of ~/.aws/credentials",
    )
    p.add_argument(
        "--force", action="store_true", help="overwrite a section that holds long-term keys"
    )
    p.add_argument("--min-remaining", **min_remaining)  # type: ignore[arg-type]

    p = add(
        "credential-process",
        cmd_credential_process,
        "credential_process output for an SSO profile (fast: answers from the cache)",
    )
    p.add_argument("--profile", "-p", help="SSO profile name")
    p.add_argument("--min-remaining", **min_remaining)  # type: ignore[arg-type]

    p = add("sync", cmd_sync, "write profiles' credentials into ~/.aws/credentials, once")
    p.add_argument(
        "targets",
        nargs="*",
        metavar="PROFILE[:SECTION]",
        help="profiles to sync (section defaults to the profile name; none: the auto-sync list)",
    )
    p.add_argument(
        "--force", action="store_true", help="overwrite sections that hold long-term keys"
    )
    p.add_argument(
        "--jobs",
        type=_jobs,
        default=SYNC_WORKERS,
        metavar="N",
        help=f"fetch at most N profiles at once (default {SYNC_WORKERS}; the portal throttles)",
    )
    p.add_argument("--min-remaining", **min_remaining)  # type: ignore[arg-type]

    p = add("login", cmd_login, "sign in to a profile's SSO session in the browser")
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
        type=_duration,
        default=timedelta(minutes=10),
        metavar="DURATION",
        help="give up after this long (default 10m)",
    )

    p = add(
        "configure",
        cmd_configure,
        "set up SSO profiles from your access portal, like `aws configure sso`",
    )
    p.add_argument(
        "--web",
        action="store_true",
        help="answer in a page on 127.0.0.1 instead of terminal prompts",
    )

    p = add(
        "demo",
        cmd_demo,
        "try everything against a local Identity Center emulator (no AWS account needed)",
    )
    p.add_argument(
        "--no-tray",
        action="store_true",
        help="run headless: sign in, then keep the demo profile fresh in the terminal",
    )
    p.add_argument(
        "--auto-approve",
        action="store_true",
        help="press Allow on the emulator's sign-in page for you (no browser needed)",
    )
    p.add_argument("--port", type=int, default=0, help="emulator port (default: any free one)")
    p.add_argument(
        "--env",
        action="store_true",
        help="print the shell lines that put another terminal into the running demo's world: "
        'eval "$(aws-sso-tray demo --env)"',
    )

    p = add(
        "uninstall",
        cmd_uninstall,
        "remove what aws-sso-tray created: our credentials sections, autostart, settings, "
        "state, logs (it lists them first)",
    )
    p.add_argument("--yes", "-y", action="store_true", help="do not ask before removing")

    p = add("tray", cmd_tray, "run the tray icon (the default when no command is given)")
    p.add_argument(
        "--autostart",
        action="store_true",
        help="started at login: wait for the panel, never prompt",
    )

    p = add(
        "daemon", cmd_daemon, "keep credentials fresh without a tray (servers, WSL, tiling WMs)"
    )
    p.add_argument(
        "--refresh-before",
        type=_duration,
        metavar="DURATION",
        help="refresh role credentials this long before they expire (default: "
        "settings, 10m); e.g. 90s, 10m, 1h",
    )
    p.add_argument(
        "--warn-before",
        type=_duration,
        metavar="DURATION",
        help="warn this long before an SSO session ends (default: settings, 15m)",
    )

    p = add("status", cmd_status, "every profile's state, from the running tray or daemon")
    p.add_argument("--json", action="store_true")

    auto = sub.add_parser(
        "auto",
        help="choose the profiles kept fresh in ~/.aws/credentials",
        description="Choose the profiles whose credentials the tray or daemon keeps fresh.",
    )
    auto_sub = auto.add_subparsers(dest="auto_command", metavar="ACTION", required=True)
    p = auto_sub.add_parser("add", parents=[common], help="keep PROFILE fresh in SECTION")
    p.add_argument(
        "targets",
        nargs="+",
        metavar="PROFILE[:SECTION]",
        help="section defaults to the profile name",
    )
    p.set_defaults(handler=cmd_auto_add)
    p = auto_sub.add_parser("remove", parents=[common], help="stop keeping PROFILE fresh")
    p.add_argument("profiles", nargs="+", metavar="PROFILE")
    p.set_defaults(handler=cmd_auto_remove)
    p = auto_sub.add_parser("list", parents=[common], help="the profiles kept fresh")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_auto_list)

    p = add("logout", cmd_logout, "end SSO sessions and delete their cached tokens")
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    debug_flag = bool(args.debug)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:  # no command: the tray, as a desktop user starting the app expects
        rest = [a for a in (argv if argv is not None else sys.argv[1:]) if a != "--debug"]
        args = parser.parse_args(["tray", *rest])
        args.debug = args.debug or debug_flag
        handler = args.handler
    debug = bool(getattr(args, "debug", False))
    from aws_sso_tray.logs import setup_logging

    setup_logging(debug=debug)
    try:
        return handler(args)
    except (Exception, KeyboardInterrupt) as exc:  # the one error boundary of the CLI
        return report(exc, debug=debug)


def gui_main() -> int:
    """The windowless entry (Windows gui-scripts, bundles): the tray, with its flags."""
    return main(["tray", *sys.argv[1:]])
