"""The demo's world: its files, its emulator, its lock, its logs (`aws-sso-tray demo` is the face).

The demo builds a separate world in the user's state folder (`<state>/demo`): its own AWS config
with an `[sso-session demo]` and three profiles, its own credentials file, token caches, settings
and logs. `AWS_SSO_TRAY_HOME` points every module there and `AWS_ENDPOINT_URL_SSO` /
`AWS_ENDPOINT_URL_SSO_OIDC` point every AWS call at the emulator on 127.0.0.1, so the user's real
~/.aws, settings, log and running tray are never touched.

One demo per world: `demo.lock` in the world's folder (an OS lock, gone when the process dies)
keeps a second `demo` from wiping the files of a running one (AlreadyRunningError, exit 13).
The running demo records its emulator's URL there too, so `aws-sso-tray demo --env` can print the
variables that put another terminal into the same world (`running_demo_env`).

Everything is logged to the demo's own log file; the emulator's request log (every polled
CreateToken while the browser page waits) goes only there, never to the terminal.

Lifetimes are short so that everything happens within minutes: role credentials live
`CREDENTIAL_TTL` (refreshed `REFRESH_BEFORE` ahead), and the SSO session ends after
`SESSION_TTL`, so the "session ends soon" warning shows `WARN_BEFORE` ahead of it and then the
session expires, which brings the login back.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import shutil
import sys
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from aws_sso_tray.errors import AlreadyRunningError, ConfigError
from aws_sso_tray.files import paths
from aws_sso_tray.files.atomicfile import (
    ensure_private_folder,
    file_lock,
    lock_held,
    read_text,
    write_atomic,
)

if TYPE_CHECKING:
    from filelock import BaseFileLock

    from aws_sso_tray.emulator import Emulator
    from aws_sso_tray.login.prompt import PromptHandler

SESSION_NAME = "demo"
START_URL = "https://demo-corp.awsapps.com/start"
SSO_REGION = "us-east-1"
CREDENTIAL_TTL = timedelta(minutes=2)
REFRESH_BEFORE = timedelta(seconds=30)
SESSION_TTL = timedelta(minutes=20)
WARN_BEFORE = timedelta(minutes=15)
KEPT_FRESH = ("dev-readonly", "demo-dev")  # profile, credentials-file section
LOCK_NAME = "demo.lock"  # in the world's folder; survives the wipe of a new run
PID_NAME = "demo.pid"
URL_NAME = "emulator-url"  # the running demo's emulator, for `demo --env`
EMULATOR_LOGGER = "aws_sso_tray.emulator"
# Variables that would send another terminal's AWS calls elsewhere than the demo's world.
CLEARED = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL",
)

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
    """Where a prepared world's files are, and the lifetimes it was made with."""

    root: Path
    config_file: Path
    credentials_file: Path
    log_file: Path
    emulator_url: str = ""
    profile: str = KEPT_FRESH[0]
    section: str = KEPT_FRESH[1]
    credential_ttl: timedelta = CREDENTIAL_TTL
    refresh_before: timedelta = REFRESH_BEFORE
    session_ttl: timedelta = SESSION_TTL


@dataclass(frozen=True)
class DemoEnv:
    """What puts another terminal into the running demo's world (`demo --env`)."""

    values: dict[str, str]  # to export
    cleared: tuple[str, ...]  # to unset
    pid: str | None
    program_folder: Path | None  # to put on PATH, when `aws-sso-tray` is not found there


def demo_root() -> Path:
    """`<state>/demo` in the user's real state folder, also from a terminal that `demo --env` put
    into the demo's world (AWS_SSO_TRAY_HOME set): that finds the running demo, not a new world
    inside it."""
    return paths.user_state_dir() / "demo"


