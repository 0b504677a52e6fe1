"""Proxies and corporate CAs (issue 14 §6): the real CLI in a subprocess against the emulator
served over HTTPS by a test CA (trustme), directly and through a local counting CONNECT proxy.

Our clients resolve `verify` from AWS_CA_BUNDLE or the config's `ca_bundle` and the proxy from
HTTPS_PROXY / NO_PROXY as botocore does (aws/leanclient makes the calls with AWS_CA_BUNDLE alone,
botocore once a proxy or a `ca_bundle` applies); these tests hold both to that. The
logins are device-code logins approved on the emulator (no browser), and `export` fetches the
role credentials, so both sso-oidc and the sso portal are exercised.
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import socketserver
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import trustme

from sso_helpers import CORP_DEV_CONFIG
from test_endpoint import (  # the running daemon and its endpoint's helpers
    Daemon,
    container_env,
    daemon,  # noqa: F401 (a fixture)
    logged_in,  # noqa: F401 (a fixture)
    run_botocore_with,
)

if TYPE_CHECKING:
    from aws_sso_tray.emulator import Emulator
    from fixture_types import RunCli, WriteConfig

CONFIG = CORP_DEV_CONFIG


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_bundle(ca: trustme.CA, tmp_path: Path) -> Path:
    """The test CA's certificate as a PEM file: what a company hands out for its proxy."""
    path = tmp_path / "corp-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
