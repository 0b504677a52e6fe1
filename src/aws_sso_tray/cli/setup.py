"""`configure` (terminal prompts, or `--web` for the page) and `uninstall`.

The terminal face of configure lives here: it asks, shows the portal's roles and reads the
choice; every step it runs (session, sign-in, offer, write) is `api.configure_profiles`.
For scripts, `--non-interactive` asks nothing (`api.configure_every_role`), and `--rescan
SESSION` brings a session's profiles in step with the portal (`api.rescan_session`).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from aws_sso_tray import api
from aws_sso_tray.cli.common import Commands, err, out
from aws_sso_tray.errors import AppError, ExitCode, UsageError

if TYPE_CHECKING:
    from aws_sso_tray.api import ConfigureOutcome, ConfigureSelection, LoginPrompt, RoleOffer

Ask = Callable[[str], str]
Say = Callable[..., None]


def parse_numbers(text: str, count: int) -> list[int]:
    """1-based numbers from "1,3-5 7" (or "all"), as 0-based indexes; ValueError when bad."""
    text = text.strip().lower()
    if text == "all":
        return list(range(count))
    picked: list[int] = []
    for part in re.split(r"[,\s]+", text):
        if not part:
            continue
        low, _, high = part.partition("-")
        first, last = int(low), int(high or low)
        if not 1 <= first <= last <= count:
            raise ValueError(f"{part} is not between 1 and {count}")
        picked.extend(i - 1 for i in range(first, last + 1) if i - 1 not in picked)
    return picked


class TerminalConfigure:
    """`aws-sso-tray configure` in a terminal: `input_fn` asks, `print_fn` tells."""

    def __init__(
        self, input_fn: Ask = input, print_fn: Say = print, name_template: str | None = None
    ) -> None:
        self.input = input_fn
        self.print = print_fn
        self.name_template = name_template

    def run(self) -> int:
        """Ask, configure, report; the exit code."""
        try:
            outcome = self._ask_and_configure()
        except (EOFError, KeyboardInterrupt):
            self.print("\nCancelled; nothing more was written.")
            return int(ExitCode.ERROR)
        except AppError as exc:
            self.print(exc.message)
            return int(exc.exit_code)
        self._report(outcome)
        return int(ExitCode.OK)

    def _ask(self, prompt: str, check: Callable[[str], str], default: str | None = None) -> str:
        """Ask until `check` accepts the answer (an empty answer takes `default`)."""
        while True:
            shown = f" [{default}]" if default else ""
            answer = self.input(f"{prompt}{shown}: ").strip() or (default or "")
            try:
                return check(answer)
            except AppError as exc:
                self.print(exc.message)

    def _ask_and_configure(self) -> ConfigureOutcome:
        path, snapshot = api.configure_start()  # a broken config fails before any question
        start_url = self._ask("SSO start URL", api.check_start_url)
        region = self._ask("SSO region", api.check_region)
        session_name = self._ask(
            "SSO session name",
            api.check_session_name,
            api.suggest_session_name(start_url, snapshot),
        )
        profile_region = self._ask("Default region for the profiles", api.check_region, region)
        return api.configure_profiles(
            start_url,
            region,
            session_name,
            profile_region,
            self._choose,
            config_path=path,
            on_prompt=self._show_prompt,
            name_template=self.name_template,
        )

    def _show_prompt(self, prompt: LoginPrompt) -> None:
        if prompt.opening_browser:
            self.print("Opening your browser to sign in. If it does not open, visit:")
        else:
            self.print("Sign in by opening this page in a browser:")
        self.print(f"  {prompt.url}")
        if prompt.user_code:
            self.print(f"and check that it shows the code {prompt.user_code}")

    def _choose(self, offer: RoleOffer) -> ConfigureSelection:
        """Show the portal's roles; read which new ones to add and whether to prune."""
        for warning in offer.skipped:
            self.print(f"Warning: {warning}")
        self._show_roles(offer)
        new = list(offer.new_choices)
        if new:
            picked = self._pick(len(new))
        else:
            picked = []
            self.print("Every role already has a profile.")
        return api.configure_selection([new[i].role.key for i in picked], self._prune(offer))

    def _show_roles(self, offer: RoleOffer) -> None:
        self.print(f"\n{len(offer.choices)} roles in the access portal:")
        new = list(offer.new_choices)
        for choice in offer.choices:
            role = choice.role
            where = f"{role.account_name} ({role.account_id})  {role.role_name}"
            if choice.configured:
                self.print(f"   -  {where}: profile {choice.profile_name}")
            else:
                self.print(f"  {new.index(choice) + 1:2}. {where} -> {choice.profile_name}")

    def _pick(self, count: int) -> list[int]:
        while True:
            answer = self.input("Profiles to add: numbers (1,3-5), 'all', or nothing for none: ")
            try:
                return parse_numbers(answer, count)
            except ValueError as exc:
                self.print(f"{exc}; try again")

    def _prune(self, offer: RoleOffer) -> tuple[str, ...]:
        if not offer.prunable:
            return ()
        names = ", ".join(p.name for p in offer.prunable)
        self.print(f"\nProfiles this tool made whose role is gone from the portal: {names}")
        if self.input("Remove them? [y/N]: ").strip().lower() in {"y", "yes"}:
            return tuple(p.name for p in offer.prunable)
        return ()

    def _report(self, outcome: ConfigureOutcome) -> None:
        for name in outcome.added:
            self.print(f"Added profile {name}: try `aws sts get-caller-identity --profile {name}`")
        for name in outcome.removed:
            self.print(f"Removed profile {name}")
        for name in outcome.kept:
            self.print(f"Kept profile {name}: it was edited by hand since")
        where = api.display_path(outcome.config_path)
        if not outcome.added and not outcome.removed:
            self.print(f"No profiles changed in {where}.")
        else:
            self.print(f"Wrote {where} (sso-session {outcome.session_name}).")


