"""coldfetch.py: credential-process's cold fetch without an engine gives what the full path gives.

The real entry point (`launch.main`) in a subprocess against the emulator over HTTP: the lean
fetch's output and cache entry are the full path's, it loads none of the CLI, argparse, `api`,
filelock, boto3 or botocore's client machinery, and every case it declines (an expired token,
a revoked session, an unusable cache file) ends with the full path's own message and exit code.
(Its endpoint and request are leanclient's: tests/test_leanclient.py compares them with
botocore's.)
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from aws_sso_tray.aws import coldfetch, formats, profiles, rolecreds
from sso_helpers import CORP_DEV_CONFIG

if TYPE_CHECKING:
    from aws_sso_tray.emulator import Emulator
    from fixture_types import WriteConfig

CONFIG = CORP_DEV_CONFIG
HEAVY = (
    "argparse",
    "aws_sso_tray.cli",
    "aws_sso_tray.cli.main",
    "aws_sso_tray.api",
    "filelock",
    "boto3",
    "botocore.session",
    "botocore.client",
    "urllib3",
)
LAUNCH = (
    "import sys\nfrom aws_sso_tray.launch import main\nrc = main()\n"
    f"print('LOADED=' + ','.join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)\n"
    "raise SystemExit(rc)\n"
)
FULL = "import sys\nfrom aws_sso_tray.cli.main import main\nraise SystemExit(main(sys.argv[1:]))\n"


@pytest.fixture
def signed_in(aws_config: WriteConfig, emulator: Emulator) -> Emulator:
    from sso_helpers import device_login

    aws_config(CONFIG)
    device_login(emulator, profiles.get_profile("dev").session)
    return emulator


def run(code: str, *args: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr without the probe's LOADED line)."""
    result = subprocess.run(
        [sys.executable, "-c", code, "credential-process", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    stderr = "".join(
        line for line in result.stderr.splitlines(keepends=True) if not line.startswith("LOADED=")
    )
    return result.returncode, result.stdout, stderr


def loaded(*args: str) -> tuple[int, str, str]:
    """The entry point's (exit code, stdout, the heavy modules it loaded)."""
    result = subprocess.run(
        [sys.executable, "-c", LAUNCH, "credential-process", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    return result.returncode, result.stdout, result.stderr.rsplit("LOADED=", 1)[1].strip()


def cache_entry() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        rolecreds.cache_file(profiles.get_profile("dev")).read_text(encoding="utf-8")
    )
    return data


def drop_cache() -> None:
    rolecreds.cache_file(profiles.get_profile("dev")).unlink(missing_ok=True)


def cached_answer() -> str:
    found = rolecreds.read_cached(profiles.get_profile("dev"))
    assert found is not None
    return formats.process_json(found)


@pytest.mark.parametrize("args", [("--profile", "dev"), ("-p", "dev", "--min-remaining", "1m")])
def test_the_lean_fetch_answers_as_the_full_path_does(
    signed_in: Emulator, args: tuple[str, ...]
) -> None:
    rc, full, _ = run(FULL, *args)  # also makes the locks folder the lean fetch waits on
    assert rc == 0
    assert full == cached_answer()
    full_entry = cache_entry()
    drop_cache()
    calls = signed_in.count("GetRoleCredentials")
    rc, lean, heavy = loaded(*args)
    assert rc == 0
    assert heavy == ""  # answered by coldfetch: no CLI, argparse, api, filelock or botocore
    assert signed_in.count("GetRoleCredentials") == calls + 1
    assert lean == cached_answer()  # the entry the warm path (and the full path) read
    assert json.loads(lean).keys() == json.loads(full).keys()
    entry = cache_entry()
    assert entry.keys() == full_entry.keys()
    assert entry["Credentials"].keys() == full_entry["Credentials"].keys()
    assert entry["Credentials"]["AccountId"] == "111111111111"
    # and the warm path answers from it without another call
    assert loaded(*args)[1] == lean
    assert signed_in.count("GetRoleCredentials") == calls + 1


def _expire_token() -> None:
    path = next((Path.home() / ".aws" / "sso" / "cache").glob("*.json"))
    data = json.loads(path.read_text(encoding="utf-8"))
    if "refreshToken" in data:  # an expired login with a refresh token would be renewed
        data.pop("refreshToken")
    data["expiresAt"] = "2020-01-01T00:00:00Z"
    path.write_text(json.dumps(data), encoding="utf-8")


def _spoil_cache() -> None:
    path = rolecreds.cache_file(profiles.get_profile("dev"))
    path.write_text('{"ProviderType": "sso", "Credentials": {"AccessKeyId": 5}}')


def _no_times(text: str) -> str:
    return re.sub(r"^\d\d:\d\d:\d\d ", "", text, flags=re.MULTILINE)


@pytest.mark.parametrize("case", ["expired token", "revoked", "unusable cache"])
def test_what_the_lean_fetch_declines_ends_as_the_full_path_does(
    signed_in: Emulator, case: str
) -> None:
    assert run(FULL, "--profile", "dev")[0] == 0  # the locks folder
    outcomes = []
    for code in (LAUNCH, FULL):
        if case == "expired token":
            drop_cache()
            _expire_token()
        elif case == "revoked":
            drop_cache()
            signed_in.revoke_all()
        else:
            _spoil_cache()
        rc, stdout, stderr = run(code, "--profile", "dev")
        outcomes.append((rc, "" if rc == 0 else stdout, _no_times(stderr)))
    assert outcomes[0] == outcomes[1]
    if case == "unusable cache":
        assert outcomes[0][0] == 0
        assert "ignoring unusable role-credential cache" in outcomes[0][2]
    else:
        assert outcomes[0][0] != 0
        assert "aws-sso-tray login dev" in outcomes[0][2]


def test_the_full_paths_cache_lock_keeps_the_lean_fetch_out(signed_in: Emulator) -> None:
    """A `sync`, an engine or a full-path caller fetching the role holds `atomicfile.locked`:
    the lean fetch then declines (the full path waits for that fetch) instead of racing it."""
    import os

    from aws_sso_tray.files import atomicfile

    cache_file = rolecreds.cache_file(profiles.get_profile("dev"))
    assert coldfetch._cache_lock(cache_file) is None  # no lock file yet: the full path makes it
    with atomicfile.locked(cache_file):
        assert coldfetch._cache_lock(cache_file) is None
    fd = coldfetch._cache_lock(cache_file)
    assert fd is not None
    os.close(fd)
