"""Hostile machines: folder modes, ownership and symlinks of everything we keep privately, root
running with a user's HOME, and a log file on a full disk.

Another local user who can write into one of our folders could swap a cache for their own (we
would serve their keys) or plant a symlink (our next write would replace what it points at). We
run as root here: "another user" is `nobody`, and the steps a user runs themselves after `sudo`
run as nobody through `setpriv`. Those tests skip, with the reason, where that is impossible.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from aws_sso_tray import clock, logs
from aws_sso_tray.aws import profiles, rolecreds, tokens, warmcache
from aws_sso_tray.aws.profiles import SsoSession
from aws_sso_tray.errors import ExitCode
from aws_sso_tray.files import paths, settings
from sso_helpers import device_login, session_config
from test_credfile_permissions import NOBODY, _switch_command
from waiting import wait_for

if TYPE_CHECKING:
    from aws_sso_tray.emulator import Emulator
    from fixture_types import WriteConfig

SESSION = SsoSession(
    "corp", "https://d-1234567890.awsapps.com/start", "us-east-1", ("sso:account:access",)
)
ATTACKER_KEY = "AKIAATTACKERKEY00000"


@pytest.fixture
def logged_in(emulator: Emulator, aws_config: WriteConfig) -> Emulator:
    aws_config(session_config(SESSION, "dev", "111111111111", "ReadOnly"))
    device_login(emulator, SESSION)
    return emulator


def run_cli(*args: str, umask: int | None = None, env: dict[str, str] | None = None) -> Any:
    command = [sys.executable, "-m", "aws_sso_tray", *args]
    if umask is not None:
        command = ["sh", "-c", f'umask {umask:03o}; exec "$@"', "sh", *command]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
        check=False,
    )


def folders(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_dir() and not p.is_symlink()} | {root}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def one_line_error(result: Any, code: ExitCode, *needles: str) -> None:
    assert result.returncode == code, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("aws-sso-tray: error: "), result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


# --------------------------------------------------------------------------------------------
# 1. Folders and private files under a permissive umask


def test_every_folder_sync_creates_is_0700_under_umask_000(logged_in: Emulator, home: Path) -> None:
    before = folders(home)
    result = run_cli("sync", "dev", umask=0o000)
    assert result.returncode == 0, result.stderr
    created = folders(home) - before
    # ~/.aws/cli and its cache, ~/.local, ~/.local/state, our state folder and its locks
    assert home / ".aws" / "cli" / "cache" in created
    assert paths.state_dir() / "locks" in created
    assert home / ".local" in created
    assert {str(p.relative_to(home)): oct(mode(p)) for p in created if mode(p) != 0o700} == {}
    # ... and the files in them are 0600
    for path in [*paths.cli_cache_dir().iterdir(), *paths.state_dir().rglob("*.json")]:
        assert mode(path) == 0o600, path


def test_the_token_cache_folders_we_create_are_0700_under_umask_000(
    logged_in: Emulator, home: Path
) -> None:
    token = tokens.read_token(SESSION)
    assert token is not None
    shutil.rmtree(home / ".aws")
    previous = os.umask(0)
    try:
        tokens.write_token(SESSION, token)
    finally:
        os.umask(previous)
    for folder in (home / ".aws", home / ".aws" / "sso", paths.sso_cache_dir()):
        assert mode(folder) == 0o700, folder
    assert mode(tokens.token_cache_file(SESSION)) == 0o600


def _plant_attacker_cache(folder: Path) -> None:
    """What `nobody` leaves: a cache folder of its own, holding its keys for our profile."""
    profile = profiles.get_profile("dev")
    expiration = clock.format_time(clock.now() + timedelta(hours=2))
    document = {
        "ProviderType": "sso",
        "Credentials": {
            "AccessKeyId": ATTACKER_KEY,
            "SecretAccessKey": "attacker-secret",
            "SessionToken": "attacker-token",
            "Expiration": expiration,
        },
    }
    folder.mkdir(parents=True, exist_ok=True)
    cache_file = folder / rolecreds.cache_file(profile).name
    cache_file.write_text(json.dumps(document))
    for path in (folder, cache_file):
        os.chown(path, NOBODY, NOBODY)


def test_a_cache_folder_swapped_by_another_user_is_refused(logged_in: Emulator, home: Path) -> None:
    # An older version left ~/.aws/cli 0777; nobody put its own cache folder there.
    cli_dir = home / ".aws" / "cli"
    cli_dir.mkdir(mode=0o777)
    cli_dir.chmod(0o777)
    os.chown(cli_dir, 0, 0)
    _plant_attacker_cache(cli_dir / "cache")

    served = run_cli("credential-process", "--profile", "dev")
    one_line_error(served, ExitCode.FILE_ERROR, f"folder {cli_dir / 'cache'}", "another user")
    assert ATTACKER_KEY not in served.stdout

    synced = run_cli("sync", "dev")
    one_line_error(synced, ExitCode.FILE_ERROR, f"folder {cli_dir / 'cache'}")
    credentials = paths.aws_credentials_file()
    assert not credentials.exists() or ATTACKER_KEY not in credentials.read_text()


def test_a_cache_folder_others_can_write_to_is_refused_until_chmod_go_w(
    logged_in: Emulator, home: Path
) -> None:
    assert run_cli("sync", "dev").returncode == 0
    cache = paths.cli_cache_dir()
    cache.chmod(0o777)
    result = run_cli("credential-process", "--profile", "dev")
    one_line_error(result, ExitCode.FILE_ERROR, f"`chmod go-w {cache}`")
    assert result.stdout == ""

    cache.chmod(0o755)  # what the user does
    result = run_cli("credential-process", "--profile", "dev")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["AccessKeyId"].startswith("ASIA")


def test_a_group_writable_state_folder_is_refused_unless_the_group_is_the_users_own(
    logged_in: Emulator, home: Path
) -> None:
    assert run_cli("sync", "dev").returncode == 0
    state = paths.state_dir()
    state.chmod(0o770)
    os.chown(state, 0, 100)  # group `users`: other people
    one_line_error(run_cli("sync", "dev"), ExitCode.FILE_ERROR, f"`chmod go-w {state}`")
    # root:root 0775 is what `umask 002` distributions give a user with a private group
    os.chown(state, 0, 0)
    state.chmod(0o775)
    assert run_cli("sync", "dev").returncode == 0


def test_a_symlink_planted_in_the_state_folder_is_replaced_not_followed(
    logged_in: Emulator, home: Path
) -> None:
    bashrc = home / ".bashrc"
    bashrc.write_text("export PATH=$HOME/bin:$PATH\n")
    record = paths.state_dir() / "credentials-sections.json"
    record.parent.mkdir(parents=True, mode=0o700)
    record.symlink_to(bashrc)

    result = run_cli("sync", "dev")
    assert result.returncode == 0, result.stderr
    assert bashrc.read_text() == "export PATH=$HOME/bin:$PATH\n"
    assert not record.is_symlink()
    assert "dev" in json.loads(record.read_text())["files"][str(paths.aws_credentials_file())]
    assert mode(record) == 0o600


def test_the_credentials_file_is_still_written_through_its_symlink(
    logged_in: Emulator, home: Path
) -> None:
    real = home / "dotfiles" / "credentials"
    real.parent.mkdir()
    real.write_text("# mine\n")
    paths.aws_credentials_file().symlink_to(real)
    assert run_cli("sync", "dev").returncode == 0
    assert paths.aws_credentials_file().is_symlink()
    assert real.read_text().startswith("# mine\n\n[dev]\n")


def test_settings_toml_linked_from_dotfiles_is_still_written_through(home: Path) -> None:
    real = home / "dotfiles" / "settings.toml"
    real.parent.mkdir()
    real.write_text("# mine\n")
    settings.settings_file().parent.mkdir(parents=True, mode=0o700)
    settings.settings_file().symlink_to(real)
    settings.add_auto_sync("dev")
    assert settings.settings_file().is_symlink()
    assert '[[auto_sync]]\nprofile = "dev"\nsection = "dev"' in real.read_text()
    # ... and read through it: the link is the user's, in a folder only they can write to
    assert settings.load_settings()[0].sync_section("dev") == "dev"


SETTINGS_TEXT = '[[auto_sync]]\nprofile = "dev"\nsection = "dev"\n'


def _settings_in_open_folder(home: Path) -> tuple[Path, bytes]:
    """settings.toml in a config folder other users can write to (an older version's 0777)."""
    folder = settings.settings_file().parent
    folder.mkdir(parents=True)
    folder.chmod(0o777)
    settings.settings_file().write_text(SETTINGS_TEXT)
    return folder, settings.settings_file().read_bytes()


def test_settings_in_a_folder_others_can_write_to_are_not_read(home: Path) -> None:
    # Whoever can write there can swap settings.toml (or link it anywhere): which sections get
    # credentials, and how long cached ones are trusted. Read like every private file: from a
    # checked folder only; reading never fails, so a warning and the defaults.
    folder, _ = _settings_in_open_folder(home)
    loaded, warnings = settings.load_settings()
    assert loaded == settings.DEFAULTS
    assert len(warnings) == 1, warnings
    assert f"folder {folder} is writable by other users" in warnings[0]
    assert f"`chmod go-w {folder}`" in warnings[0]
    folder.chmod(0o700)  # what the user does
    assert settings.load_settings() == (settings.DEFAULTS.with_auto_sync("dev"), [])


def test_a_settings_symlink_in_a_folder_others_can_write_to_is_not_followed(home: Path) -> None:
    planted = home / "planted.toml"
    planted.write_text('[[auto_sync]]\nprofile = "dev"\nsection = "default"\n')
    folder = settings.settings_file().parent
    folder.mkdir(parents=True)
    folder.chmod(0o777)
    settings.settings_file().symlink_to(planted)
    loaded, warnings = settings.load_settings()
    assert loaded.auto_sync == ()
    assert len(warnings) == 1 and "writable by other users" in warnings[0]


def test_cli_with_settings_in_a_folder_others_can_write_to(
    home: Path, aws_config: WriteConfig
) -> None:
    aws_config(session_config(SESSION, "prod", "222222222222", "Admin"))
    folder, before = _settings_in_open_folder(home)
    listed = run_cli("auto", "list")
    assert listed.returncode == 0, listed.stderr
    assert "writable by other users" in listed.stderr and "Traceback" not in listed.stderr
    assert "No profile is kept fresh" in listed.stdout
    # A change is a write: refused like any write into an unsafe private folder (exit 6).
    added = run_cli("auto", "add", "prod")
    one_line_error(added, ExitCode.FILE_ERROR, f"folder {folder}", f"`chmod go-w {folder}`")
    assert settings.settings_file().read_bytes() == before


def test_a_fifo_planted_as_the_settings_note_in_an_open_state_folder_is_not_opened(
    logged_in: Emulator, home: Path
) -> None:
    # The full path of credential-process compares the note it leaves for the fast path before
    # rewriting it. In a state folder others can write to, nothing there may be opened: a FIFO
    # (or a link to one, or to /dev/zero) would hang every AWS command that runs us.
    assert run_cli("sync", "dev").returncode == 0  # a warm role cache
    settings.save_settings(settings.DEFAULTS.replace(min_remaining=timedelta(minutes=5)))
    state = paths.state_dir()
    state.chmod(0o777)
    note = state / warmcache.SETTINGS_NOTE
    note.unlink(missing_ok=True)
    os.mkfifo(note)
    command = [sys.executable, "-m", "aws_sso_tray", "credential-process", "--profile", "dev"]
    # The timeout only bounds the hang this test is about; it measures nothing.
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["AccessKeyId"].startswith("ASIA")
    assert stat.S_ISFIFO(note.lstat().st_mode)  # left alone: not ours to replace in that folder


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


def _file_handler() -> logging.handlers.RotatingFileHandler:
    (handler,) = [
        h
        for h in logging.getLogger().handlers
        if isinstance(h, logging.handlers.RotatingFileHandler)
    ]
    return handler


def test_rotated_log_files_are_0600_under_umask_000(home: Path, restore_logging: None) -> None:
    log_file = paths.log_file()
    previous = os.umask(0)
    try:
        logs.setup_logging(log_file=log_file)
        logging.getLogger("test").warning("before the rotation")
        _file_handler().doRollover()
        logging.getLogger("test").warning("after the rotation")
        _file_handler().doRollover()
    finally:
        os.umask(previous)
    rotated = sorted(log_file.parent.iterdir())
    assert [p.name for p in rotated] == [
        "aws-sso-tray.log",
        "aws-sso-tray.log.1",
        "aws-sso-tray.log.2",
    ]
    assert {p.name: oct(mode(p)) for p in rotated} == {p.name: "0o600" for p in rotated}
    assert mode(log_file.parent) == 0o700


def test_a_symlink_in_place_of_the_log_file_is_not_appended_to(
    home: Path, restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    target = home / ".bashrc"
    target.write_text("mine\n")
    log_file = paths.log_file()
    log_file.parent.mkdir(parents=True, mode=0o700)
    log_file.symlink_to(target)
    logs.setup_logging(log_file=log_file)
    logging.getLogger("test").warning("a record")
    assert target.read_text() == "mine\n"
    assert "cannot open log file" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# 3. Root, then the user


@pytest.fixture
def nobody_world(logged_in: Emulator, home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A HOME owned by nobody, logged in as nobody would be: (home, env for its processes)."""
    switch = _switch_command()
    if switch is None:
        pytest.skip("needs root and setpriv to run the CLI as the unprivileged user nobody")
    base = Path(tempfile.mkdtemp(prefix="private-nobody-"))
    try:
        base.chmod(0o755)
        user_home = base / "home"
        shutil.copytree(home / ".aws", user_home / ".aws")
        for path in [user_home, *user_home.rglob("*")]:
            os.chown(path, NOBODY, NOBODY, follow_symlinks=False)
        user_home.chmod(0o700)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(user_home),
            "XDG_STATE_HOME": str(user_home / ".local" / "state"),
            "XDG_CONFIG_HOME": str(user_home / ".config"),
            "XDG_CACHE_HOME": str(user_home / ".cache"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ENDPOINT_URL_SSO": logged_in.url,
            "AWS_ENDPOINT_URL_SSO_OIDC": logged_in.url,
            "NO_PROXY": "127.0.0.1,localhost",
        }
        probe = subprocess.run(
            [*switch, sys.executable, "-c", "import aws_sso_tray.cli.main"],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        if probe.returncode != 0:
            pytest.skip(f"user nobody cannot import aws_sso_tray: {probe.stderr.strip()[-200:]}")
        yield user_home, env, switch
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _as(switch: list[str] | None, env: dict[str, str], *args: str) -> Any:
    return subprocess.run(
        [*(switch or []), sys.executable, "-m", "aws_sso_tray", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_after_sudo_sync_the_user_can_sync_serve_and_log_out(nobody_world: Any) -> None:
    user_home, env, switch = nobody_world
    as_root = _as(None, env, "sync", "dev")
    assert as_root.returncode == 0, as_root.stderr
    root_made = [user_home, *user_home.rglob("*")]
    assert any(p.suffix == ".lock" for p in root_made)  # root took locks, wrote caches and state
    assert {str(p): p.lstat().st_uid for p in root_made if p.lstat().st_uid != NOBODY} == {}

    for args in (("sync", "dev"), ("credential-process", "--profile", "dev"), ("logout",)):
        result = _as(switch, env, *args)
        assert result.returncode == 0, f"{args}: {result.stderr}"
        assert "PermissionError" not in result.stderr and "Traceback" not in result.stderr


def test_root_with_a_mounted_users_aws_folder_gives_that_user_what_it_creates(
    logged_in: Emulator, home: Path
) -> None:
    if sys.platform == "win32" or os.geteuid() != 0:
        pytest.skip("only root can create files for another user")
    # A container running as root with the host user's ~/.aws mounted in: HOME is root's.
    for path in [home / ".aws", *(home / ".aws").rglob("*")]:
        os.chown(path, NOBODY, NOBODY)
    result = run_cli("sync", "dev")
    assert result.returncode == 0, result.stderr
    made = [*(home / ".aws").rglob("*")]
    assert paths.cli_cache_dir() in made and paths.aws_credentials_file() in made
    assert {str(p): p.lstat().st_uid for p in made if p.lstat().st_uid != NOBODY} == {}
    assert paths.state_dir().stat().st_uid == 0  # root's own folders stay root's


def test_a_lock_file_left_by_root_is_one_line_naming_it_and_the_fix(nobody_world: Any) -> None:
    user_home, env, switch = nobody_world
    assert _as(None, env, "sync", "dev").returncode == 0
    # What an older version left behind: root's 0600 lock files in the user's lock folder.
    locks = sorted((user_home / ".local" / "state" / "aws-sso-tray" / "locks").iterdir())
    for lock in locks:
        os.chown(lock, 0, 0)
        lock.chmod(0o600)
    result = _as(switch, env, "sync", "dev")
    assert result.returncode == ExitCode.FILE_ERROR, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    assert "lock file " in result.stderr and "sudo chown $USER" in result.stderr, result.stderr
    assert any(str(lock) in result.stderr for lock in locks), result.stderr


def test_a_token_cache_left_by_root_is_one_line_naming_it_and_the_fix(
    nobody_world: Any,
) -> None:
    user_home, env, switch = nobody_world
    # `sudo aws sso login` with the user's HOME: botocore leaves a root-owned 0600 token file.
    token_file = user_home / ".aws" / "sso" / "cache" / tokens.token_cache_file(SESSION).name
    os.chown(token_file, 0, 0)
    token_file.chmod(0o600)
    result = _as(switch, env, "sync", "dev")
    assert result.returncode == ExitCode.FILE_ERROR, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"SSO token cache {token_file}" in result.stderr, result.stderr
    assert f"sudo chown $USER {token_file}" in result.stderr, result.stderr


def test_a_log_root_starts_in_a_users_home_belongs_to_the_user(
    home: Path, restore_logging: None
) -> None:
    if sys.platform == "win32" or os.geteuid() != 0:
        pytest.skip("only root can create files for another user")
    os.chown(home, NOBODY, NOBODY)
    logs.setup_logging(log_file=paths.log_file())
    logging.getLogger("test").warning("root's daemon, the user's HOME")
    made = [home / ".local", *(home / ".local").rglob("*")]
    assert paths.log_file() in made
    assert {str(p): p.lstat().st_uid for p in made if p.lstat().st_uid != NOBODY} == {}


# --------------------------------------------------------------------------------------------
# 7. A full disk under the state folder


def fill(filler: Path) -> None:
    """Write `filler` until the file system has no space left."""
    with open(filler, "wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"x" * 4096)
        except OSError:
            pass


@pytest.fixture
def full_disk(home: Path) -> Iterator[Path]:
    """Our state folder on a 256 KiB tmpfs that is filled up: (the filler file to free space)."""
    if sys.platform == "win32" or os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root to mount a tiny tmpfs")
    state_home = home / ".local" / "state"
    state_home.mkdir(parents=True, mode=0o700)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", str(state_home)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        log_dir = paths.log_dir()
        log_dir.mkdir(parents=True, mode=0o700)
        log_dir.parent.chmod(0o700)
        filler = state_home / "filler"
        fill(filler)
        yield filler
    finally:
        subprocess.run(["umount", "-l", str(state_home)], check=False)


def test_the_log_on_a_full_disk_says_so_once_then_resumes(
    full_disk: Path, restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    logs.setup_logging(log_file=paths.log_file())
    capsys.readouterr()
    log = logging.getLogger("test")
    for n in range(20):
        log.warning("record %d on a full disk %s", n, "x" * 200)
    err = capsys.readouterr().err
    assert "--- Logging error ---" not in err and "Traceback" not in err, err[:500]
    lines = [line for line in err.splitlines() if "log file" in line]
    assert len(lines) == 1, err[:2000]
    assert "No space left on device" in lines[0] and str(paths.log_file()) in lines[0]

    full_disk.unlink()
    log.warning("the disk has room again")
    assert "the disk has room again" in paths.log_file().read_text()
    assert "log file" not in capsys.readouterr().err

    fill(full_disk)  # full again: one more line, then silence
    for n in range(5):
        log.warning("record %d on a full disk again %s", n, "x" * 2000)
    assert len([line for line in capsys.readouterr().err.splitlines() if "log file" in line]) == 1


def test_the_daemon_keeps_credentials_fresh_on_a_full_state_disk(
    logged_in: Emulator, full_disk: Path
) -> None:
    settings.add_auto_sync("dev")
    proc = subprocess.Popen(
        [sys.executable, "-m", "aws_sso_tray.daemon"],
        env={k: v for k, v in os.environ.items() if k != "DBUS_SESSION_BUS_ADDRESS"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    credentials = paths.aws_credentials_file()
    try:
        wait_for(
            lambda: (
                proc.poll() is not None
                or (credentials.exists() and "aws_access_key_id" in credentials.read_text())
            ),
            "the daemon to write credentials",
            60,
            interval=0.05,
        )
        assert "aws_access_key_id" in (credentials.read_text() if credentials.exists() else "")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            _out, err = proc.communicate(timeout=30)
        finally:
            proc.kill()
    assert "--- Logging error ---" not in err, err[:2000]
    assert "Traceback" not in err, err[:2000]
    assert len([line for line in err.splitlines() if "cannot write the log file" in line]) <= 1
