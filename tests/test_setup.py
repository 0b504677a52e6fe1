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
    assert "-m pip install -e ." in script
    assert "Next: .venv/bin/aws-sso-tray demo" in script
    # apt-get through sudo only when not root, and `apt-get update` before installing.
    assert re.search(r'id -u\)" -eq 0 \]; then\s+as_root=\(\)', script)
    assert script.index("apt-get update") < script.index("apt-get install")
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
