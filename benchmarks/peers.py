"""The other tools run.py measures ours against: their installs and the caches they read.

- aws-export-credentials 0.18 and aws-sso-util 4.33, each in its own venv beside this file,
  created on demand with the interpreter that runs the benchmark (so every tool starts the
  same Python version);
- the AWS CLI v2 from Debian (`apt-get install awscli`, /usr/bin/aws on Debian's own Python and
  vendored botocore), never installed from here: it is skipped with the command to install it;
- the role-credential cache entries those tools look for, written exactly as botocore's
  `SSOCredentialFetcher` and `JSONFileCache` write them, and the legacy SSO token file that
  aws-sso-util (which predates `[sso-session]`) looks up by start URL;
- `TlsProxy`, the HTTPS proxy that lets the AWS CLI 2.9 (which ignores AWS_ENDPOINT_URL_SSO)
  reach the emulator: it plays the AWS portal and OIDC hosts with a test CA's certificate and
  forwards their requests to the emulator on 127.0.0.1, refusing every other host.

Not part of the test suite (tests/test_bench_peers.py checks the cache key against botocore
and the proxy with real botocore).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
AEC_VENV = HERE / ".venv-aec"
AEC_REQUIREMENTS = ("aws-export-credentials==0.18.0", "boto3<1.34")
SSO_UTIL_VENV = HERE / ".venv-aws-sso-util"
# botocore 1.34 honours AWS_ENDPOINT_URL_SSO (service endpoint variables came in 1.31); run.py
# also proves it: aws-sso-util's cold runs must each make one GetRoleCredentials on the emulator.
SSO_UTIL_REQUIREMENTS = ("aws-sso-util==4.33.0", "boto3>=1.34,<1.35")
AWS_CLI = Path("/usr/bin/aws")  # not ~/.pyenv/shims/aws, a pip AWS CLI v1
AWS_CLI_INSTALL = "sudo apt-get install -y awscli"
# botocore's SSOCredentialFetcher._UTC_DATE_FORMAT
UTC_DATE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class PeerError(Exception):
    """A peer could not be installed or set up."""


@dataclass(frozen=True)
class RoleCredentials:
    """Credentials as credential-process prints them (Version 1 JSON)."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: str  # ISO 8601, as printed

    @classmethod
    def from_process_output(cls, stdout: str) -> RoleCredentials:
        data = json.loads(stdout)
        return cls(
            data["AccessKeyId"], data["SecretAccessKey"], data["SessionToken"], data["Expiration"]
        )


def ensure_venv(venv: Path, requirements: Sequence[str], script: str) -> Path:
    """`venv/bin/script`, creating the venv with `requirements` when it is missing."""
    path = venv / "bin" / script
    if path.exists():
        return path
    print(f"creating {venv} with {' '.join(requirements)} ...", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, *requirements], check=True)
    if not path.exists():
        raise PeerError(f"{venv}: installing {' '.join(requirements)} gave no {script}")
    return path


def ensure_aws_sso_util() -> Path:
    return ensure_venv(SSO_UTIL_VENV, SSO_UTIL_REQUIREMENTS, "aws-sso-util")


def aws_cli() -> Path | None:
    """Debian's AWS CLI v2 when it is installed."""
    return AWS_CLI if AWS_CLI.exists() else None


def aws_cli_version() -> str:
    proc = subprocess.run([str(AWS_CLI), "--version"], capture_output=True, text=True, check=False)
    # "aws-cli/2.9.19 Python/3.11.2 Linux/... source/x86_64.debian.12 prompt/off"
    return " ".join(proc.stdout.split()[:2]) or "unknown"


# --- the role-credential cache (~/.aws/cli/cache) -------------------------------------------------


