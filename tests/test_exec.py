"""`aws-sso-tray exec PROFILE -- COMMAND` through the real CLI against the emulator: the child's
environment (the profile's keys, no other credential source), real botocore in the child, exit
codes and forwarded signals, nesting, and the running daemon's endpoint instead of keys."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from aws_sso_tray.aws import enginecreds, execenv
from aws_sso_tray.aws.profiles import SsoSession
from sso_helpers import device_login
from test_daemon import PROGRAM, start_daemon, stop_daemon
from waiting import wait_for

if TYPE_CHECKING:
    from aws_sso_tray.emulator import Emulator
    from fixture_types import RunCli, WriteConfig

SESSION = SsoSession(
    "corp", "https://d-1234567890.awsapps.com/start", "us-east-1", ("sso:account:access",)
)
CONFIG = """\
[sso-session corp]
sso_start_url = https://d-1234567890.awsapps.com/start
sso_region = us-east-1
sso_registration_scopes = sso:account:access

[profile dev]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = ReadOnly
region = eu-west-1

[profile prod]
sso_session = corp
sso_account_id = 222222222222
sso_role_name = ReadOnly
"""

# What the child sees: its environment, and what botocore makes of it.
SHOW = """
import json, os, botocore.session
creds = botocore.session.Session().get_credentials()
frozen = creds.get_frozen_credentials()
print(json.dumps({"env": dict(os.environ), "method": creds.method,
                  "botocore": [frozen.access_key, frozen.secret_key, frozen.token]}), flush=True)
"""

# Every variable that would give the child another source (or stale keys), set in the parent.
OTHER_SOURCES = {
    "AWS_PROFILE": "prod",
    "AWS_DEFAULT_PROFILE": "prod",
    "AWS_ACCESS_KEY_ID": "AKIASTALE",
    "AWS_SECRET_ACCESS_KEY": "stale",
    "AWS_SESSION_TOKEN": "stale",
    "AWS_SECURITY_TOKEN": "stale",
    "AWS_CREDENTIAL_EXPIRATION": "2000-01-01T00:00:00Z",
    "AWS_ACCOUNT_ID": "999999999999",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://169.254.170.23/v1/credentials",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/x",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN": "stale",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": "/nonexistent",
    "AWS_WEB_IDENTITY_TOKEN_FILE": "/nonexistent",
    "AWS_ROLE_ARN": "arn:aws:iam::999999999999:role/other",
    "AWS_ROLE_SESSION_NAME": "other",
    "AWS_CREDENTIAL_FILE": "/nonexistent",
    "AWS_REGION": "ap-south-1",
    "AWS_DEFAULT_REGION": "ap-south-1",
}


@pytest.fixture
def logged_in(emulator: Emulator, aws_config: WriteConfig) -> Emulator:
    aws_config(CONFIG)
    device_login(emulator, SESSION)
    return emulator


def shown(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert done.returncode == 0, done.stderr
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def test_the_child_gets_the_profiles_keys_and_no_other_source(
    logged_in: Emulator, cli: RunCli, home: Path
) -> None:
    exported = json.loads(cli("export", "--profile", "dev").stdout)
    done = cli("exec", "dev", "--", sys.executable, "-c", SHOW, env=OTHER_SOURCES)
    child = shown(done)
    env = child["env"]
    assert env["AWS_ACCESS_KEY_ID"] == exported["AccessKeyId"]
    assert env["AWS_SECRET_ACCESS_KEY"] == exported["SecretAccessKey"]
    assert env["AWS_SESSION_TOKEN"] == exported["SessionToken"]
    assert env["AWS_CREDENTIAL_EXPIRATION"] == exported["Expiration"]
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"  # the profile's
    assert env["AWS_SSO_TRAY_EXEC"] == "dev"
    removed = set(OTHER_SOURCES) - set(execenv.STATIC_KEYS) - {"AWS_REGION", "AWS_DEFAULT_REGION"}
    assert removed & set(env) == set()
    assert env["HOME"] == str(home)  # everything else is passed on
    # Real botocore in the child takes exactly these keys, from the environment.
    assert child["method"] == "env"
    assert child["botocore"][1] in logged_in.issued_secrets()
    assert child["botocore"][0] == exported["AccessKeyId"]


def test_a_profile_without_a_region_keeps_the_callers(logged_in: Emulator, cli: RunCli) -> None:
    done = cli("exec", "prod", "--", sys.executable, "-c", SHOW, env={"AWS_REGION": "sa-east-1"})
    env = shown(done)["env"]
    assert env["AWS_REGION"] == "sa-east-1" and "AWS_DEFAULT_REGION" not in env
    assert env["AWS_SSO_TRAY_EXEC"] == "prod"


def test_exit_codes_are_the_childs_and_a_shells(logged_in: Emulator, cli: RunCli) -> None:
    assert cli("exec", "dev", "--", sys.executable, "-c", "raise SystemExit(7)").returncode == 7
    killed = cli("exec", "dev", "--", sys.executable, "-c", "import os; os.kill(os.getpid(), 9)")
    assert killed.returncode == 128 + 9
    missing = cli("exec", "dev", "--", "no-such-command-here")
    assert missing.returncode == 127
    assert missing.stderr == "aws-sso-tray: exec: command not found: no-such-command-here\n"
    nothing = cli("exec", "dev")
    assert nothing.returncode == 2 and "name a command" in nothing.stderr
    # Flags between PROFILE and `--`, and the command's own flags and `--` passed on as they are.
    args = cli(
        "exec",
        "dev",
        "--no-endpoint",
        "--",
        sys.executable,
        "-c",
        "import sys; print(sys.argv[1:])",
        "--force",
        "--",
        "x",
    )
    assert args.returncode == 0, args.stderr
    assert args.stdout == "['--force', '--', 'x']\n"


def test_without_a_login_nothing_runs(
    emulator: Emulator, aws_config: WriteConfig, cli: RunCli, tmp_path: Path
) -> None:
    aws_config(CONFIG)
    marker = tmp_path / "ran"
    done = cli("exec", "dev", "--", sys.executable, "-c", f"open({str(marker)!r}, 'w')")
    assert done.returncode == 4
    assert len(done.stderr.splitlines()) == 1 and "login" in done.stderr
    assert not marker.exists()


WAIT_FOR_SIGNAL = """
import signal, sys, time
def got(signum, frame):
    print("child got", signum, flush=True)
    raise SystemExit(3)