def run_terminal_configure(
    input_fn: Ask = input, print_fn: Say = print, name_template: str | None = None
) -> int:
    """`aws-sso-tray configure` in a terminal; returns the exit code."""
    return TerminalConfigure(input_fn, print_fn, name_template).run()


def _to_stderr(*args: object) -> None:
    err(" ".join(str(a) for a in args))


def cmd_configure(args: argparse.Namespace) -> int:
    if args.name_template is not None:
        api.check_name_template(args.name_template)  # a typo fails before any question
    if args.rescan is not None:
        return _scripted(
            args,
            lambda show: api.rescan_session(
                args.rescan, name_template=args.name_template, on_prompt=show
            ),
        )
    if args.non_interactive:
        if not args.start_url or not args.sso_region:
            raise UsageError("configure --non-interactive needs --start-url and --sso-region")
        return _scripted(
            args,
            lambda show: api.configure_every_role(
                args.start_url,
                args.sso_region,
                args.sso_session,
                args.region,
                name_template=args.name_template,
                on_prompt=show,
            ),
        )
    if not args.web:
        return run_terminal_configure(name_template=args.name_template)
    page = api.open_configure_page(open_browser=True)
    err(
        "Set up your SSO profiles on this page (it closes itself when done; the link "
        f"works once, within 2 minutes):\n{page.url}"
    )
    if page.wait(None):
        return 0
    if page.problem is not None:  # already logged as a warning on stderr when it is one
        return int(ExitCode.ERROR)
    return int(ExitCode.LOGIN_TIMEOUT)


def _scripted(
    args: argparse.Namespace,
    run: Callable[[Callable[[LoginPrompt], None]], ConfigureOutcome],
) -> int:
    """Run a configure that asks nothing: the sign-in's prompt and warnings on stderr, what
    changed in one line on stdout."""
    outcome = run(TerminalConfigure(print_fn=_to_stderr)._show_prompt)
    for warning in outcome.skipped:
        err(f"warning: {warning}")
    out(outcome.summary() + "\n")
    return 0


def cmd_uninstall(args: argparse.Namespace) -> int:
    offer = api.find_leftovers()
    out(offer.describe().rstrip("\n") + "\n")
    if offer.empty:
        return 0
    if offer.running or offer.credentials_problem:
        api.remove_leftovers(offer)  # refuses with the one-line reason (and its exit code)
        return int(ExitCode.ERROR)
    if not args.yes and not _confirmed("Remove these? [y/N] "):
        out("Nothing was removed.\n")
        return 0
    for line in api.remove_leftovers(offer):
        out(f"{line}\n")
    return 0


def _confirmed(question: str) -> bool:
    try:
        answer = input(question)
    except EOFError:
        answer = ""
    return answer.strip().lower() in ("y", "yes")


def add_commands(commands: Commands) -> None:
    p = commands.add(
        "configure",
        cmd_configure,
        "set up SSO profiles from your access portal, like `aws configure sso`",
    )
    p.add_argument(
        "--web",
        action="store_true",
        help="answer in a page on 127.0.0.1 instead of terminal prompts",
    )
    p.add_argument(
        "--non-interactive",
        action="store_true",
        help="ask nothing: sign in if needed and write a profile for every account x role "
        "(needs --start-url and --sso-region)",
    )
    p.add_argument("--start-url", metavar="URL", help="the AWS access portal URL")
    p.add_argument("--sso-region", metavar="REGION", help="the IAM Identity Center's region")
    p.add_argument(
        "--sso-session", metavar="NAME", help="the [sso-session] name (default: from the URL)"
    )
    p.add_argument(
        "--region", metavar="REGION", help="the profiles' region (default: the SSO region)"
    )
    p.add_argument(
        "--name-template",
        metavar="TEMPLATE",
        help="how to name new profiles, remembered per session (default "
        "'{role_name}-{account_id}'; also {account_name}, {session}, {region})",
    )
    p.add_argument(
        "--rescan",
        metavar="SESSION",
        help="sync the session's profiles with the portal: add new roles, remove the "
        "generated profiles of vanished ones",
    )

    p = commands.add(
        "uninstall",
        cmd_uninstall,
        "remove what aws-sso-tray created: our credentials sections, autostart, settings, "
        "state, logs (it lists them first)",
    )
    p.add_argument("--yes", "-y", action="store_true", help="do not ask before removing")