def sso_cache_key(
    role_name: str, account_id: str, *, session_name: str | None = None, start_url: str = ""
) -> str:
    """The file name (without .json) botocore's SSOCredentialFetcher caches a role under.

    With an `[sso-session]` the key names the session; legacy profiles (and aws-sso-util,
    which builds its fetcher without a session name) key on the start URL.
    """
    args: dict[str, str] = {"roleName": role_name, "accountId": account_id}
    if session_name:
        args["sessionName"] = session_name
    else:
        args["startUrl"] = start_url
    text = json.dumps(args, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()  # noqa: S324 - botocore's key
    return digest.replace(":", "_").replace(os.sep, "_").replace("/", "_")


def write_sso_cache_entry(home: Path, key: str, creds: RoleCredentials) -> Path:
    """The entry as the AWS CLI writes it: JSONFileCache's json.dumps of the fetcher's response."""
    from datetime import datetime

    expiry = datetime.fromisoformat(creds.expiration.replace("Z", "+00:00"))
    response: Mapping[str, object] = {
        "ProviderType": "sso",
        "Credentials": {
            "AccessKeyId": creds.access_key_id,
            "SecretAccessKey": creds.secret_access_key,
            "SessionToken": creds.session_token,
            "Expiration": expiry.strftime(UTC_DATE_FORMAT),
        },
    }
    folder = home / ".aws" / "cli" / "cache"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{key}.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(json.dumps(response))
    return path


# --- the SSO token, for a tool that knows no [sso-session] --------------------------------------


def token_file(home: Path, key: str) -> Path:
    name = hashlib.sha1(key.encode("utf-8")).hexdigest()  # noqa: S324 - the AWS CLI's name
    return home / ".aws" / "sso" / "cache" / f"{name}.json"


def copy_token_for_start_url(home: Path, session_name: str, start_url: str) -> None:
    """aws-sso-util looks the token up by start URL (the pre-sso-session name): give it the same
    token the session's login wrote, so every tool reads one login."""
    source = token_file(home, session_name)
    if not source.exists():
        raise PeerError(f"no SSO token for session {session_name!r} at {source}")
    target = token_file(home, start_url)
    shutil.copyfile(source, target)
    target.chmod(0o600)


# --- a TLS proxy onto the emulator, for a tool that ignores AWS_ENDPOINT_URL_SSO -----------------

# The hosts the AWS CLI's sso and sso-oidc clients call for sso_region us-east-1.
PROXIED_HOSTS = ("portal.sso.us-east-1.amazonaws.com", "oidc.us-east-1.amazonaws.com")
# Headers about one hop (RFC 9110 7.6.1): never forwarded either way.
HOP_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
STREAM_CHUNK = 64 * 1024


class TlsProxy:
    """An HTTPS proxy on 127.0.0.1 whose only destinations are the emulator's AWS host names.

    A client given `url` as HTTPS_PROXY and `ca_bundle` as AWS_CA_BUNDLE sends
    `CONNECT portal.sso.us-east-1.amazonaws.com:443`; the proxy answers it itself, terminates
    TLS with a certificate for that name from a test CA, and sends each plain HTTP request in
    the tunnel to the emulator (`upstream`, an http://127.0.0.1 URL), streaming the answer back.
    A CONNECT to any other host (or a plain proxied request) is refused and counted: `check()`
    fails a run that had one. Nothing is ever resolved or dialled beyond 127.0.0.1.
    """

    def __init__(self, upstream: str, folder: Path, hosts: Sequence[str] = PROXIED_HOSTS) -> None:
        try:
            import trustme
        except ImportError:
            raise PeerError("trustme is missing: pip install -e '.[test]'") from None
        parts = urlsplit(upstream)
        if parts.scheme != "http" or parts.hostname != "127.0.0.1" or parts.port is None:
            raise PeerError(f"the proxy forwards only to http://127.0.0.1:PORT, not {upstream}")
        self.upstream = (parts.hostname, parts.port)
        self.hosts = frozenset(hosts)
        ca = trustme.CA()
        self.ca_bundle = folder / "tls-proxy-ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_bundle))
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert(*hosts).configure_cert(self.context)
        self.refused: list[str] = []  # "host:port" of each refused destination
        self.forwarded = 0
        self._lock = threading.Lock()
        self._server = _ProxyServer(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="tls-proxy", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def env(self) -> dict[str, str]:
        """What a client needs in its environment to go through the proxy and trust it."""
        return {
            "HTTPS_PROXY": self.url,
            "https_proxy": self.url,
            "AWS_CA_BUNDLE": str(self.ca_bundle),
        }

    def check(self) -> None:
        """PeerError when a client asked for any destination other than the proxied hosts."""
        with self._lock:
            refused = list(self.refused)
        if refused:
            raise PeerError(f"the TLS proxy refused {len(refused)} CONNECT(s): {refused[:3]}")

    def start(self) -> TlsProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> TlsProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _refuse(self, destination: str) -> None:
        with self._lock:
            self.refused.append(destination)

    def _count_forward(self) -> None:
        with self._lock:
            self.forwarded += 1


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, proxy: TlsProxy) -> None:
        self.proxy = proxy
        super().__init__(("127.0.0.1", 0), _ProxyHandler)


class _ProxyHandler(BaseHTTPRequestHandler):
    """CONNECT, then the requests inside the tunnel, on one connection."""

    protocol_version = "HTTP/1.1"
    server: _ProxyServer
    tunnel: ssl.SSLSocket | None = None

    def setup(self) -> None:
        super().setup()
        # An answer leaves in more than one small write: without TCP_NODELAY, Nagle's algorithm
        # holds the later ones until the client's delayed ACK, 40 ms more on every request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_CONNECT(self) -> None:
        host, _, port = self.path.rpartition(":")
        if self.tunnel is not None or host not in self.server.proxy.hosts or port != "443":
            self._refuse()
            return
        self.send_response(200, "Connection established")
        self.end_headers()
        self.wfile.flush()
        try:
            tls = self.server.proxy.context.wrap_socket(self.connection, server_side=True)
        except (ssl.SSLError, OSError):
            self.close_connection = True
            return
        # The requests that follow are read from, and answered on, the TLS tunnel, which stays
        # open although CONNECT came as HTTP/1.0 (http.client's, so urllib3's and botocore's).
        self.close_connection = False
        self.tunnel = self.connection = tls
        self.rfile = tls.makefile("rb")
        self.wfile = tls.makefile("wb")

    def do_GET(self) -> None:
        self._forward()

    do_POST = do_PUT = do_DELETE = do_GET

    def _refuse(self) -> None:
        self.server.proxy._refuse(self.path)
        self.send_error(403, "this proxy reaches only the emulator's AWS hosts")
        self.close_connection = True

    def _forward(self) -> None:
        if self.tunnel is None:  # a plain proxied http:// request: not a destination we serve
            self._refuse()
            return
        if "chunked" in self.headers.get("Transfer-Encoding", ""):
            self.send_error(501, "chunked request bodies are not forwarded")
            self.close_connection = True
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
        upstream = http.client.HTTPConnection(*self.server.proxy.upstream, timeout=120)
        try:
            upstream.request(self.command, self.path, body=body, headers=headers)
            answer = upstream.getresponse()
            self.server.proxy._count_forward()  # before the client can see the answer
            self._relay(answer)
        finally:
            upstream.close()

    def _relay(self, answer: http.client.HTTPResponse) -> None:
        """The emulator's answer, streamed: its length kept, or re-chunked when it had none."""
        self.send_response_only(answer.status, answer.reason)
        for key, value in answer.getheaders():
            if key.lower() not in HOP_HEADERS:
                self.send_header(key, value)
        chunked = answer.getheader("Content-Length") is None and self.command != "HEAD"
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        while data := answer.read(STREAM_CHUNK):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def finish(self) -> None:
        super().finish()
        if self.tunnel is not None:  # wrap_socket detached the server's socket: close ours
            self.tunnel.close()

    def log_message(self, format: str, *args: object) -> None:
        """Silent: a request line is no one's business in a benchmark's output."""