def tls_emulator(ca: trustme.CA, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """The emulator over HTTPS (a certificate for 127.0.0.1 and localhost from the test CA),
    with AWS_ENDPOINT_URL_SSO / _SSO_OIDC pointing at it."""
    from aws_sso_tray.emulator import Emulator

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    with Emulator(ssl_context=context) as emu:
        assert emu.url.startswith("https://127.0.0.1:")
        point_at(monkeypatch, emu.url)
        yield emu


def point_at(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSO", url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSO_OIDC", url)


def set_no_proxy(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    """NO_PROXY in both spellings (conftest sets both to 127.0.0.1,localhost)."""
    monkeypatch.setenv("NO_PROXY", value)
    monkeypatch.setenv("no_proxy", value)


def device_login(emu: Emulator, env: Mapping[str, str] | None = None) -> str:
    """`aws-sso-tray login dev --use-device-code --no-browser`, approved on the emulator; the
    CLI's output (asserts it succeeded)."""
    import os

    full_env = {**os.environ, **(env or {})}
    with subprocess.Popen(
        [sys.executable, "-m", "aws_sso_tray", "login", "dev", "--use-device-code", "--no-browser"],
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as login:
        try:
            deadline = time.monotonic() + 30
            while not emu.pending_user_codes() and login.poll() is None:
                assert time.monotonic() < deadline, "the login never asked for a device code"
                time.sleep(0.05)
            for code in emu.pending_user_codes():
                emu.approve_device(code)
            out, err = login.communicate(timeout=30)
        finally:
            if login.poll() is None:
                login.kill()
    assert login.returncode == 0, err
    assert "Logged in to corp" in out
    return out


def export_works(cli: RunCli, env: Mapping[str, str] | None = None) -> None:
    result = cli("export", "--profile", "dev", env=dict(env or {}))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["AccessKeyId"].startswith("ASIA")


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


# -- corporate CAs -------------------------------------------------------------------------------


def test_aws_ca_bundle_trusts_the_company_ca(
    tls_emulator: Emulator,
    ca_bundle: Path,
    aws_config: WriteConfig,
    cli: RunCli,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    aws_config(CONFIG)
    monkeypatch.setenv("AWS_CA_BUNDLE", str(ca_bundle))
    device_login(tls_emulator)
    export_works(cli)
    assert tls_emulator.count("CreateToken") >= 1
    assert tls_emulator.count("GetRoleCredentials") == 1


def test_ca_bundle_in_the_config_trusts_the_company_ca(
    tls_emulator: Emulator,
    home: Path,
    ca_bundle: Path,
    aws_config: WriteConfig,
    cli: RunCli,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As botocore resolves it for a session: the AWS_PROFILE profile's (or [default]'s).
    aws_config(f"[default]\nca_bundle = {ca_bundle}\n\n{CONFIG}")
    device_login(tls_emulator)
    export_works(cli)
    monkeypatch.setenv("AWS_PROFILE", "dev")
    aws_config(CONFIG.replace("region = eu-west-1", f"region = eu-west-1\nca_bundle = {ca_bundle}"))
    for cached in (home / ".aws" / "cli" / "cache").glob("*.json"):
        cached.unlink()  # fetch the role credentials again
    export_works(cli)
    assert tls_emulator.count("GetRoleCredentials") == 2


def test_an_untrusted_certificate_says_to_set_the_ca_bundle(
    tls_emulator: Emulator,
    ca_bundle: Path,
    aws_config: WriteConfig,
    cli: RunCli,
    tmp_path: Path,
) -> None:
    aws_config(CONFIG)
    login = cli("login", "dev", "--use-device-code", "--no-browser", timeout=60)
    assert login.returncode == 7, login.stderr  # ExitCode.NETWORK
    line = one_line(login)
    assert "the TLS certificate of 127.0.0.1:" in line
    assert "is not trusted (unable to get local issuer certificate)" in line
    assert "set ca_bundle in the AWS config or AWS_CA_BUNDLE" in line
    assert tls_emulator.requests == []  # the handshake failed: no request was answered

    # Logged in (with the bundle), then the bundle is gone: export says so too.
    device_login(tls_emulator, {"AWS_CA_BUNDLE": str(ca_bundle)})
    export = cli("export", "--profile", "dev")
    assert export.returncode == 7, export.stderr
    assert "set ca_bundle in the AWS config or AWS_CA_BUNDLE" in one_line(export)

    missing = cli("export", "--profile", "dev", env={"AWS_CA_BUNDLE": str(tmp_path / "no.pem")})
    assert missing.returncode == 7, missing.stderr
    assert "cannot be read: fix the path in ca_bundle (AWS config) or AWS_CA_BUNDLE" in (
        one_line(missing)
    )
    assert tls_emulator.count("GetRoleCredentials") == 0


# -- proxies -------------------------------------------------------------------------------------


class CountingProxy:
    """An HTTP CONNECT proxy on 127.0.0.1 that tunnels to 127.0.0.1 and records each request's
    target (a forward request for a plain http:// URL is recorded and refused)."""

    def __init__(self) -> None:
        self.targets: list[str] = []
        proxy = self

        class Tunnel(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                request = self.rfile.readline().decode("latin-1").split()
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # the rest of the request head
                proxy.targets.append(request[1] if len(request) > 1 else "?")
                if len(request) < 2 or request[0] != "CONNECT":  # a plain-HTTP forward request
                    self.wfile.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                    return
                port = int(request[1].rpartition(":")[2])
                with socket.create_connection(("127.0.0.1", port), timeout=10) as upstream:
                    self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    self.wfile.flush()
                    pipe(self.connection, upstream)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Tunnel)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )

    def __enter__(self) -> CountingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def pipe(a: socket.socket, b: socket.socket) -> None:
    """Copy bytes both ways until either side closes."""
    with contextlib.suppress(OSError):
        while True:
            ready, _, _ = select.select([a, b], [], [], 10)
            if not ready:
                return
            for source in ready:
                data = source.recv(65536)
                if not data:
                    return
                (b if source is a else a).sendall(data)


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[CountingProxy]:
    with CountingProxy() as counting:
        monkeypatch.setenv("HTTPS_PROXY", counting.url)
        monkeypatch.setenv("https_proxy", counting.url)
        yield counting


def test_calls_go_through_https_proxy(
    tls_emulator: Emulator,
    proxy: CountingProxy,
    ca_bundle: Path,
    aws_config: WriteConfig,
    cli: RunCli,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    aws_config(CONFIG)
    monkeypatch.setenv("AWS_CA_BUNDLE", str(ca_bundle))
    # A host name the proxy is not bypassed for (the certificate names localhost too).
    point_at(monkeypatch, tls_emulator.url.replace("127.0.0.1", "localhost"))
    set_no_proxy(monkeypatch, "example.invalid")
    device_login(tls_emulator)
    export_works(cli)
    port = tls_emulator.url.rpartition(":")[2]
    assert len(proxy.targets) > 0
    assert set(proxy.targets) == {f"localhost:{port}"}
    assert tls_emulator.count("GetRoleCredentials") == 1
    # The console sign-in (GetSigninToken, urllib rather than botocore) too, CA bundle included.
    before = len(proxy.targets)
    signin = tls_emulator.url.replace("127.0.0.1", "localhost")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SIGNIN", signin)
    console = cli("console", "dev", "--federated", "--print")
    assert console.returncode == 0, console.stderr
    assert "SigninToken=" in console.stdout
    assert tls_emulator.count("Federation") == 1
    assert len(proxy.targets) > before
    untrusted = cli("console", "dev", "--federated", "--print", env={"AWS_CA_BUNDLE": ""})
    assert untrusted.returncode == 7, untrusted.stderr
    assert tls_emulator.count("Federation") == 1


def test_no_proxy_bypasses_the_proxy(
    tls_emulator: Emulator,
    proxy: CountingProxy,
    ca_bundle: Path,
    aws_config: WriteConfig,
    cli: RunCli,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    aws_config(CONFIG)
    monkeypatch.setenv("AWS_CA_BUNDLE", str(ca_bundle))
    point_at(monkeypatch, tls_emulator.url.replace("127.0.0.1", "localhost"))
    set_no_proxy(monkeypatch, "example.invalid,localhost")
    device_login(tls_emulator)
    export_works(cli)
    assert proxy.targets == []
    assert tls_emulator.count("GetRoleCredentials") == 1


def test_an_unreachable_proxy_says_so(
    tls_emulator: Emulator, aws_config: WriteConfig, cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    aws_config(CONFIG)
    with socket.socket() as unused:  # a port nothing listens on once closed
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    dead = f"http://user:s3cret@127.0.0.1:{port}"
    point_at(monkeypatch, tls_emulator.url.replace("127.0.0.1", "localhost"))
    set_no_proxy(monkeypatch, "example.invalid")
    login = cli(
        "login",
        "dev",
        "--use-device-code",
        "--no-browser",
        env={"HTTPS_PROXY": dead, "https_proxy": dead},
    )
    assert login.returncode == 7, login.stderr
    line = one_line(login)
    assert f"cannot reach the proxy http://127.0.0.1:{port} (HTTPS_PROXY)" in line
    assert "s3cret" not in login.stderr
    assert tls_emulator.requests == []


def test_the_local_endpoint_never_goes_through_a_proxy(
    daemon: Daemon,  # noqa: F811
    logged_in: Emulator,  # noqa: F811
    cli: RunCli,
    home: Path,
) -> None:
    # The engine's endpoint is http://127.0.0.1: with every proxy variable set and NO_PROXY
    # not covering it, neither our stdlib client (a cold credential-process) nor botocore's
    # container provider may send it to the proxy.
    variables = container_env(cli, "dev")
    with CountingProxy() as counting:
        proxied = {
            name: counting.url
            for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy")
        }
        proxied.update(NO_PROXY="example.invalid", no_proxy="example.invalid")
        cold = cli("credential-process", "--profile", "prod", env=proxied)
        assert cold.returncode == 0, cold.stderr
        assert json.loads(cold.stdout)["AccessKeyId"].startswith("ASIA")
        method, _, _, _ = run_botocore_with({**variables, **proxied}, home)
        assert method == "container-role"
    assert counting.targets == []
