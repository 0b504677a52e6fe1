"""The local credentials endpoint (engine/endpoint.py) and its client (aws/enginecreds.py),
through a real `aws-sso-tray daemon` against the emulator: botocore's container provider in a
subprocess, a wrong token, `credential-process` on a cold cache without botocore, and the
published file's permissions and lifetime."""

from __future__ import annotations

import http.client
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aws_sso_tray.aws import enginecreds, formats, profiles, rolecreds
from aws_sso_tray.engine import endpoint
from aws_sso_tray.engine import lock as engine_lock
from aws_sso_tray.files import paths
from sso_helpers import device_login, session_config
from test_daemon import SESSION, start_daemon, stop_daemon
from waiting import wait_for

PROD = (
    "\n[profile prod]\nsso_session = corp\nsso_account_id = 222222222222\n"
    "sso_role_name = ReadOnly\nregion = us-east-1\n"
)


@pytest.fixture
def logged_in(emulator: Any, aws_config: Any) -> Any:
    aws_config(session_config(SESSION, "dev", "111111111111", "ReadOnly") + PROD)
    device_login(emulator, SESSION)
    return emulator


class Daemon:
    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.stderr = ""

    def stop(self) -> None:
        if self.proc.returncode is None:
            self.stderr = stop_daemon(self.proc)


@pytest.fixture
def daemon(logged_in: Any) -> Iterator[Daemon]:
    running = Daemon(start_daemon("--debug"))
    try:
        wait_for(
            lambda: enginecreds.published() is not None or running.proc.poll() is not None,
            "the daemon's endpoint file",
        )
        assert running.proc.poll() is None, running.proc.communicate()[1]
        yield running
    finally:
        running.stop()
    assert running.proc.returncode == 0, running.stderr
    assert "Traceback" not in running.stderr


def container_env(cli: Any, profile: str) -> dict[str, str]:
    """The two variables `export --format container` prints, as a shell would set them."""
    done = cli("export", "--profile", profile, "--format", "container")
    assert done.returncode == 0, done.stderr
    variables = {}
    for line in done.stdout.splitlines():
        assert line.startswith("export "), line
        name, _, value = line[len("export ") :].partition("=")
        variables[name] = value.strip("'")
    assert sorted(variables) == [
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ]
    return variables


BOTOCORE_CONTAINER = """
import json, botocore.session
creds = botocore.session.Session().get_credentials()
frozen = creds.get_frozen_credentials()
print(json.dumps([creds.method, frozen.access_key, frozen.secret_key, frozen.token]))
"""


def run_botocore_with(variables: dict[str, str], home: Path) -> list[str]:
    """botocore in a fresh interpreter with no credential source but the two variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(variables)
    env.update(
        AWS_CONFIG_FILE=str(home / "no-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(home / "no-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    done = subprocess.run(
        [sys.executable, "-c", BOTOCORE_CONTAINER],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout))


def test_botocore_gets_the_emulators_credentials_through_its_container_provider(
    daemon: Daemon, logged_in: Any, cli: Any, home: Path
) -> None:
    variables = container_env(cli, "dev")
    assert variables["AWS_CONTAINER_CREDENTIALS_FULL_URI"].startswith("http://127.0.0.1:")
    assert variables["AWS_CONTAINER_CREDENTIALS_FULL_URI"].endswith("/profiles/dev")
    method, key_id, secret, token = run_botocore_with(variables, home)
    assert method == "container-role"
    assert secret in logged_in.issued_secrets() and token in logged_in.issued_secrets()
    cached = rolecreds.read_cached(profiles.get_profile("dev"))
    assert cached is not None and cached.access_key_id == key_id  # served from the engine
    # The token is in no process's argv and, like the credentials, in no log.
    cmdline = Path(f"/proc/{daemon.proc.pid}/cmdline")
    if cmdline.exists():
        assert variables["AWS_CONTAINER_AUTHORIZATION_TOKEN"].encode() not in cmdline.read_bytes()
    daemon.stop()
    log_text = paths.log_file().read_text()
    secrets = {*logged_in.issued_secrets(), variables["AWS_CONTAINER_AUTHORIZATION_TOKEN"]}
    for secret_text in secrets:
        assert secret_text not in log_text
        assert secret_text not in daemon.stderr


def _get(url_path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    found = enginecreds.published()
    assert found is not None
    conn = http.client.HTTPConnection("127.0.0.1", found.port, timeout=30)
    try:
        conn.request("GET", url_path, headers=headers)
        answer = conn.getresponse()
        return answer.status, answer.read()
    finally:
        conn.close()


def test_a_wrong_or_missing_token_is_403_and_serves_nothing(daemon: Daemon, logged_in: Any) -> None:
    found = enginecreds.published()
    assert found is not None and set(found.tokens) == {"dev", "prod"}
    assert found.tokens["dev"] != found.tokens["prod"]  # one token per profile
    logged_in.clear_requests()
    refused = [
        _get("/profiles/dev", {}),
        _get("/profiles/dev", {"Authorization": "not-the-token"}),
        _get("/profiles/dev", {"Authorization": found.tokens["prod"]}),  # another profile's
        _get("/profiles/nobody", {"Authorization": found.tokens["dev"]}),
        _get("/profiles/dev", {"Authorization": found.tokens["dev"], "Host": "evil.example:80"}),
    ]
    for status, body in refused:
        assert status == 403
        assert not any(secret in body.decode() for secret in logged_in.issued_secrets())
    assert logged_in.count("GetRoleCredentials") == 0  # nothing was fetched for them
    status, body = _get("/profiles/dev", {"Authorization": found.tokens["dev"]})
    assert status == 200
    assert set(json.loads(body)) == {"AccessKeyId", "SecretAccessKey", "Token", "Expiration"}
    daemon.stop()
    log_text = paths.log_file().read_text()
    assert log_text.count("credentials endpoint: refused GET") == len(refused)
    assert found.tokens["dev"] not in log_text and found.tokens["prod"] not in log_text


def _credential_process(*args: str) -> tuple[str, bool]:
    """The installed entry point's `credential-process ARGS` output, and whether botocore was
    imported."""
    code = (
        "import sys\nfrom aws_sso_tray.launch import main\nrc = main()\n"
        "print('BOTOCORE=' + str('botocore' in sys.modules), file=sys.stderr)\n"
        "raise SystemExit(rc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "credential-process", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout, "BOTOCORE=False" in done.stderr


def test_cold_credential_process_asks_the_engine_without_botocore(
    daemon: Daemon, logged_in: Any
) -> None:
    prod = profiles.get_profile("prod")
    assert not rolecreds.cache_file(prod).exists()  # a cold cache
    output, without_botocore = _credential_process("--profile", "prod")
    assert without_botocore
    assert logged_in.count("GetRoleCredentials") == 1  # the engine fetched, and cached, them
    cached = rolecreds.read_cached(prod)
    assert cached is not None
    assert output == formats.process_json(cached)  # byte for byte the full path's answer
    warm, _ = _credential_process("--profile", "prod")  # now the warm cache answers
    assert warm == output
    # Asking for more life than cached sends the engine back to the portal.
    rolecreds.cache_file(prod).unlink()
    again, without_botocore = _credential_process("--profile", "prod", "--min-remaining", "20m")
    assert without_botocore and again != output
    assert logged_in.count("GetRoleCredentials") == 2


def test_the_endpoint_file_is_private_and_removed_on_stop(daemon: Daemon) -> None:
    location = endpoint.endpoint_file()
    assert stat.S_IMODE(location.stat().st_mode) == 0o600
    assert stat.S_IMODE(location.parent.stat().st_mode) == 0o700
    assert location.stat().st_uid == os.getuid()
    daemon.stop()
    assert not location.exists()
    assert not engine_lock.engine_running()


def test_export_container_without_an_engine_says_so(logged_in: Any, cli: Any) -> None:
    done = cli("export", "--profile", "dev", "--format", "container")
    assert done.returncode != 0
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert "no tray or daemon is running" in done.stderr


def test_an_unsafe_or_stale_endpoint_file_is_not_trusted(logged_in: Any, cli: Any) -> None:
    """Without an engine holding the lock, a left-over file is ignored (its port may be anyone's
    now); a file others can read is ignored even while the engine runs."""
    served = endpoint.CredentialsEndpoint()
    served.start(["dev"])
    try:
        location = endpoint.endpoint_file()
        assert enginecreds.published() is None  # no engine lock held: a stale file
        with engine_lock.InstanceLock("test"):
            found = enginecreds.published()
            assert found is not None and found.port == served.port
            location.chmod(0o644)
            assert enginecreds.published() is None
            location.chmod(0o600)
            assert enginecreds.published() is not None
    finally:
        served.stop()
    assert not location.exists()
    # The CLI then takes the full path: same answer shape, from the portal.
    done = cli("credential-process", "--profile", "dev")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["Version"] == 1


def test_profile_paths_are_percent_encoded_and_read_back() -> None:
    assert enginecreds.profile_path("dev") == "/profiles/dev"
    assert enginecreds.profile_path("a b/ü") == "/profiles/a%20b%2F%C3%BC"
    from urllib.parse import unquote

    assert unquote(enginecreds.profile_path("a b/ü")[len("/profiles/") :]) == "a b/ü"


def test_a_snapshot_after_stop_publishes_nothing_and_the_port_stays_known(home: Path) -> None:
    """The engine's last snapshot may reach the endpoint after `stop()` (it is a subscriber):
    it must not raise in the engine's thread, nor publish a file for the closed port; and a
    request accepted as the server stops still checks its Host against the known port."""
    served = endpoint.CredentialsEndpoint()
    served.start(["dev"])
    port = served.port
    served.stop()
    assert not endpoint.endpoint_file().exists()
    served.serve(["dev", "newly-added"])  # raised AssertionError before
    assert not endpoint.endpoint_file().exists()
    assert served.port == port
