"""Credentials of a profile that is not ours to fetch: botocore's own provider chain.

Assume-role chains, `credential_process` and static keys are resolved by botocore exactly as
the AWS CLI would, as aws-export-credentials does; SSO profiles never come here (they take
`rolecreds`, which answers from the shared cache). Imports botocore, so only call it when needed.
"""

from __future__ import annotations

from aws_sso_tray.aws.rolecreds import RoleCredentials
from aws_sso_tray.errors import ConfigError


def botocore_credentials(name: str) -> RoleCredentials:
    """The credentials botocore resolves for profile `name`.

    Raises ConfigError for an unknown profile or one without credentials, and the service
    errors of `clients.to_app_error` when resolving them fails.
    """
    import botocore.exceptions
    import botocore.session

    from aws_sso_tray.aws.clients import to_app_error
    from aws_sso_tray.clock import parse_time

    try:
        session = botocore.session.Session(profile=name)
        creds = session.get_credentials()
        if creds is None:
            raise ConfigError(
                f"profile '{name}' has no credentials: check ~/.aws/config and ~/.aws/credentials"
            )
        frozen = creds.get_frozen_credentials()
        expiry = getattr(creds, "_expiry_time", None)
    except botocore.exceptions.ProfileNotFound:
        known = ", ".join(sorted(botocore.session.Session().available_profiles)) or "none"
        raise ConfigError(
            f"no profile '{name}' in the AWS config or credentials file (profiles: {known}); "
            "check the name or run `aws-sso-tray configure`"
        ) from None
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise to_app_error(exc, what=f"resolving credentials for profile '{name}'") from exc
    return RoleCredentials(
        access_key_id=frozen.access_key or "",
        secret_access_key=frozen.secret_key or "",
        session_token=frozen.token,
        expiration=parse_time(expiry) if expiry is not None else None,
    )
