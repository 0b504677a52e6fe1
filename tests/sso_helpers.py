"""Test helpers for tokens/rolecreds: log in against the emulator as the AWS CLI would.

`device_login` drives the device-code flow with stock boto3 and saves the token with botocore's
own cache classes, so the file is exactly what `aws sso login` leaves behind.
"""

from __future__ import annotations

import shlex
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from types_boto3_sso_oidc import SSOOIDCClient

    from aws_sso_tray.aws.profiles import SsoSession
    from aws_sso_tray.emulator import Emulator

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
# BROWSER for a subprocess: the emulator's browser stand-in presses Allow on the sign-in page
# (aws_sso_tray.emulator.browser; webbrowser splits the entry with shlex, hence the quoting).
STANDIN_BROWSER = f"{shlex.quote(sys.executable)} -m aws_sso_tray.emulator.browser %s"
# One SSO profile, `dev` (account 111111111111, ReadOnly, region eu-west-1), of the `corp`
# sso-session: the world of the tests that need one plain profile and nothing else.
CORP_DEV_CONFIG = """\
[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = us-east-1
sso_registration_scopes = sso:account:access

[profile dev]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = ReadOnly
region = eu-west-1
"""


def oidc(region: str) -> SSOOIDCClient:
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config

    return boto3.client("sso-oidc", region_name=region, config=Config(signature_version=UNSIGNED))


def save_like_botocore(session: SsoSession, token: dict[str, Any]) -> None:
    """Save `token` through botocore's SSOTokenLoader + JSONFileCache (its exact writer)."""
    from botocore.tokens import _sso_json_dumps  # type: ignore[attr-defined]  # botocore-stubs lack it
    from botocore.utils import JSONFileCache, SSOTokenLoader

    cache = JSONFileCache(str(Path("~/.aws/sso/cache").expanduser()), dumps_func=_sso_json_dumps)
    loader = SSOTokenLoader(cache)
    # botocore-stubs type the token a str; botocore's save_token takes (and the CLI passes) a dict.
    loader.save_token(session.start_url, token, session_name=session.name)  # type: ignore[arg-type]


def device_login(emu: Emulator, session: SsoSession, *, refresh: bool = True) -> dict[str, Any]:
    """Log in with the device code (approved on the emulator); write and return the token dict.

    With `refresh`, the client registers for the refresh_token grant and the token carries a
    refresh token and the registration, as the AWS CLI writes for sso-session profiles.
    """
    client = oidc(session.region)
    grants = [DEVICE_GRANT, "refresh_token"] if refresh else None
    kwargs: dict[str, Any] = {"clientName": "test", "clientType": "public"}
    if grants:
        kwargs.update(grantTypes=grants, scopes=["sso:account:access"])
    reg = client.register_client(**kwargs)
    auth = client.start_device_authorization(
        clientId=reg["clientId"], clientSecret=reg["clientSecret"], startUrl=session.start_url
    )
    emu.approve_device(auth["userCode"])
    issued = datetime.now(timezone.utc)
    response = client.create_token(
        grantType=DEVICE_GRANT,
        deviceCode=auth["deviceCode"],
        clientId=reg["clientId"],
        clientSecret=reg["clientSecret"],
    )
    token: dict[str, Any] = {
        "startUrl": session.start_url,
        "region": session.region,
        "accessToken": response["accessToken"],
        "expiresAt": issued + timedelta(seconds=response["expiresIn"]),
        "clientId": reg["clientId"],
        "clientSecret": reg["clientSecret"],
        "registrationExpiresAt": datetime.fromtimestamp(reg["clientSecretExpiresAt"], timezone.utc),
    }
    if "refreshToken" in response:
        token["refreshToken"] = response["refreshToken"]
    save_like_botocore(session, token)
    return token


def session_config(session: SsoSession, profile: str, account: str, role: str) -> str:
    """~/.aws/config text for one profile of `session` (sso-session or legacy form)."""
    if session.name is None:
        return (
            f"[profile {profile}]\nsso_start_url = {session.start_url}\n"
            f"sso_region = {session.region}\nsso_account_id = {account}\n"
            f"sso_role_name = {role}\nregion = {session.region}\n"
        )
    return (
        f"[profile {profile}]\nsso_session = {session.name}\nsso_account_id = {account}\n"
        f"sso_role_name = {role}\nregion = {session.region}\n\n"
        f"[sso-session {session.name}]\nsso_start_url = {session.start_url}\n"
        f"sso_region = {session.region}\nsso_registration_scopes = sso:account:access\n"
    )


def settled_count(emu: Emulator, op: str, expected: int, timeout: float = 2.0) -> int:
    """emu.count(op) once it reaches `expected` (or after `timeout`).

    The emulator records a request after it has sent the answer, so right after a call
    returns the record may still be on its way.
    """
    import contextlib

    from waiting import wait_for

    with contextlib.suppress(AssertionError):  # the caller's assertion names what is missing
        wait_for(lambda: emu.count(op) >= expected, f"{expected} {op}", timeout, interval=0.01)
    return int(emu.count(op))


def run_stock_botocore(script: str) -> str:
    """`script` with stock botocore in a fresh interpreter, this test's HOME and endpoints."""
    import os
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout
