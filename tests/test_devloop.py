"""The developer loop CONTRIBUTING.md promises: plain `pytest` finds every test file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_plain_pytest_collects_every_test_file() -> None:
    # `pytest` (the script) does not put the current folder on sys.path as `python -m pytest`
    # does: helpers beside the tests must import without it.
    script = Path(sys.executable).with_name("pytest")
    if not script.exists():
        pytest.skip(f"no pytest script next to {sys.executable}")
    result = subprocess.run(
        [str(script), "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    collected = {line.split("::", 1)[0] for line in result.stdout.splitlines() if "::" in line}
    expected = {f"tests/{p.name}" for p in (ROOT / "tests").glob("test_*.py")}
    assert expected <= collected, sorted(expected - collected)
