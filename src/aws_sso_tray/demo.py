"""`aws-sso-tray demo`: the whole product against the bundled emulator, with no AWS account.

The demo builds a separate world in the user's state folder (`<state>/demo`): its own AWS config
with an `[sso-session demo]` and three profiles, its own credentials file, token caches, settings
and logs. `AWS_SSO_TRAY_HOME` points every module there and `AWS_ENDPOINT_URL_SSO` /
`AWS_ENDPOINT_URL_SSO_OIDC` point every AWS call at the emulator on 127.0.0.1, so the user's real
~/.aws, settings and running tray are never touched. The browser the login opens is the user's
own, with their real HOME: it shows the emulator's sign-in page, where they press Allow.

Lifetimes are short so that everything happens within minutes: role credentials live
`CREDENTIAL_TTL` (refreshed `REFRESH_BEFORE` ahead), and the SSO session ends after
`SESSION_TTL`, so the "session ends soon" warning shows `WARN_BEFORE` ahead of it and then the
session expires, which brings the login back.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from aws_sso_tray import paths

if TYPE_CHECKING:
    from aws_sso_tray.emulator import Emulator

SESSION_NAME = "demo"
START_URL = "https://demo-corp.awsapps.com/start"
SSO_REGION = "us-east-1"
CREDENTIAL_TTL = timedelta(minutes=2)
REFRESH_BEFORE = timedelta(seconds=30)
SESSION_TTL = timedelta(minutes=20)
WARN_BEFORE = timedelta(minutes=15)
KEPT_FRESH = ("dev-readonly", "demo-dev")  # profile, credentials-file section

_CONFIG = f"""\
# The AWS config of the aws-sso-tray demo. Every profile signs in through the local
# Identity Center emulator that `aws-sso-tray demo` runs on 127.0.0.1.
[sso-session {SESSION_NAME}]
sso_start_url = {START_URL}
sso_region = {SSO_REGION}
sso_registration_scopes = sso:account:access

[profile dev-readonly]
sso_session = {SESSION_NAME}
sso_account_id = 111111111111
sso_role_name = ReadOnly
region = eu-west-1

[profile dev-admin]
sso_session = {SESSION_NAME}
sso_account_id = 111111111111
sso_role_name = Admin
region = eu-west-1

[profile prod-readonly]
sso_session = {SESSION_NAME}
sso_account_id = 222222222222
sso_role_name = ReadOnly
region = us-east-1
"""

_CREDENTIALS = """\
# The demo's credentials file. aws-sso-tray changes only its four keys in the sections it
# keeps fresh; this comment and the section below stay exactly as they are.
[static-example]
region = eu-central-1
"""


@dataclass(frozen=True)
class DemoWorld:
    root: Path
    config_file: Path
    credentials_file: Path
    log_file: Path


def demo_root() -> Path:
    """`<state>/demo`, computed from the user's real state folder."""
    return paths.state_dir() / "demo"


def prepare_world(root: Path, emulator_url: str, *, device_code: bool = False) -> DemoWorld:
    """Create the demo's files afresh and point this process at them and at the emulator."""
    if root.exists():
        shutil.rmtree(root)  # the emulator forgets everything between runs: so do we
    from aws_sso_tray.atomicfile import ensure_private_folder

    ensure_private_folder(root)  # 0700 up from the first missing folder, whatever the umask
    os.environ[paths.HOME_VARIABLE] = str(root)
    for variable in (
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
    ):
        os.environ.pop(variable, None)
    os.environ["AWS_ENDPOINT_URL_SSO"] = emulator_url
    os.environ["AWS_ENDPOINT_URL_SSO_OIDC"] = emulator_url
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    os.environ["AWS_CONFIG_FILE"] = str(paths.aws_config_file())
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = str(paths.aws_credentials_file())

    from aws_sso_tray.atomicfile import write_atomic
    from aws_sso_tray.settings import Settings, save_settings

    write_atomic(paths.aws_config_file(), _CONFIG.encode())
    write_atomic(paths.aws_credentials_file(), _CREDENTIALS.encode())
    profile, section = KEPT_FRESH
    settings = (
        Settings()
        .replace(
            refresh_before=REFRESH_BEFORE, warn_before=WARN_BEFORE, min_remaining=REFRESH_BEFORE
        )
        .with_auto_sync(profile, section)
        .with_session_duration(SESSION_NAME, SESSION_TTL)
    )
    if device_code:  # --auto-approve: the emulator can press Allow on device codes only
        settings = settings.replace(login_flow="device")
    save_settings(settings)
    return DemoWorld(root, paths.aws_config_file(), paths.aws_credentials_file(), paths.log_file())