def point_at_world(root: Path, emulator_url: str) -> dict[str, str]:
    """Point this process at the world in `root` and the emulator; returns the variables set.

    The variables of `CLEARED` are removed: a real profile or key in the environment would
    otherwise win over the demo's files.
    """
    for variable in (*CLEARED, "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        os.environ.pop(variable, None)
    os.environ[paths.HOME_VARIABLE] = str(root)
    values = {
        paths.HOME_VARIABLE: str(root),
        "AWS_CONFIG_FILE": str(paths.aws_config_file()),
        "AWS_SHARED_CREDENTIALS_FILE": str(paths.aws_credentials_file()),
        "AWS_ENDPOINT_URL_SSO": emulator_url,
        "AWS_ENDPOINT_URL_SSO_OIDC": emulator_url,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    os.environ.update(values)
    return values


def _wipe(root: Path) -> None:
    """Remove everything of an earlier run but the lock (held by this process)."""
    for child in root.iterdir():
        if child.name == LOCK_NAME:
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def prepare_world(root: Path, emulator_url: str, *, device_code: bool = False) -> DemoWorld:
    """Create the demo's files afresh and point this process at them and at the emulator.

    Call it holding the demo lock (`DemoLock`): it deletes the files of an earlier run.
    """
    ensure_private_folder(root)  # 0700 up from the first missing folder, whatever the umask
    _wipe(root)  # the emulator forgets everything between runs: so do we
    point_at_world(root, emulator_url)

    from aws_sso_tray.files.settings import Settings, save_settings

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
    return DemoWorld(
        root,
        paths.aws_config_file(),
        paths.aws_credentials_file(),
        paths.log_file(),
        emulator_url=emulator_url,
    )


class DemoLock:
    """One running demo per world folder: `acquire()` or AlreadyRunningError (exit 13)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock: BaseFileLock = file_lock(root / LOCK_NAME)  # makes `root` 0700, checked

    def acquire(self) -> None:
        from filelock import Timeout

        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            pid = _read(self.root / PID_NAME)
            which = f" (pid {pid})" if pid else ""
            raise AlreadyRunningError(
                f"a demo is already running{which} in {self.root}: use it from this terminal "
                f'with `eval "$({program()} demo --env)"`, or stop it first'
            ) from None

    def release(self) -> None:
        if self._lock.is_locked:
            for name in (PID_NAME, URL_NAME):
                with contextlib.suppress(OSError):
                    (self.root / name).unlink()
            self._lock.release()


def demo_running(root: Path) -> bool:
    path = root / LOCK_NAME
    # lock_held checks the folder and follows no symlink (older filelocks do).
    return os.path.lexists(path) and lock_held(path)


def running_demo_env(root: Path | None = None) -> DemoEnv:
    """Point this process at the running demo's world; what another terminal must set for it.

    ConfigError when no demo runs in `root`; UnsafeFolderError when its folder is open to
    other users (see `_read`)."""
    root = demo_root() if root is None else root
    # Read before point_at_world: until then the demo folder is in our private state folder,
    # so these reads check it and follow no symlink (see `_read`).
    url = _read(root / URL_NAME)
    pid = _read(root / PID_NAME)
    if not demo_running(root) or not url:
        raise ConfigError(
            f"no demo is running in {root}: start `{program()} demo` in another terminal first"
        )
    values = point_at_world(root, url)
    return DemoEnv(values, CLEARED, pid, program_folder())


def _read(path: Path) -> str | None:
    """A private file of the demo folder (its pid, its emulator's URL), None when unreadable.

    UnsafeFolderError when the folder is open to other users: `demo --env` turns the URL into
    lines the user evals, so nobody else may have written it."""
    try:
        return (read_text(path) or "").strip() or None
    except OSError:
        return None  # also a symlink in its place: never followed


def program() -> str:
    """How to run this program again from another terminal."""
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if argv0 is not None and argv0.name == "aws-sso-tray":
        on_path = shutil.which("aws-sso-tray")
        if on_path and Path(on_path).resolve() == argv0.resolve():
            return "aws-sso-tray"
        return shlex.quote(str(argv0.absolute()))
    return f"{shlex.quote(sys.executable)} -m aws_sso_tray"


def program_folder() -> Path | None:
    """The folder of the `aws-sso-tray` being run when that command is not found on PATH."""
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if argv0 is None or argv0.name != "aws-sso-tray":
        return None
    on_path = shutil.which("aws-sso-tray")
    if on_path and Path(on_path).resolve() == argv0.resolve():
        return None
    return argv0.absolute().parent


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


class _NotTheEmulator(logging.Filter):
    """Keeps the emulator's request log (a line per polled CreateToken) off the terminal."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.name.startswith(EMULATOR_LOGGER)


def _log_to_world(debug: bool) -> None:
    """Everything to the demo's own log file; the terminal gets what a person follows."""
    from aws_sso_tray.logs import setup_logging

    stderr_level = logging.DEBUG if debug else logging.INFO
    setup_logging(debug=debug, log_file=paths.log_file(), stderr_level=stderr_level)
    for handler in logging.getLogger().handlers:
        if type(handler) is logging.StreamHandler and not debug:
            handler.addFilter(_NotTheEmulator())


class DemoRun:
    """A demo running in this process: `with DemoRun(...) as demo:` holds the demo lock, runs
    the emulator and builds `demo.world` afresh; leaving it stops the emulator and frees the
    lock.

    Raises AlreadyRunningError when a demo already runs in the same world folder.
    """

    def __init__(self, *, port: int = 0, device_code: bool = False, debug: bool = False) -> None:
        self.port = port
        self.device_code = device_code
        self.debug = debug
        self.stop = threading.Event()
        self.emulator: Emulator | None = None
        self._lock: DemoLock | None = None
        self._world: DemoWorld | None = None

    @property
    def world(self) -> DemoWorld:
        assert self._world is not None, "use DemoRun in a with statement"
        return self._world

    def __enter__(self) -> DemoRun:
        root = demo_root()
        self._lock = DemoLock(root)
        self._lock.acquire()
        try:
            self.emulator = start_emulator(self.port)
            self._world = prepare_world(root, self.emulator.url, device_code=self.device_code)
            _log_to_world(self.debug)
            write_atomic(root / PID_NAME, f"{os.getpid()}\n".encode(), mode=0o600)
            write_atomic(root / URL_NAME, f"{self.emulator.url}\n".encode(), mode=0o600)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        if self.emulator is not None:
            self.emulator.stop()
        if self._lock is not None:
            self._lock.release()

    def approve_in_background(self) -> None:
        """Press Allow on every device-code login the emulator sees (no browser needed)."""
        emulator = self.emulator
        if emulator is None:
            return

        def approve() -> None:
            while not self.stop.wait(0.2):
                for code in emulator.pending_user_codes():
                    emulator.approve_device(code)

        threading.Thread(target=approve, name="demo-approve", daemon=True).start()


def sign_in(on_prompt: PromptHandler, *, open_browser: bool, device_code: bool) -> datetime:
    """Sign in to the demo's SSO session; returns when the token expires."""
    from aws_sso_tray.aws import profiles
    from aws_sso_tray.login import flows

    token = flows.login(
        profiles.get_session(SESSION_NAME),
        on_prompt=on_prompt,
        open_browser=open_browser,
        flow="device" if device_code else "auto",  # the emulator approves device codes
    )
    return token.expires_at
