"""README's first-run and test commands stay true: they name scripts/setup and the venv it makes,
and CI runs them as written (.ci/run and .ci/clean-setup-check read them from README.md).

scripts/setup itself runs in CI from a clean clone (.ci/clean-setup-check); here: what it is
and what README says of it.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SETUP = ROOT / "scripts" / "setup"


def _block(heading: str) -> list[str]:
    """The lines of the first ```sh block under the `## heading...` section of README.md."""
    text = README.read_text(encoding="utf-8")
    section = re.search(rf"^## {re.escape(heading)}.*?$(.*?)^## ", text, re.M | re.S)
    assert section, f"README has no section '## {heading}'"
    block = re.search(r"^```sh\n(.*?)^```", section.group(1), re.M | re.S)
    assert block, f"README's '{heading}' section has no sh block"
    return block.group(1).splitlines()


def test_quick_start_is_scripts_setup_then_the_demo_from_its_venv() -> None:
    assert _block("Try it") == ["scripts/setup", ".venv/bin/aws-sso-tray demo"]
    assert SETUP.is_file() and os.access(SETUP, os.X_OK), "scripts/setup must be executable"
    subprocess.run(["bash", "-n", str(SETUP)], check=True)
    script = SETUP.read_text(encoding="utf-8")
    # The venv the demo line runs from is the one scripts/setup makes, with the distribution's
    # Python and its site packages (python3-gi), whatever python3 is first on PATH.
    assert "venv=$root/.venv" in script
    assert "PYTHON:-/usr/bin/python3" in script
    assert '-m venv --system-site-packages "$venv"' in script
    # A current pip (older ones write console scripts that import `re`), then a plain install:
    # an editable one loads its finder at every start of credential-process.
    assert script.index("-m pip install --upgrade pip") < script.index("-m pip install .")
    assert "pip install -e" not in script.replace("not -e", "")
    assert "Next: .venv/bin/aws-sso-tray demo" in script
    # apt-get through sudo only when not root, and `apt-get update` before installing.
    assert re.search(r'id -u\)" -eq 0 \]; then\s+as_root=\(\)', script)
    assert script.index(f"apt-get {WAIT} update") < script.index(f"apt-get {WAIT} install")
    for package in (
        "python3-venv",
        "python3-gi",
        "gir1.2-gtk-3.0",
        "gir1.2-ayatanaappindicator3-0.1",
        "libgirepository1.0-dev",
    ):
        assert package in script


def test_ci_runs_the_quick_start_from_readme_in_a_clean_clone() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "bash .ci/clean-setup-check" in ci
    check = (ROOT / ".ci" / "clean-setup-check").read_text(encoding="utf-8")
    assert "/^## Try it/" in check and "git clone" in check
    # The check's own extraction of the block gives what README says.
    extract = re.search(
        r"mapfile -t quick_start < <\((awk '.*?' )\"\$repo/README.md\"\)", check, re.S
    )
    assert extract, "clean-setup-check no longer reads README's quick start with awk"
    awk = shlex.split(extract.group(1))
    done = subprocess.run([*awk, str(README)], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == _block("Try it")


def test_the_test_command_is_one_line_and_is_what_ci_runs() -> None:
    (command,) = _block("Run the tests")
    assert command == ".venv/bin/pip install -e '.[test,gtk]' && .venv/bin/python -m pytest"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    extract = re.search(r"test_command=\$\((awk '.*?') README.md\)", ci)
    assert extract, ".ci/run no longer reads the test command from README.md"
    done = subprocess.run(
        [*shlex.split(extract.group(1)), str(README)], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == command
    assert 'eval "${test_command//.venv\\//$venv/}"' in ci


# --- scripts/setup's package step, with the system's package tools recorded (a true edge) -------


def _run_setup(
    tmp_path: Path, *, uid: int, sudo: bool, installed: set[str]
) -> tuple[int, str, str]:
    """scripts/setup from a copy of the repository layout, with apt-get, dpkg-query, id and sudo
    replaced by recorders; PYTHON=/bin/false stops it right after the package step."""
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    (repo / "scripts" / "setup").write_bytes(SETUP.read_bytes())
    (repo / "scripts" / "setup").chmod(0o755)
    tools = tmp_path / "bin"
    tools.mkdir()
    log = tmp_path / "calls.log"
    fakes = {
        "apt-get": f'echo "apt-get $*" >> {log}',
        "dpkg-query": 'for p in $INSTALLED; do [ "$p" = "${@: -1}" ] && echo installed; done; :',
        "id": f'[ "$1" = -u ] && echo {uid}',
    }
    if sudo:
        fakes["sudo"] = f'echo "sudo $1" >> {log}; "$@"'
    for name, body in fakes.items():
        (tools / name).write_text(f"#!/bin/bash\n{body}\n")
        (tools / name).chmod(0o755)
    env = {
        "PATH": f"{tools}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "INSTALLED": " ".join(sorted(installed)),
        "PYTHON": "/bin/false",
    }
    done = subprocess.run(
        ["bash", str(repo / "scripts" / "setup")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    calls = log.read_text() if log.exists() else ""
    return done.returncode, calls, done.stderr


# apt waits for another apt's lock (unattended upgrades) instead of failing at once.
WAIT = "-o DPkg::Lock::Timeout=600"


def _packages() -> list[str]:
    text = SETUP.read_text(encoding="utf-8")
    block = re.search(r"^packages=\((.*?)\)", text, re.M | re.S)
    assert block
    return block.group(1).split()


def test_setup_installs_the_missing_packages_through_sudo_when_not_root(tmp_path: Path) -> None:
    installed = set(_packages()[:3])
    code, calls, _ = _run_setup(tmp_path, uid=1000, sudo=True, installed=installed)
    lines = calls.splitlines()
    assert lines[:2] == ["sudo apt-get", f"apt-get {WAIT} update -qq"]
    assert lines[2] == "sudo apt-get"
    install = lines[3].split()
    assert install[:4] == ["apt-get", *WAIT.split(), "install"]
    assert set(install) & set(_packages()) == set(_packages()) - installed
    assert code == 1  # PYTHON=/bin/false: stopped at the interpreter check, as intended


def test_setup_as_root_needs_no_sudo(tmp_path: Path) -> None:
    code, calls, _ = _run_setup(tmp_path, uid=0, sudo=False, installed=set())
    assert calls.splitlines()[0] == f"apt-get {WAIT} update -qq"
    assert "sudo" not in calls
    assert code == 1


def test_setup_installs_nothing_when_everything_is_there(tmp_path: Path) -> None:
    _code, calls, _ = _run_setup(tmp_path, uid=1000, sudo=False, installed=set(_packages()))
    assert calls == ""


def test_setup_without_root_or_sudo_says_so_in_one_line(tmp_path: Path) -> None:
    if Path("/usr/bin/sudo").exists() or Path("/bin/sudo").exists():
        pytest.skip("sudo is installed on this machine: cannot take it away from the script")
    code, calls, stderr = _run_setup(tmp_path, uid=1000, sudo=False, installed=set())
    assert code == 1 and calls == ""
    (line,) = stderr.strip().splitlines()
    assert "needs root" in line and "sudo" in line
