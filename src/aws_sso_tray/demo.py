"""`aws-sso-tray demo`: the whole product against the bundled emulator, with no AWS account.

The demo runs in a separate world in the user's state folder (`<state>/demo`, built by
`setup/demo_world.py` through `api.start_demo`): its own AWS config, credentials file, token
caches, settings and logs, and every AWS call goes to the emulator on 127.0.0.1, so the user's
real ~/.aws, settings, log and running tray are never touched. The browser the login opens is the
user's own, with their real HOME: it shows the emulator's sign-in page, where they press Allow.

One demo per world (a second raises AlreadyRunningError, exit 13); `aws-sso-tray demo --env`
prints the variables that put another terminal into the running demo's world
(`eval "$(aws-sso-tray demo --env)"`).

This face only says what is happening: the terminal shows what a person follows (where the files
are, sign-in, refreshes); the emulator's request log goes only to the demo's log file.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from aws_sso_tray import api
from aws_sso_tray.errors import NoTrayError

if TYPE_CHECKING:
    from aws_sso_tray.api import DemoWorld, LoginPrompt

Say = Callable[[str], None]


def env_lines() -> str:
    """Shell lines that put a terminal into the running demo's world (`demo --env`)."""
    env = api.running_demo_env()
    pid = f" (pid {env.pid})" if env.pid else ""
    lines = [
        f"# the aws-sso-tray demo's world{pid}: every AWS call of this shell goes to its emulator",
        "unset " + " ".join(env.cleared),
        *(f"export {name}={shlex.quote(value)}" for name, value in env.values.items()),
    ]
    if env.program_folder is not None:  # started by path (a venv's bin): make it work here too
        lines.append(f'export PATH={shlex.quote(str(env.program_folder))}:"$PATH"')
    return "\n".join(lines) + "\n"


def run_demo(
    *,
    run_tray: Callable[[], int] | None = None,
    auto_approve: bool = False,
    port: int = 0,
    debug: bool = False,
    say: Say | None = None,
) -> int:
    """Run the demo until Quit, Ctrl-C or SIGTERM; returns the exit code.

    `run_tray` runs the tray face (the CLI passes `tray.run_tray`); None runs the demo headless.
    Raises AlreadyRunningError when a demo already runs in the same world folder.
    """
    say = say or (lambda text: print(text, file=sys.stderr, flush=True))
    with api.start_demo(port=port, device_code=auto_approve, debug=debug) as demo:
        world = demo.world
        say(_welcome(world))
        if auto_approve:
            demo.approve_in_background()
        if run_tray is not None:
            return _run_tray(run_tray, world, auto_approve, say)
        return _run_headless(auto_approve, say)


def _welcome(world: DemoWorld) -> str:
    return (
        "aws-sso-tray demo: a local IAM Identity Center runs at "
        f"{world.emulator_url} (no AWS account involved).\n"
        f"  AWS config:        {world.config_file}\n"
        f"  credentials file:  {world.credentials_file}\n"
        f"  log:               {world.log_file}\n"
        f"Profile {world.profile} is kept fresh in [{world.section}]: role credentials live "
        f"{_minutes(world.credential_ttl)} and are rewritten {_minutes(world.refresh_before)} "
        f"before they expire; the SSO session lasts {_minutes(world.session_ttl)}.\n"
        f"Watch it change: watch -n 5 cat {world.credentials_file}\n"
        f'Another terminal in the demo\'s world: eval "$({api.demo_program()} demo --env)"\n'
        f"  then e.g. aws-sso-tray status, aws-sso-tray export --profile {world.profile}"
    )


def _minutes(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    return f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds} s"


def _run_tray(run_tray: Callable[[], int], world: DemoWorld, auto_approve: bool, say: Say) -> int:
    say(
        f"{world.profile} is kept fresh, so the sign-in page opens in your browser by itself: "
        "press Allow there. A right click on the tray icon opens its menu (each profile's "
        "state; click a profile to sign in again); a left click opens the dashboard where the "
        "desktop hands it to us (left_click in the settings), else the menu too."
    )
    try:
        return run_tray()
    except NoTrayError as exc:
        say(f"No tray here ({exc.message}); running the demo headless instead.")
        return _run_headless(auto_approve, say)


def _run_headless(auto_approve: bool, say: Say) -> int:
    def on_prompt(prompt: LoginPrompt) -> None:
        say(_prompt_line(prompt, auto_approve))

    # $BROWSER is the user's word (a VS Code or Codespaces helper works with no DISPLAY).
    browser = bool(
        os.environ.get("DISPLAY")
        or os.environ.get("WAYLAND_DISPLAY")
        or os.environ.get("BROWSER", "").strip()
    )
    expires_at = api.demo_sign_in(
        on_prompt, open_browser=browser and not auto_approve, device_code=auto_approve
    )
    say(
        f"Signed in until {expires_at.astimezone():%H:%M:%S}. Keeping credentials fresh; "
        "Ctrl-C stops the demo."
    )
    return api.run_headless()


def _prompt_line(prompt: LoginPrompt, auto_approve: bool) -> str:
    if auto_approve:
        return "Signing in (--auto-approve presses Allow for you)..."
    if prompt.browser_error:
        return (
            f"Could not open a browser ({prompt.browser_error}). "
            f"Open this page and press Allow to sign in: {prompt.url}"
        )
    if prompt.opening_browser:
        return f"Press Allow in the browser page that opened: {prompt.url}"
    return f"Open this page and press Allow to sign in: {prompt.url}"
