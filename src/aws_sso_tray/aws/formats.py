"""How credentials are shown to other programs: credential_process JSON and environment lines.

Shared by `export`, `credential-process` and the tray's "copy export lines" entry. Input is any
object with the four credential attributes (rolecreds.RoleCredentials, or botocore's frozen
credentials wrapped by the CLI). credential-process's fast path (`warmcache`) imports this module
too, so it imports nothing at the top: `process_json_text` writes the JSON with json.dumps' own C
string encoder, without json's `re` and `enum`.
"""

from __future__ import annotations

try:  # json.dumps' own C string encoder (json.encoder's choice too)
    from _json import encode_basestring_ascii as _json_string
except ImportError:  # pragma: no cover - other interpreters
    from json.encoder import encode_basestring_ascii as _json_string

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
    from aws_sso_tray.clock import format_time

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
    from aws_sso_tray.clock import format_time

    expiration = None if creds.expiration is None else format_time(creds.expiration)
    return process_json_text(
        creds.access_key_id, creds.secret_access_key, creds.session_token, expiration
    )


def process_json_text(
    access_key_id: str, secret_access_key: str, session_token: str | None, expiration: str | None
) -> str:
    """`process_json` from the values as text: exactly `json.dumps(document, indent=2) + "\n"`
    (ensure_ascii, the keys in this order; no SessionToken when empty, no Expiration when None)."""
    lines = [
        '{\n  "Version": 1',
        f'  "AccessKeyId": {_json_string(access_key_id)}',
        f'  "SecretAccessKey": {_json_string(secret_access_key)}',
    ]
    if session_token:
        lines.append(f'  "SessionToken": {_json_string(session_token)}')
    if expiration is not None:
        lines.append(f'  "Expiration": {_json_string(expiration)}')
    return ",\n".join(lines) + "\n}\n"
