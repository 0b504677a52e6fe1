"""How credentials are shown to other programs: credential_process JSON and environment lines.

Shared by `export`, `credential-process` and the tray's "copy export lines" entry. Input is any
object with the four credential attributes (rolecreds.RoleCredentials, or botocore's frozen
credentials wrapped by the CLI).
"""

from __future__ import annotations

import json

from aws_sso_tray.clock import format_time

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (credential-process)
if TYPE_CHECKING:
    from datetime import datetime
    from typing import Protocol

    class Credentials(Protocol):
        @property
        def access_key_id(self) -> str: ...
        @property
        def secret_access_key(self) -> str: ...
        @property
        def session_token(self) -> str | None: ...
        @property
        def expiration(self) -> datetime | None: ...


def env_vars(creds: Credentials) -> dict[str, str]:
    """The variables the AWS SDKs read, plus AWS_CREDENTIAL_EXPIRATION when known."""
    values = {
        "AWS_ACCESS_KEY_ID": creds.access_key_id,
        "AWS_SECRET_ACCESS_KEY": creds.secret_access_key,
    }
    if creds.session_token:
        values["AWS_SESSION_TOKEN"] = creds.session_token
    if creds.expiration is not None:
        values["AWS_CREDENTIAL_EXPIRATION"] = format_time(creds.expiration)
    return values


def env_lines(creds: Credentials, *, export: bool = False) -> str:
    """`K=V` lines (`--env`), or `export K=V` lines (`--env-export`), shell-quoted."""
    import shlex

    prefix = "export " if export else ""
    return "".join(f"{prefix}{k}={shlex.quote(v)}\n" for k, v in env_vars(creds).items())


def process_json(creds: Credentials) -> str:
    """credential_process output, Version 1 (the format the SDKs run `credential_process` for)."""
    document: dict[str, object] = {
        "Version": 1,
        "AccessKeyId": creds.access_key_id,
        "SecretAccessKey": creds.secret_access_key,
    }
    if creds.session_token:
        document["SessionToken"] = creds.session_token
    if creds.expiration is not None:
        document["Expiration"] = format_time(creds.expiration)
    return json.dumps(document, indent=2) + "\n"
