"""The types of conftest.py's fixtures, for the tests' annotations (conftest is not importable).

`emulator` is an `aws_sso_tray.emulator.Emulator`, `home` a `Path`; the two callables are here.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

WriteConfig = Callable[[str], Path]
"""`aws_config(text)`: writes ~/.aws/config, returns its path."""


class RunCli(Protocol):
    """`cli("list", "--json")`: the real CLI in a subprocess, its CompletedProcess (text mode)."""

    def __call__(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        input: str | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]: ...
