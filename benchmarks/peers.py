"""The other tools run.py measures ours against: their installs and the caches they read.

- aws-export-credentials 0.18 and aws-sso-util 4.33, each in its own venv beside this file,
  created on demand with the interpreter that runs the benchmark (so every tool starts the
  same Python version);
- the AWS CLI v2 from Debian (`apt-get install awscli`, /usr/bin/aws on Debian's own Python and
  vendored botocore), never installed from here: it is skipped with the command to install it;
- the role-credential cache entries those tools look for, written exactly as botocore's
  `SSOCredentialFetcher` and `JSONFileCache` write them, and the legacy SSO token file that
  aws-sso-util (which predates `[sso-session]`) looks up by start URL.

Not part of the test suite (tests/test_bench_peers.py checks the cache key against botocore).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

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
