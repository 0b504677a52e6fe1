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


def _named(
    creds: Credentials, key_id: str, secret: str, token: str, expiration: str
) -> dict[str, str]:
    """The credentials under these four names: the session token only when there is one, the
    expiry only when known (as ISO 8601 UTC), in that order (every format the SDKs read)."""
    values = {key_id: creds.access_key_id, secret: creds.secret_access_key}
    if creds.session_token:
        values[token] = creds.session_token
    if creds.expiration is not None:
        values[expiration] = format_time(creds.expiration)
    return values


def env_vars(creds: Credentials) -> dict[str, str]:
    """The variables the AWS SDKs read, plus AWS_CREDENTIAL_EXPIRATION when known."""
    return _named(
        creds,
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_CREDENTIAL_EXPIRATION",
    )


def env_lines(creds: Credentials, *, export: bool = False) -> str:
    """`K=V` lines (`--env`), or `export K=V` lines (`--env-export`), shell-quoted."""
    import shlex

    prefix = "export " if export else ""
    return "".join(f"{prefix}{k}={shlex.quote(v)}\n" for k, v in env_vars(creds).items())


def process_json(creds: Credentials) -> str:
    """credential_process output, Version 1 (the format the SDKs run `credential_process` for)."""
    fields = _named(creds, "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration")
    return json.dumps({"Version": 1, **fields}, indent=2) + "\n"