def start_emulator(port: int = 0) -> Emulator:
    from aws_sso_tray.emulator import Emulator, EmulatorConfig

    emulator = Emulator(
        EmulatorConfig(
            credential_ttl=CREDENTIAL_TTL.total_seconds(),
            access_token_ttl=SESSION_TTL.total_seconds(),
            session_ttl=SESSION_TTL.total_seconds(),
        )
    )
    emulator.start(port)
    return emulator


def run_demo(
    *,
    tray: bool = True,
    auto_approve: bool = False,
    port: int = 0,
    say: Callable[[str], None] | None = None,
) -> int:
    """Run the demo until Quit, Ctrl-C or SIGTERM; returns the exit code."""
    say = say or (lambda text: print(text, file=sys.stderr, flush=True))
    root = demo_root()
    emulator = start_emulator(port)
    stop = threading.Event()
    try:
        world = prepare_world(root, emulator.url, device_code=auto_approve)
        profile, section = KEPT_FRESH
        say(
            "aws-sso-tray demo: a local IAM Identity Center runs at "
            f"{emulator.url} (no AWS account involved).\n"
            f"  AWS config:        {world.config_file}\n"
            f"  credentials file:  {world.credentials_file}\n"
            f"  log:               {world.log_file}\n"
            f"Profile {profile} is kept fresh in [{section}]: role credentials live "
            f"{_minutes(CREDENTIAL_TTL)} and are rewritten {_minutes(REFRESH_BEFORE)} before "
            f"they expire; the SSO session lasts {_minutes(SESSION_TTL)}.\n"
            f"Watch it change: watch -n 5 cat {world.credentials_file}\n"
            f"The demo's state from another terminal: "
            f"{paths.HOME_VARIABLE}={root} aws-sso-tray status"
        )
        if auto_approve:
            _approve_in_background(emulator, stop)
        if tray:
            return _run_tray(auto_approve, say)
        return _run_headless(auto_approve, say)
    finally:
        stop.set()
        emulator.stop()


def _minutes(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    return f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds} s"


def _run_tray(auto_approve: bool, say: Callable[[str], None]) -> int:
    from aws_sso_tray.errors import NoTrayError
    from aws_sso_tray.tray import run_tray

    say("Click the tray icon, then dev-readonly, and press Allow in the browser page that opens.")
    try:
        return run_tray()
    except NoTrayError as exc:
        say(f"No tray here ({exc.message}); running the demo headless instead.")
        return _run_headless(auto_approve, say)


def _run_headless(auto_approve: bool, say: Callable[[str], None]) -> int:
    from aws_sso_tray import login, profiles
    from aws_sso_tray.daemon import run_daemon
    from aws_sso_tray.logs import setup_logging

    setup_logging(log_file=paths.log_file(), stderr_level=20)
    session = profiles.get_session(SESSION_NAME)

    def on_prompt(prompt: login.LoginPrompt) -> None:
        if auto_approve:
            say("Signing in (--auto-approve presses Allow for you)...")
        elif prompt.browser_error:
            say(
                f"Could not open a browser ({prompt.browser_error}). "
                f"Open this page and press Allow to sign in: {prompt.url}"
            )
        elif prompt.opening_browser:
            say(f"Press Allow in the browser page that opened: {prompt.url}")
        else:
            say(f"Open this page and press Allow to sign in: {prompt.url}")

    # $BROWSER is the user's word (a VS Code or Codespaces helper works with no DISPLAY).
    browser = bool(
        os.environ.get("DISPLAY")
        or os.environ.get("WAYLAND_DISPLAY")
        or os.environ.get("BROWSER", "").strip()
    )
    token = login.login(
        session,
        on_prompt=on_prompt,
        open_browser=browser and not auto_approve,
        flow="device" if auto_approve else "auto",  # the emulator approves device codes
    )
    say(
        f"Signed in until {token.expires_at.astimezone():%H:%M:%S}. Keeping credentials fresh; "
        "Ctrl-C stops the demo."
    )
    return run_daemon(setup_logs=False)


def _approve_in_background(emulator: Emulator, stop: threading.Event) -> None:
    """Press Allow on every device-code login the emulator sees (no browser needed)."""

    def approve() -> None:
        while not stop.wait(0.2):
            for code in emulator.pending_user_codes():
                emulator.approve_device(code)

    threading.Thread(target=approve, name="demo-approve", daemon=True).start()