for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(s, got)
open(sys.argv[1], "w").close()
time.sleep(60)
raise SystemExit(99)
"""


@pytest.mark.parametrize("signame", execenv.FORWARDED)
def test_signals_reach_the_child_and_its_code_comes_back(
    logged_in: Emulator, tmp_path: Path, signame: str
) -> None:
    ready = tmp_path / "ready"
    # A new session: no terminal, so a SIGINT is one someone sent, and must be passed on.
    proc = subprocess.Popen(
        [PROGRAM, "exec", "dev", "--", sys.executable, "-c", WAIT_FOR_SIGNAL, str(ready)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        wait_for(lambda: ready.exists() or proc.poll() is not None, "the child to start")
        proc.send_signal(getattr(signal, signame))
        out, err = proc.communicate(timeout=30)  # far inside the child's 60 s sleep
    finally:
        proc.kill()
    assert proc.returncode == 3, err
    assert out == f"child got {int(getattr(signal, signame))}\n"


def test_a_child_killed_by_a_forwarded_signal_exits_128_plus_n(
    logged_in: Emulator, tmp_path: Path
) -> None:
    ready = tmp_path / "ready"
    script = f"import time; open({str(ready)!r}, 'w').close(); time.sleep(60)"
    proc = subprocess.Popen(
        [PROGRAM, "exec", "dev", "--", sys.executable, "-c", script],
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        wait_for(lambda: ready.exists() or proc.poll() is not None, "the child to start")
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, err


def test_exec_inside_exec_for_another_profile_refuses_unless_forced(
    logged_in: Emulator, cli: RunCli
) -> None:
    inner = [sys.executable, "-c", "import os; print(os.environ['AWS_SSO_TRAY_EXEC'])"]
    nested = cli("exec", "dev", "--", PROGRAM, "exec", "prod", "--", *inner)
    assert nested.returncode == 2
    assert nested.stdout == ""
    assert nested.stderr.count("\n") == 1
    assert "already inside `aws-sso-tray exec dev`" in nested.stderr and "--force" in nested.stderr
    forced = cli("exec", "dev", "--", PROGRAM, "exec", "--force", "prod", "--", *inner)
    assert forced.returncode == 0 and forced.stdout == "prod\n"
    same = cli("exec", "dev", "--", PROGRAM, "exec", "dev", "--", *inner)
    assert same.returncode == 0 and same.stdout == "dev\n"


def test_endpoint_without_an_engine_says_so(logged_in: Emulator, cli: RunCli) -> None:
    done = cli("exec", "--endpoint", "dev", "--", sys.executable, "-c", "pass")
    assert done.returncode == 1
    assert "no tray or daemon is running" in done.stderr


# --- with a running daemon: the endpoint ------------------------------------------------------


@pytest.fixture
def daemon(logged_in: Emulator) -> Iterator[subprocess.Popen[str]]:
    proc = start_daemon()
    try:
        wait_for(
            lambda: enginecreds.published() is not None or proc.poll() is not None,
            "the daemon's endpoint file",
        )
        assert proc.poll() is None, proc.communicate()[1]
        yield proc
    finally:
        stderr = stop_daemon(proc)
    assert "Traceback" not in stderr


def test_with_a_daemon_the_child_asks_the_endpoint(
    daemon: subprocess.Popen[str], logged_in: Emulator, cli: RunCli, tmp_path: Path
) -> None:
    script = SHOW + "import time; open(os.environ['READY'], 'w').close(); time.sleep(60)\n"
    ready = tmp_path / "ready"
    env = {**os.environ, **OTHER_SOURCES, "READY": str(ready)}
    proc = subprocess.Popen(
        [PROGRAM, "exec", "dev", "--", sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        wait_for(lambda: ready.exists() or proc.poll() is not None, "the child to start")
        # The token is in the environment only: in no argv of the exec and its child.
        found = enginecreds.published()
        assert found is not None
        token = found.tokens["dev"]
        for pid in _descendants(proc.pid):
            assert token.encode() not in Path(f"/proc/{pid}/cmdline").read_bytes()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    child = json.loads(out)
    env_seen = child["env"]
    assert child["method"] == "container-role"
    assert child["botocore"][1] in logged_in.issued_secrets()
    assert env_seen["AWS_CONTAINER_AUTHORIZATION_TOKEN"] == token
    assert env_seen["AWS_CONTAINER_CREDENTIALS_FULL_URI"].endswith("/profiles/dev")
    assert not set(execenv.STATIC_KEYS) & set(env_seen)  # they would win over the endpoint
    assert "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI" not in env_seen
    assert "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE" not in env_seen
    assert env_seen["AWS_REGION"] == "eu-west-1"
    assert err == ""


def _descendants(pid: int) -> list[int]:
    """`pid` and its children, grandchildren ... (Linux /proc)."""
    found = [pid]
    for current in found:
        children = Path(f"/proc/{current}/task/{current}/children")
        if children.exists():
            found += [int(p) for p in children.read_text().split()]
    return found


def test_no_endpoint_gives_keys_even_with_a_daemon(
    daemon: subprocess.Popen[str], cli: RunCli
) -> None:
    child = shown(cli("exec", "--no-endpoint", "dev", "--", sys.executable, "-c", SHOW))
    assert child["method"] == "env"
    assert not any(k.startswith("AWS_CONTAINER_") for k in child["env"])


def test_a_default_profile_with_keys_would_shadow_the_endpoint(
    daemon: subprocess.Popen[str], cli: RunCli, home: Path
) -> None:
    creds = home / ".aws" / "credentials"
    creds.write_text("[default]\naws_access_key_id = AKIAUSERS\naws_secret_access_key = own\n")
    done = cli("exec", "dev", "--", sys.executable, "-c", SHOW)
    child = shown(done)
    assert child["method"] == "env"  # static keys, so the child gets dev's, not the user's
    assert done.stderr == (
        "aws-sso-tray: exec: static keys, not the endpoint: the default profile has credentials "
        "of its own (credentials: aws_access_key_id), which SDKs take before the endpoint\n"
    )
    forced = cli("exec", "--endpoint", "dev", "--", sys.executable, "-c", SHOW)
    assert forced.returncode == 2 and "use --no-endpoint" in forced.stderr
