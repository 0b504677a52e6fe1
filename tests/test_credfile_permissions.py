"""credfile.py on the file system: read-only files and folders, symlinks, a directory in the
file's place, and temp files left by killed writers.

We run as root here, and root ignores mode bits, so the read-only cases run twice: as root
(our explicit mode-bit check must refuse) and as the unprivileged user `nobody` through
`setpriv` in a subprocess (the real thing: the kernel says no too). Those skip, with the reason,
where we are not root or cannot switch users.
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest

from aws_sso_tray.errors import ExitCode, FileWriteError
from aws_sso_tray.files import atomicfile, credfile

NOBODY = 65534
ORIGINAL = b"# mine\n[default]\nregion = eu-west-1\n"


@dataclass(frozen=True)
class Creds:
    access_key_id: str
    secret_access_key: str
    session_token: str | None
    expiration: datetime | None


CREDS = Creds("ASIAEXAMPLE", "secret", "token", datetime(2030, 1, 1, tzinfo=timezone.utc))


@pytest.fixture
def cred_file(home: Path) -> Path:
    path = home / ".aws" / "credentials"
    path.write_bytes(ORIGINAL)
    path.chmod(0o600)
    return path


def assert_refused_untouched(path: Path, mode: int) -> None:
    with pytest.raises(FileWriteError) as info:
        credfile.write_credentials(path, "dev", CREDS)
    assert info.value.exit_code == ExitCode.FILE_ERROR
    assert "\n" not in info.value.message
    assert path.read_bytes() == ORIGINAL
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []


# --------------------------------------------------------------------------------------------
# As whoever runs the tests (root in CI): the explicit mode-bit checks


def test_read_only_file_is_refused_even_for_root(cred_file: Path) -> None:
    cred_file.chmod(0o400)
    assert_refused_untouched(cred_file, 0o400)


def test_read_only_folder_is_refused_even_for_root(cred_file: Path) -> None:
    cred_file.parent.chmod(0o500)
    try:
        assert_refused_untouched(cred_file, 0o600)
    finally:
        cred_file.parent.chmod(0o700)


def test_directory_in_place_of_the_file(home: Path) -> None:
    path = home / ".aws" / "credentials"
    path.mkdir()
    (path / "inside").write_text("x")
    with pytest.raises(FileWriteError, match="is a directory"):
        credfile.write_credentials(path, "dev", CREDS)
    assert path.is_dir() and (path / "inside").read_text() == "x"


def test_symlink_is_written_through(home: Path, cred_file: Path) -> None:
    dotfiles = home / "dotfiles"
    dotfiles.mkdir()
    real = dotfiles / "aws-credentials"
    cred_file.rename(real)
    real.chmod(0o644)
    cred_file.symlink_to(Path("..") / "dotfiles" / "aws-credentials")  # relative, as stow does
    credfile.write_credentials(cred_file, "dev", CREDS)
    assert cred_file.is_symlink()
    assert str(cred_file.readlink()) == "../dotfiles/aws-credentials"
    assert real.read_bytes().startswith(ORIGINAL + b"\n[dev]\naws_access_key_id = ASIAEXAMPLE\n")
    assert stat.S_IMODE(real.stat().st_mode) == 0o600
    assert credfile.read_section(cred_file, "dev") == credfile.read_section(real, "dev")
    # ... and the record of what we created follows the real file.
    assert credfile.owned_sections(real) == {"dev"}


def test_dangling_symlink_creates_its_target(home: Path) -> None:
    path = home / ".aws" / "credentials"
    real = home / "dotfiles" / "credentials"
    real.parent.mkdir()
    path.symlink_to(real)
    credfile.write_credentials(path, "dev", CREDS)
    assert path.is_symlink() and real.read_text().startswith("[dev]\n")


def test_temp_files_of_killed_writers_are_swept(cred_file: Path) -> None:
    folder = cred_file.parent
    # A writer killed between creating its temp file and renaming it.
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import os, time
                name = f".credentials.{{os.getpid()}}.abcd{atomicfile.TEMP_SUFFIX}"
                with open(os.path.join({str(folder)!r}, name), "w") as f:
                    f.write("[dev]\\naws_access_key_id = half")
                    f.flush()
                    print(name, flush=True)
                    time.sleep(60)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None
    killed_temp = folder / writer.stdout.readline().strip()
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    # A live writer's temp file must survive the sweep.
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live_temp = folder / f".credentials.{live.pid}.efgh{atomicfile.TEMP_SUFFIX}"
        live_temp.write_text("in progress")
        assert killed_temp.exists()
        credfile.write_credentials(cred_file, "dev", CREDS)
        assert not killed_temp.exists()
        assert live_temp.exists()
    finally:
        live.kill()
        live.wait()


# --------------------------------------------------------------------------------------------
# As an unprivileged user, where the kernel enforces the modes too

AS_NOBODY = textwrap.dedent(
    """
    import sys
    from datetime import datetime, timezone
    from pathlib import Path
    from aws_sso_tray.files import credfile
    from aws_sso_tray.aws.rolecreds import RoleCredentials as C
    from aws_sso_tray.errors import AppError

    try:
        credfile.write_credentials(
            Path(sys.argv[1]), "dev",
            C("ASIANOBODY", "secret", "token", datetime(2030, 1, 1, tzinfo=timezone.utc)),
        )
    except AppError as exc:
        print(f"{type(exc).__name__}: {exc.message}")
        sys.exit(int(exc.exit_code))
    """
)


def _switch_command() -> list[str] | None:
    if sys.platform == "win32" or os.geteuid() != 0:
        return None
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    return [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]


@pytest.fixture
def nobody_home() -> Iterator[Path]:
    """A HOME owned by nobody, in a folder nobody can reach (pytest's tmp_path is root-only)."""
    switch = _switch_command()
    if switch is None:
        pytest.skip("needs root and setpriv to run the write as the unprivileged user nobody")
    probe = subprocess.run(
        [*switch, sys.executable, "-c", "import aws_sso_tray.files.credfile"],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        pytest.skip(f"user nobody cannot import aws_sso_tray here: {probe.stderr.strip()[-200:]}")
    base = Path(tempfile.mkdtemp(prefix="credfile-nobody-"))
    try:
        base.chmod(0o755)
        home = base / "home"
        (home / ".aws").mkdir(parents=True)
        for path in (home, home / ".aws"):
            os.chown(path, NOBODY, NOBODY)
            path.chmod(0o700)
        yield home
    finally:
        shutil.rmtree(base, ignore_errors=True)


def run_as_nobody(home: Path, path: Path) -> subprocess.CompletedProcess[str]:
    switch = _switch_command()
    assert switch is not None
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    return subprocess.run(
        [*switch, sys.executable, "-c", AS_NOBODY, str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def nobody_file(home: Path, mode: int) -> Path:
    path = home / ".aws" / "credentials"
    path.write_bytes(ORIGINAL)
    os.chown(path, NOBODY, NOBODY)
    path.chmod(mode)
    return path


def test_as_nobody_a_writable_file_is_written(nobody_home: Path) -> None:
    # The harness works: the same subprocess succeeds when nothing is read-only.
    path = nobody_file(nobody_home, 0o644)
    result = run_as_nobody(nobody_home, path)
    assert result.returncode == 0, result.stdout + result.stderr
    st = path.stat()
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (NOBODY, 0o600)
    assert path.read_bytes().startswith(ORIGINAL + b"\n[dev]\naws_access_key_id = ASIANOBODY\n")


def test_as_nobody_a_read_only_file_is_refused_and_untouched(nobody_home: Path) -> None:
    path = nobody_file(nobody_home, 0o400)
    result = run_as_nobody(nobody_home, path)
    assert result.returncode == ExitCode.FILE_ERROR, result.stdout + result.stderr
    assert result.stdout.startswith("FileWriteError: ") and "read-only" in result.stdout
    assert result.stdout.count("\n") == 1
    assert path.read_bytes() == ORIGINAL
    assert stat.S_IMODE(path.stat().st_mode) == 0o400


def test_as_nobody_a_read_only_folder_is_refused_and_untouched(nobody_home: Path) -> None:
    path = nobody_file(nobody_home, 0o600)
    path.parent.chmod(0o500)
    try:
        result = run_as_nobody(nobody_home, path)
    finally:
        path.parent.chmod(0o700)
    assert result.returncode == ExitCode.FILE_ERROR, result.stdout + result.stderr
    assert result.stdout.startswith("FileWriteError: ") and "read-only" in result.stdout
    assert path.read_bytes() == ORIGINAL
    assert sorted(p.name for p in path.parent.iterdir()) == ["credentials"]


def test_root_keeps_the_owner_of_a_users_file(cred_file: Path) -> None:
    if sys.platform == "win32" or os.geteuid() != 0:
        pytest.skip("only root can write a file another user owns")
    os.chown(cred_file, NOBODY, NOBODY)
    credfile.write_credentials(cred_file, "dev", CREDS)
    st = cred_file.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (NOBODY, NOBODY, 0o600)


def test_lock_is_reentrant_within_a_thread(cred_file: Path) -> None:
    # Not reentrant, the inner lock would time out (filelock.Timeout) instead of returning.
    with atomicfile.locked(cred_file, timeout=2), atomicfile.locked(cred_file, timeout=2):
        credfile.write_credentials(cred_file, "dev", CREDS)  # takes the same lock again
