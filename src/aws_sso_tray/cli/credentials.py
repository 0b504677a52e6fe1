"""`export`, `credential-process` and `sync`: credentials out, to stdout or the credentials file."""

from __future__ import annotations

import argparse
import os

from aws_sso_tray import api
from aws_sso_tray.cli.common import PROG, Commands, add_min_remaining, err, local_time, out

SYNC_WORKERS = 8  # the portal throttles: a small bounded pool


def _jobs(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 32:
        raise argparse.ArgumentTypeError("must be a whole number from 1 to 32")
    return int(text)


def _profile_name(args: argparse.Namespace) -> str:
    return str(
        args.profile
        or os.environ.get("AWS_PROFILE")
        or os.environ.get("AWS_DEFAULT_PROFILE")
        or "default"
    )


def cmd_credential_process(args: argparse.Namespace) -> int:
    creds = api.sso_credentials(_profile_name(args), remaining=args.min_remaining)
    out(api.process_json(creds))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    if args.format == "container":
        out(api.shell_lines(api.container_credentials(_profile_name(args)), "env"))
        return 0
    creds = api.credentials(_profile_name(args), remaining=args.min_remaining)
    if args.credentials_file_profile:
        api.export_to_section(args.credentials_file_profile, creds, force=args.force)
    if args.format is not None or not args.credentials_file_profile:
        out(api.export_text(creds, args.format or "process"))
    return 0


def cmd_sync(args: argparse.Namespace) -> int:
    result = api.sync_once(
        args.targets, jobs=args.jobs, force=args.force, remaining=args.min_remaining
    )
    for name, section, creds in result.written:
        out(f"{name} -> [{section}] until {local_time(creds.expiration)}\n")
    for name, failure in result.failures:
        err(f"{PROG}: error: {name}: {failure.message}")
    return int(result.failures[0][1].exit_code) if result.failures else 0


def add_commands(commands: Commands) -> None:
    p = commands.add("export", cmd_export, "print or write credentials for a profile")
    p.add_argument("--profile", "-p", help="profile name (default: $AWS_PROFILE or 'default')")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument(
        "--format",
        choices=api.EXPORT_FORMATS,
        help="process (default; json is the same): credential_process JSON; env: export K=V "
        "lines, for eval; env-no-export: K=V lines; powershell, windows-cmd, fish: that "
        "shell's lines (the AWS CLI's export-credentials formats); container: the running "
        "engine's credentials endpoint, as two export lines",
    )
    fmt.add_argument(
        "--json",
        dest="format",
        action="store_const",
        const="process",
        help="= --format process",
    )
    fmt.add_argument(
        "--env",
        dest="format",
        action="store_const",
        const="env-no-export",
        help="= --format env-no-export (K=V lines)",
    )
    fmt.add_argument(
        "--env-export",
        dest="format",
        action="store_const",
        const="env",
        help="= --format env (export K=V lines, for eval $(...))",
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
    add_min_remaining(p)

    p = commands.add(
        "credential-process",
        cmd_credential_process,
        "credential_process output for an SSO profile (fast: answers from the cache)",
    )
    p.add_argument("--profile", "-p", help="SSO profile name")
    add_min_remaining(p)

    p = commands.add("sync", cmd_sync, "write profiles' credentials into ~/.aws/credentials, once")
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
    add_min_remaining(p)
