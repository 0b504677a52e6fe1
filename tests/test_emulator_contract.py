"""Contract tests: stock boto3 clients against the emulator over real HTTP on 127.0.0.1.

Every modelled error is provoked through boto3 and caught as the matching
`client.exceptions.*`, so the emulator answers as botocore expects AWS to.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qs, urlencode, urlsplit

import boto3
import botocore.exceptions
import pytest
from botocore import UNSIGNED
from botocore.config import Config

from aws_sso_tray.emulator import Emulator, EmulatorConfig, pkce_challenge
from aws_sso_tray.emulator.browser import browse

if TYPE_CHECKING:
    from types_boto3_sso import SSOClient
    from types_boto3_sso_oidc import SSOOIDCClient
    from types_boto3_sso_oidc.type_defs import (
        CreateTokenResponseTypeDef,
        RegisterClientResponseTypeDef,
    )
from waiting import wait_for

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
START_URL = "https://d-1234567890.awsapps.com/start"
CALLBACK = "http://127.0.0.1/oauth/callback"
# total_max_attempts, not max_attempts: botocore counts max_attempts as RETRIES (1 = one retry).
NO_RETRY = Config(signature_version=UNSIGNED, retries={"total_max_attempts": 1})


def oidc_client(config: Config = NO_RETRY) -> SSOOIDCClient:
    return boto3.client("sso-oidc", region_name="us-east-1", config=config)


def sso_client(config: Config = NO_RETRY) -> SSOClient:
    return boto3.client("sso", region_name="us-east-1", config=config)


def register_device_client(oidc: SSOOIDCClient) -> RegisterClientResponseTypeDef:
    # What botocore's legacy SSOTokenFetcher sends: no grantTypes, so no refresh tokens.
    return oidc.register_client(clientName="tests", clientType="public")


def register_pkce_client(
    oidc: SSOOIDCClient, scopes: tuple[str, ...] = ("sso:account:access",)
) -> RegisterClientResponseTypeDef:
    return oidc.register_client(
        clientName="tests-pkce",
        clientType="public",
        grantTypes=["authorization_code", "refresh_token"],
        redirectUris=[CALLBACK],
        issuerUrl=START_URL,
        scopes=list(scopes),
    )


def authorize_url(emu: Emulator, cid: str, verifier: str, **overrides: str) -> str:
    params = {
        "response_type": "code",
        "client_id": cid,
        "redirect_uri": "http://127.0.0.1:54321/oauth/callback",
        "state": "state-123",
        "code_challenge_method": "S256",
        "scopes": "sso:account:access",
        "code_challenge": pkce_challenge(verifier),
        **overrides,
    }
    return f"{emu.url}/authorize?{urlencode(params)}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def http(url: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
    """urllib without proxies or redirects; returns (status, headers, body text)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


def pkce_login(
    emu: Emulator, oidc: SSOOIDCClient, client: RegisterClientResponseTypeDef
) -> CreateTokenResponseTypeDef:
    verifier = secrets.token_urlsafe(48)
    location = browse(authorize_url(emu, client["clientId"], verifier), follow_redirect=False)
    code = parse_qs(urlsplit(location).query)["code"][0]
    return oidc.create_token(
        clientId=client["clientId"],
        clientSecret=client["clientSecret"],
        grantType="authorization_code",
        code=code,
        redirectUri="http://127.0.0.1:54321/oauth/callback",
        codeVerifier=verifier,
    )


def device_login(
    emu: Emulator, oidc: SSOOIDCClient, client: RegisterClientResponseTypeDef
) -> CreateTokenResponseTypeDef:
    auth = oidc.start_device_authorization(
        clientId=client["clientId"], clientSecret=client["clientSecret"], startUrl=START_URL
    )
    emu.approve_device(auth["userCode"])
    return oidc.create_token(
        clientId=client["clientId"],
        clientSecret=client["clientSecret"],
        grantType=DEVICE_GRANT,
        deviceCode=auth["deviceCode"],
    )


# -- RegisterClient -------------------------------------------------------------------------------


def test_register_client_returns_the_modelled_fields(emulator: Emulator) -> None:
    before = int(time.time())
    answer = register_pkce_client(oidc_client())
    assert answer["clientId"] and len(answer["clientSecret"]) > 40
    assert before - 1 <= answer["clientIdIssuedAt"] <= time.time() + 1
    assert answer["clientSecretExpiresAt"] - answer["clientIdIssuedAt"] == 90 * 86400


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"clientType": "confidential"}, "InvalidClientMetadataException"),
        ({"scopes": ["bad scope"]}, "InvalidScopeException"),
        ({"grantTypes": ["password"]}, "UnsupportedGrantTypeException"),
        ({"grantTypes": ["authorization_code"]}, "InvalidRedirectUriException"),
        (
            {"grantTypes": ["authorization_code"], "redirectUris": ["not a uri"]},
            "InvalidRedirectUriException",
        ),
    ],
)
def test_register_client_rejects_bad_metadata(
    emulator: Emulator, kwargs: dict[str, Any], error: str
) -> None:
    oidc = oidc_client()
    with pytest.raises(getattr(oidc.exceptions, error)) as raised:
        oidc.register_client(**{"clientName": "x", "clientType": "public", **kwargs})
    assert raised.value.response["Error"]["Code"] == error


# -- client authentication -------------------------------------------------------------------------


def test_unknown_client_wrong_secret_and_expired_registration_are_invalid_client(
    emulator: Emulator,
) -> None:
    oidc = oidc_client()
    client = register_device_client(oidc)
    cases = [
        {"clientId": "nobody", "clientSecret": client["clientSecret"]},
        {"clientId": client["clientId"], "clientSecret": client["clientSecret"] + "x"},
    ]
    for ids in cases:
        with pytest.raises(oidc.exceptions.InvalidClientException) as raised:
            oidc.start_device_authorization(**ids, startUrl=START_URL)
        assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 401
        # OAuth's lowercase "error" is in the body botocore returns, not in the stubs' TypedDict.
        assert cast("dict[str, Any]", raised.value.response)["error"] == "invalid_client"
        with pytest.raises(oidc.exceptions.InvalidClientException):
            oidc.create_token(**ids, grantType=DEVICE_GRANT, deviceCode="x")
    emulator.advance(90 * 86400 + 1)
    with pytest.raises(oidc.exceptions.InvalidClientException):
        oidc.start_device_authorization(
            clientId=client["clientId"], clientSecret=client["clientSecret"], startUrl=START_URL
        )


def test_grants_the_client_did_not_register_are_unauthorized_client(emulator: Emulator) -> None:
    oidc = oidc_client()
    legacy = register_device_client(oidc)
    pkce = register_pkce_client(oidc)
    with pytest.raises(oidc.exceptions.UnauthorizedClientException):
        oidc.create_token(
            clientId=legacy["clientId"],
            clientSecret=legacy["clientSecret"],
            grantType="refresh_token",
            refreshToken="x",
        )
    with pytest.raises(oidc.exceptions.UnauthorizedClientException):
        oidc.start_device_authorization(
            clientId=pkce["clientId"], clientSecret=pkce["clientSecret"], startUrl=START_URL
        )
    with pytest.raises(oidc.exceptions.UnsupportedGrantTypeException):
        oidc.create_token(
            clientId=legacy["clientId"], clientSecret=legacy["clientSecret"], grantType="password"
        )


# -- device code -----------------------------------------------------------------------------------


def test_device_flow_pending_slow_down_approve_token(emulator: Emulator) -> None:
    oidc = oidc_client()
    client = register_device_client(oidc)
    auth = oidc.start_device_authorization(
        clientId=client["clientId"], clientSecret=client["clientSecret"], startUrl=START_URL
    )
    assert re.fullmatch(r"[A-Z]{4}-[A-Z]{4}", auth["userCode"])
    assert auth["verificationUri"] == f"{emulator.url}/device"
    assert auth["verificationUriComplete"] == f"{emulator.url}/device?user_code={auth['userCode']}"
    assert auth["expiresIn"] == 600
    assert auth["interval"] == 1
    poll = {
        "clientId": client["clientId"],
        "clientSecret": client["clientSecret"],
        "grantType": DEVICE_GRANT,
        "deviceCode": auth["deviceCode"],
    }
    with pytest.raises(oidc.exceptions.AuthorizationPendingException) as raised:
        oidc.create_token(**poll)
    assert cast("dict[str, Any]", raised.value.response)["error"] == "authorization_pending"
    with pytest.raises(oidc.exceptions.SlowDownException):
        oidc.create_token(**poll)
    assert emulator.pending_user_codes() == [auth["userCode"]]
    emulator.approve_device(auth["userCode"])
    token = oidc.create_token(**poll)
    assert token["tokenType"] == "Bearer"
    assert token["expiresIn"] == 3600
    assert "refreshToken" not in token  # registered without grantTypes, like AWS legacy
    assert sso_client().list_accounts(accessToken=token["accessToken"])["accountList"]
    with pytest.raises(oidc.exceptions.InvalidGrantException):
        oidc.create_token(**poll)  # a device code is single-use


def test_device_flow_polled_at_the_interval_is_never_slowed_down(emulator: Emulator) -> None:
    oidc = oidc_client()
    client = register_device_client(oidc)
    auth = oidc.start_device_authorization(
        clientId=client["clientId"], clientSecret=client["clientSecret"], startUrl=START_URL
    )
    poll = {
        "clientId": client["clientId"],
        "clientSecret": client["clientSecret"],
        "grantType": DEVICE_GRANT,
        "deviceCode": auth["deviceCode"],
    }
    for _ in range(3):
        with pytest.raises(oidc.exceptions.AuthorizationPendingException):
            oidc.create_token(**poll)
        emulator.advance(auth["interval"])


def test_device_flow_with_refresh_grant_gets_a_refresh_token(emulator: Emulator) -> None:
    oidc = oidc_client()
    client = oidc.register_client(
        clientName="t", clientType="public", grantTypes=[DEVICE_GRANT, "refresh_token"]
    )
    assert device_login(emulator, oidc, client)["refreshToken"]


def test_device_flow_of_an_sso_session_gets_a_refresh_token_that_works(emulator: Emulator) -> None:
    """`aws sso login` for an [sso-session] registers with its scopes and no grantTypes; AWS
    then issues a refresh token (how the AWS CLI renews sessions since 2.9)."""
    oidc = oidc_client()
    client = oidc.register_client(
        clientName="t", clientType="public", scopes=["sso:account:access"]
    )
    token = device_login(emulator, oidc, client)
    assert token["refreshToken"]
    renewed = oidc.create_token(
        clientId=client["clientId"],
        clientSecret=client["clientSecret"],
        grantType="refresh_token",
        refreshToken=token["refreshToken"],
    )
    assert renewed["accessToken"] != token["accessToken"]


def test_device_flow_denied_is_access_denied(emulator: Emulator) -> None:
    oidc = oidc_client()
    client = register_device_client(oidc)
    auth = oidc.start_device_authorization(
        clientId=client["clientId"], clientSecret=client["clientSecret"], startUrl=START_URL
    )
    emulator.deny_device(auth["userCode"])
    with pytest.raises(oidc.exceptions.AccessDeniedException) as raised:
        oidc.create_token(
            clientId=client["clientId"],
            clientSecret=client["clientSecret"],
            grantType=DEVICE_GRANT,
            deviceCode=auth["deviceCode"],
        )
    assert cast("dict[str, Any]", raised.value.response)["error"] == "access_denied"


def test_device_code_expires(emulator: Emulator) -> None:
    oidc = oidc_client()
    client = register_device_client(oidc)
    auth = oidc.start_device_authorization(
        clientId=client["clientId"], clientSecret=client["clientSecret"], startUrl=START_URL
    )
    emulator.advance(601)
    with pytest.raises(oidc.exceptions.ExpiredTokenException):
        oidc.create_token(
            clientId=client["clientId"],
            clientSecret=client["clientSecret"],
            grantType=DEVICE_GRANT,
            deviceCode=auth["deviceCode"],
        )


def test_device_flow_approved_through_the_page(emulator: Emulator) -> None:
    oidc = oidc_client()
    client = register_device_client(oidc)
    auth = oidc.start_device_authorization(
        clientId=client["clientId"], clientSecret=client["clientSecret"], startUrl=START_URL
    )
    assert "approved" in browse(auth["verificationUriComplete"]).lower()
    token = oidc.create_token(
        clientId=client["clientId"],
        clientSecret=client["clientSecret"],
        grantType=DEVICE_GRANT,
        deviceCode=auth["deviceCode"],
    )
    assert token["accessToken"]


# -- auth code + PKCE ------------------------------------------------------------------------------


def test_auth_code_pkce_flow_by_posting_the_form(emulator: Emulator) -> None:
    oidc = oidc_client()
    client = register_pkce_client(oidc)
    verifier = secrets.token_urlsafe(48)
    status, _, page = http(authorize_url(emulator, client["clientId"], verifier))
    assert status == 200
    assert 'action="/authorize/decision"' in page
    assert '<button type="submit" name="action" value="allow">' in page
    assert '<button type="submit" name="action" value="deny">' in page
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page))
    status, headers, _ = http(
        f"{emulator.url}/authorize/decision", urlencode({**hidden, "action": "allow"}).encode()
    )
    assert status == 302
    location = urlsplit(headers["Location"])
    assert (location.scheme, location.netloc, location.path) == (
        "http",
        "127.0.0.1:54321",
        "/oauth/callback",
    )
    query = parse_qs(location.query)
    assert query["state"] == ["state-123"]
    token = oidc.create_token(
        clientId=client["clientId"],
        clientSecret=client["clientSecret"],
        grantType="authorization_code",
        code=query["code"][0],
        redirectUri="http://127.0.0.1:54321/oauth/callback",
        codeVerifier=verifier,
    )
    assert token["refreshToken"] and token["accessToken"] and token["expiresIn"] == 3600
    creds = sso_client().get_role_credentials(
        accessToken=token["accessToken"], roleName="ReadOnly", accountId="222222222222"
    )
    assert creds["roleCredentials"]["accessKeyId"].startswith("ASIA")


def _code_for(emu: Emulator, client: RegisterClientResponseTypeDef, verifier: str) -> str:
    location = browse(authorize_url(emu, client["clientId"], verifier), follow_redirect=False)
    return parse_qs(urlsplit(location).query)["code"][0]


@pytest.mark.parametrize("flaw", ["verifier", "redirect", "reuse", "expired", "other_client"])
def test_auth_code_misuse_is_invalid_grant(emulator: Emulator, flaw: str) -> None:
    oidc = oidc_client()
    client = register_pkce_client(oidc)
    verifier = secrets.token_urlsafe(48)
    code = _code_for(emulator, client, verifier)
    request = {
        "clientId": client["clientId"],
        "clientSecret": client["clientSecret"],
        "grantType": "authorization_code",
        "code": code,
        "redirectUri": "http://127.0.0.1:54321/oauth/callback",
        "codeVerifier": verifier,
    }
    if flaw == "verifier":
        request["codeVerifier"] = secrets.token_urlsafe(48)
    elif flaw == "redirect":
        request["redirectUri"] = "http://127.0.0.1:54322/oauth/callback"
    elif flaw == "reuse":
        first = oidc.create_token(**request)
    elif flaw == "expired":
        emulator.advance(601)
    else:
        other = register_pkce_client(oidc)
        request.update(clientId=other["clientId"], clientSecret=other["clientSecret"])
    with pytest.raises(oidc.exceptions.InvalidGrantException) as raised:
        oidc.create_token(**request)
    assert cast("dict[str, Any]", raised.value.response)["error"] == "invalid_grant"
    if flaw == "reuse":
        # A replayed code revokes what it granted (RFC 6749 10.5).
        with pytest.raises(sso_client().exceptions.UnauthorizedException):
            sso_client().list_accounts(accessToken=first["accessToken"])


def test_auth_code_deny_redirects_with_access_denied(emulator: Emulator) -> None:
    client = register_pkce_client(oidc_client())
    url = authorize_url(emulator, client["clientId"], "v" * 50)
    location = browse(url, "deny", follow_redirect=False)
    query = parse_qs(urlsplit(location).query)
    assert query["error"] == ["access_denied"]
    assert query["error_description"]
    assert query["state"] == ["state-123"]
    assert "code" not in query


@pytest.mark.parametrize(
    "overrides",
    [
        {"client_id": "unknown"},
        {"redirect_uri": "http://evil.example.com/oauth/callback"},
        {"redirect_uri": "http://127.0.0.1:54321/other/path"},
        {"redirect_uri": ""},
    ],
)
def test_authorize_with_bad_client_or_redirect_is_an_error_page_not_a_redirect(
    emulator: Emulator, overrides: dict[str, str]
) -> None:
    client = register_pkce_client(oidc_client())
    status, headers, page = http(authorize_url(emulator, client["clientId"], "v" * 50, **overrides))
    assert status == 400
    assert "Location" not in headers
    assert "<form" not in page


def test_authorize_with_bad_pkce_parameters_redirects_with_an_error(emulator: Emulator) -> None:
    client = register_pkce_client(oidc_client())
    url = authorize_url(emulator, client["clientId"], "v" * 50, code_challenge_method="plain")
    status, headers, _ = http(url)
    assert status == 302
    assert parse_qs(urlsplit(headers["Location"]).query)["error"] == ["invalid_request"]


def test_authorize_with_unregistered_scope_redirects_invalid_scope(emulator: Emulator) -> None:
    client = register_pkce_client(oidc_client())
    url = authorize_url(emulator, client["clientId"], "v" * 50, scopes="sso:account:access admin")
    status, headers, _ = http(url)
    assert status == 302
    assert parse_qs(urlsplit(headers["Location"]).query)["error"] == ["invalid_scope"]


# -- refresh and session end -----------------------------------------------------------------------


def test_refresh_rotates_the_refresh_token_and_the_new_access_token_works(
    emulator: Emulator,
) -> None:
    oidc, sso = oidc_client(), sso_client()
    client = register_pkce_client(oidc)
    first = pkce_login(emulator, oidc, client)
    refresh = {
        "clientId": client["clientId"],
        "clientSecret": client["clientSecret"],
        "grantType": "refresh_token",
    }
    second = oidc.create_token(**refresh, refreshToken=first["refreshToken"])
    assert second["accessToken"] != first["accessToken"]
    assert second["refreshToken"] != first["refreshToken"]
    assert sso.list_accounts(accessToken=second["accessToken"])["accountList"]
    with pytest.raises(oidc.exceptions.InvalidGrantException):
        oidc.create_token(**refresh, refreshToken=first["refreshToken"])  # rotated away
    third = oidc.create_token(**refresh, refreshToken=second["refreshToken"])
    assert third["accessToken"]


def test_refresh_without_rotation_returns_the_same_refresh_token(emulator: Emulator) -> None:
    emulator.config.rotate_refresh_tokens = False
    oidc = oidc_client()
    client = register_pkce_client(oidc)
    first = pkce_login(emulator, oidc, client)
    again = oidc.create_token(
        clientId=client["clientId"],
        clientSecret=client["clientSecret"],
        grantType="refresh_token",
        refreshToken=first["refreshToken"],
    )
    assert again["refreshToken"] == first["refreshToken"]


def test_refresh_fails_once_the_session_ends(emulator: Emulator) -> None:
    oidc, sso = oidc_client(), sso_client()
    client = register_pkce_client(oidc)
    token = pkce_login(emulator, oidc, client)
    refresh = {
        "clientId": client["clientId"],
        "clientSecret": client["clientSecret"],
        "grantType": "refresh_token",
    }
    emulator.advance(3601)  # access token expired, session still on
    with pytest.raises(sso.exceptions.UnauthorizedException):
        sso.list_accounts(accessToken=token["accessToken"])
    token = oidc.create_token(**refresh, refreshToken=token["refreshToken"])
    emulator.advance(8 * 3600 - 3601 - 600)  # 10 minutes of the session left
    token = oidc.create_token(**refresh, refreshToken=token["refreshToken"])
    assert 595 <= token["expiresIn"] <= 600  # an access token never outlives its session
    emulator.advance(601)
    with pytest.raises(oidc.exceptions.InvalidGrantException):
        oidc.create_token(**refresh, refreshToken=token["refreshToken"])
    with pytest.raises(sso.exceptions.UnauthorizedException):
        sso.list_accounts(accessToken=token["accessToken"])


def test_logout_revokes_the_access_and_refresh_tokens(emulator: Emulator) -> None:
    oidc, sso = oidc_client(), sso_client()
    client = register_pkce_client(oidc)
    token = pkce_login(emulator, oidc, client)
    other = pkce_login(emulator, oidc, client)
    answer = sso.logout(accessToken=token["accessToken"])
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    with pytest.raises(sso.exceptions.UnauthorizedException) as raised:
        sso.get_role_credentials(
            accessToken=token["accessToken"], roleName="Admin", accountId="111111111111"
        )
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 401
    assert raised.value.response["Error"]["Message"]
    with pytest.raises(oidc.exceptions.InvalidGrantException):
        oidc.create_token(
            clientId=client["clientId"],
            clientSecret=client["clientSecret"],
            grantType="refresh_token",
            refreshToken=token["refreshToken"],
        )
    with pytest.raises(sso.exceptions.UnauthorizedException):
        sso.logout(accessToken=token["accessToken"])
    # Another login's session is untouched.
    assert sso.list_accounts(accessToken=other["accessToken"])["accountList"]


def test_revoke_all_ends_every_session(emulator: Emulator) -> None:
    oidc, sso = oidc_client(), sso_client()
    client = register_pkce_client(oidc)
    tokens = [pkce_login(emulator, oidc, client) for _ in range(2)]
    emulator.revoke_all()
    for token in tokens:
        with pytest.raises(sso.exceptions.UnauthorizedException):
            sso.list_accounts(accessToken=token["accessToken"])
        with pytest.raises(oidc.exceptions.InvalidGrantException):
            oidc.create_token(
                clientId=client["clientId"],
                clientSecret=client["clientSecret"],
                grantType="refresh_token",
                refreshToken=token["refreshToken"],
            )
    assert pkce_login(emulator, oidc, client)["accessToken"]  # a new login works


# -- portal ----------------------------------------------------------------------------------------


def test_get_role_credentials_look_like_aws_and_expire_in_milliseconds(emulator: Emulator) -> None:
    emulator.config.credential_ttl = 900
    token = device_login(emulator, oidc_client(), register_device_client(oidc_client()))
    sso = sso_client()
    creds = sso.get_role_credentials(
        accessToken=token["accessToken"], roleName="Admin", accountId="111111111111"
    )["roleCredentials"]
    assert re.fullmatch(r"ASIA[A-Z0-9]{16}", creds["accessKeyId"])
    assert len(creds["secretAccessKey"]) == 40
    assert len(creds["sessionToken"]) > 300
    assert abs(creds["expiration"] - (emulator.now() + 900) * 1000) < 5000
    again = sso.get_role_credentials(
        accessToken=token["accessToken"], roleName="Admin", accountId="111111111111"
    )["roleCredentials"]
    assert again["accessKeyId"] != creds["accessKeyId"]
    assert again["secretAccessKey"] != creds["secretAccessKey"]


def test_get_role_credentials_for_a_role_the_user_lacks(emulator: Emulator) -> None:
    token = device_login(emulator, oidc_client(), register_device_client(oidc_client()))
    sso = sso_client()
    for role, account in (("Admin", "222222222222"), ("ReadOnly", "999999999999")):
        with pytest.raises(botocore.exceptions.ClientError) as raised:
            sso.get_role_credentials(
                accessToken=token["accessToken"], roleName=role, accountId=account
            )
        assert raised.value.response["Error"] == {
            "Code": "ForbiddenException",
            "Message": "No access",
        }
        assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    emulator.config.missing_role_error = "ResourceNotFoundException"
    with pytest.raises(sso.exceptions.ResourceNotFoundException) as raised:
        sso.get_role_credentials(
            accessToken=token["accessToken"], roleName="Admin", accountId="222222222222"
        )
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_portal_rejects_an_unknown_token(emulator: Emulator) -> None:
    sso = sso_client()
    with pytest.raises(sso.exceptions.UnauthorizedException):
        sso.get_role_credentials(accessToken="aoa-made-up", roleName="Admin", accountId="1" * 12)
    with pytest.raises(sso.exceptions.UnauthorizedException):
        sso.list_account_roles(accessToken="aoa-made-up", accountId="1" * 12)


def test_list_accounts_and_roles_paginate(emulator: Emulator) -> None:
    token = device_login(emulator, oidc_client(), register_device_client(oidc_client()))
    sso = sso_client()
    first = sso.list_accounts(accessToken=token["accessToken"], maxResults=2)
    assert [a["accountId"] for a in first["accountList"]] == ["111111111111", "222222222222"]
    assert first["accountList"][0] == {
        "accountId": "111111111111",
        "accountName": "dev",
        "emailAddress": "dev@example.com",
    }
    rest = sso.list_accounts(
        accessToken=token["accessToken"], maxResults=2, nextToken=first["nextToken"]
    )
    assert [a["accountId"] for a in rest["accountList"]] == ["333333333333"]
    assert "nextToken" not in rest
    pages = sso.get_paginator("list_account_roles").paginate(
        accessToken=token["accessToken"],
        accountId="111111111111",
        PaginationConfig={"PageSize": 1},
    )
    roles = [r for page in pages for r in page["roleList"]]
    assert roles == [
        {"roleName": "ReadOnly", "accountId": "111111111111"},
        {"roleName": "Admin", "accountId": "111111111111"},
    ]
    with pytest.raises(sso.exceptions.ResourceNotFoundException):
        sso.list_account_roles(accessToken=token["accessToken"], accountId="999999999999")
    with pytest.raises(sso.exceptions.InvalidRequestException):
        sso.list_accounts(accessToken=token["accessToken"], nextToken="not-a-token!")


# -- faults ----------------------------------------------------------------------------------------


def test_5xx_fault_is_internal_server_error_and_botocore_retries_it(emulator: Emulator) -> None:
    oidc = oidc_client()
    emulator.inject_fault("RegisterClient", "5xx")
    with pytest.raises(oidc.exceptions.InternalServerException) as raised:
        register_device_client(oidc)
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert register_device_client(oidc)["clientId"]  # count=1: only one request failed

    token = device_login(emulator, oidc, register_device_client(oidc))
    emulator.inject_fault("GetRoleCredentials", "5xx", count=2)
    emulator.clear_requests()
    retrying = sso_client(Config(signature_version=UNSIGNED, retries={"mode": "standard"}))
    retrying.get_role_credentials(
        accessToken=token["accessToken"], roleName="Admin", accountId="111111111111"
    )
    assert [r.status for r in emulator.requests] == [500, 500, 200]


def test_throttle_fault_is_too_many_requests_on_the_portal_and_slow_down_on_oidc(
    emulator: Emulator,
) -> None:
    oidc, sso = oidc_client(), sso_client()
    token = device_login(emulator, oidc, register_device_client(oidc))
    emulator.inject_fault("ListAccounts", "throttle")
    with pytest.raises(sso.exceptions.TooManyRequestsException) as raised:
        sso.list_accounts(accessToken=token["accessToken"])
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    emulator.inject_fault("RegisterClient", "throttle")
    with pytest.raises(oidc.exceptions.SlowDownException):
        register_device_client(oidc)


def test_fault_for_any_op_hits_the_next_api_call_but_not_pages(emulator: Emulator) -> None:
    oidc = oidc_client()
    client = register_pkce_client(oidc)
    emulator.inject_fault(None, "5xx")
    status, _, _ = http(authorize_url(emulator, client["clientId"], "v" * 50))
    assert status == 200
    with pytest.raises(oidc.exceptions.InternalServerException):
        register_device_client(oidc)
    emulator.inject_fault("page:/authorize", "5xx")
    status, _, _ = http(authorize_url(emulator, client["clientId"], "v" * 50))
    assert status == 500


def test_drop_fault_closes_the_connection_unanswered(emulator: Emulator) -> None:
    emulator.inject_fault("RegisterClient", "drop")
    with pytest.raises(botocore.exceptions.ConnectionClosedError):
        register_device_client(oidc_client())
    assert emulator.requests[-1].status == 0
    assert register_device_client(oidc_client())["clientId"]


def test_latency_fault_and_configured_latency_delay_the_answer(emulator: Emulator) -> None:
    oidc = oidc_client()
    emulator.inject_fault("RegisterClient", "latency", delay=0.3)
    started = time.monotonic()
    register_device_client(oidc)
    assert time.monotonic() - started >= 0.3
    emulator.config.latency = 0.2
    started = time.monotonic()
    register_device_client(oidc)
    assert time.monotonic() - started >= 0.2


def test_inject_fault_rejects_unknown_kinds(emulator: Emulator) -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        emulator.inject_fault("CreateToken", "explode")


# -- request log, wire details, secrets, lifecycle -----------------------------------------------


def test_request_log_names_operations_as_botocore_does(emulator: Emulator) -> None:
    oidc = oidc_client()
    client = register_pkce_client(oidc)
    token = pkce_login(emulator, oidc, client)
    sso_client().get_role_credentials(
        accessToken=token["accessToken"], roleName="Admin", accountId="111111111111"
    )
    ops = [r.op for r in emulator.requests]
    assert ops == [
        "RegisterClient",
        "page:/authorize",
        "page:/authorize/decision",
        "CreateToken",
        "GetRoleCredentials",
    ]
    assert [r.status for r in emulator.requests] == [200, 200, 302, 200, 200]
    assert emulator.requests[-1].path == "/federation/credentials"
    assert emulator.count("CreateToken") == 1
    emulator.clear_requests()
    assert emulator.requests == [] and emulator.count("CreateToken") == 0


def test_errors_on_the_wire_carry_the_type_header_and_modelled_body(emulator: Emulator) -> None:
    status, headers, body = http(
        f"{emulator.url}/token",
        json.dumps({"clientId": "x", "clientSecret": "y", "grantType": "refresh_token"}).encode(),
        {"Content-Type": "application/json"},
    )
    assert status == 401
    assert headers["x-amzn-ErrorType"].split(":")[0] == "InvalidClientException"
    assert set(json.loads(body)) == {"error", "error_description"}
    status, headers, body = http(
        f"{emulator.url}/federation/credentials?role_name=A&account_id=1",
        headers={"x-amz-sso_bearer_token": "nope"},
    )
    assert status == 401
    assert headers["x-amzn-ErrorType"].split(":")[0] == "UnauthorizedException"
    assert set(json.loads(body)) == {"message"}
    status, _, _ = http(f"{emulator.url}/no/such/path")
    assert status == 404
    status, _, body = http(f"{emulator.url}/token", b"not json")
    assert status == 400 and json.loads(body)["error"] == "invalid_request"


def test_issued_secrets_cover_everything_and_none_is_logged(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="aws_sso_tray.emulator")
    oidc, sso = oidc_client(), sso_client()
    client = register_pkce_client(oidc)
    token = pkce_login(emulator, oidc, client)
    refreshed = oidc.create_token(
        clientId=client["clientId"],
        clientSecret=client["clientSecret"],
        grantType="refresh_token",
        refreshToken=token["refreshToken"],
    )
    creds = sso.get_role_credentials(
        accessToken=refreshed["accessToken"], roleName="Admin", accountId="111111111111"
    )["roleCredentials"]
    emulator.inject_fault("GetRoleCredentials", "5xx")
    with pytest.raises(botocore.exceptions.ClientError):
        sso.get_role_credentials(
            accessToken=refreshed["accessToken"], roleName="Admin", accountId="111111111111"
        )
    secrets_issued = emulator.issued_secrets()
    expected = {
        client["clientSecret"],
        token["accessToken"],
        token["refreshToken"],
        refreshed["accessToken"],
        refreshed["refreshToken"],
        creds["secretAccessKey"],
        creds["sessionToken"],
    }
    assert expected <= secrets_issued
    assert caplog.records  # the emulator did log
    for secret in secrets_issued:
        assert secret not in caplog.text


def test_stop_is_idempotent_and_closes_kept_alive_connections() -> None:
    emu = Emulator(EmulatorConfig())
    url = emu.start()
    oidc = boto3.client("sso-oidc", region_name="us-east-1", endpoint_url=url, config=NO_RETRY)
    register_device_client(oidc)  # leaves a kept-alive connection in the pool
    emu.stop()
    emu.stop()
    with pytest.raises(botocore.exceptions.EndpointConnectionError):
        register_device_client(oidc)


def test_context_manager_starts_on_an_ephemeral_loopback_port() -> None:
    with Emulator() as emu:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", emu.url)
        status, _, page = http(f"{emu.url}/")
        assert status == 200 and emu.url in page
    with pytest.raises(RuntimeError):
        Emulator().url  # noqa: B018


# -- helpers for other tests, concurrency, configuration ------------------------------------------


def test_login_helper_gives_a_working_session_and_a_cache_entry(emulator: Emulator) -> None:
    oidc, sso = oidc_client(), sso_client()
    login = emulator.login(start_url=START_URL)
    assert sso.list_accounts(accessToken=login.access_token)["accountList"]
    assert abs(login.expires_at - (emulator.now() + 3600)) < 5
    assert login.refresh_token is not None
    refreshed = oidc.create_token(
        clientId=login.client_id,
        clientSecret=login.client_secret,
        grantType="refresh_token",
        refreshToken=login.refresh_token,
    )
    assert refreshed["accessToken"]
    entry = login.token_cache_entry("eu-west-1")
    assert entry["startUrl"] == START_URL and entry["region"] == "eu-west-1"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", entry["expiresAt"])
    assert entry["refreshToken"] == login.refresh_token
    legacy = emulator.login(refresh=False)
    assert legacy.refresh_token is None and "refreshToken" not in legacy.token_cache_entry()
    assert {login.access_token, login.client_secret} <= emulator.issued_secrets()


def test_concurrent_calls_with_latency_are_served_in_parallel() -> None:
    import threading

    # Own emulator: its answers take 30 s, so eight requests in progress at the same moment
    # show they are served side by side (one after the other, only one would be), on a machine
    # as busy as it likes; stopping it ends them.
    emu = Emulator(EmulatorConfig(latency=30))
    url = emu.start()
    login = emu.login()
    sso = boto3.client("sso", region_name="us-east-1", endpoint_url=url, config=NO_RETRY)
    errors: list[Exception] = []

    def fetch(role: str) -> None:
        try:
            sso.get_role_credentials(
                accessToken=login.access_token, roleName=role, accountId="111111111111"
            )
        except Exception as error:
            errors.append(error)

    callers = [threading.Thread(target=fetch, args=(r,)) for r in ["Admin", "ReadOnly"] * 4]
    for caller in callers:
        caller.start()
    try:
        wait_for(lambda: len(emu._connections) >= 8, "eight requests in progress at once")
    finally:
        emu.stop()
        for caller in callers:
            caller.join(timeout=60)
    assert not any(caller.is_alive() for caller in callers)
    assert len(errors) == 8


def test_concurrent_calls_get_distinct_credentials(emulator: Emulator) -> None:
    from concurrent.futures import ThreadPoolExecutor

    login = emulator.login()
    sso = sso_client()

    def fetch(role: str) -> str:
        creds = sso.get_role_credentials(
            accessToken=login.access_token, roleName=role, accountId="111111111111"
        )
        return str(creds["roleCredentials"]["accessKeyId"])

    with ThreadPoolExecutor(8) as pool:
        keys = list(pool.map(fetch, ["Admin", "ReadOnly"] * 4))
    assert len(set(keys)) == 8
    assert emulator.count("GetRoleCredentials") == 8


def test_stop_interrupts_a_slow_answer() -> None:
    import threading

    emu = Emulator(EmulatorConfig(latency=30))
    url = emu.start()
    oidc = boto3.client("sso-oidc", region_name="us-east-1", endpoint_url=url, config=NO_RETRY)
    errors: list[Exception] = []

    def call() -> None:
        try:
            register_device_client(oidc)
        except Exception as error:
            errors.append(error)

    caller = threading.Thread(target=call)
    caller.start()
    wait_for(lambda: emu._connections, "the request to arrive")
    emu.stop()
    caller.join(timeout=20)  # the answer would take 30 s: ending sooner means it was cut off
    assert not caller.is_alive()
    assert errors and isinstance(errors[0], botocore.exceptions.ConnectionClosedError)


def test_custom_accounts_paginate_at_twenty_by_default(emulator: Emulator) -> None:
    from aws_sso_tray.emulator import Account

    emulator.config.accounts = tuple(
        Account(f"{n:012d}", f"acct-{n}", f"a{n}@example.com", ("Role",)) for n in range(45)
    )
    login = emulator.login()
    sso = sso_client()
    pages = list(sso.get_paginator("list_accounts").paginate(accessToken=login.access_token))
    assert [len(p["accountList"]) for p in pages] == [20, 20, 5]
    ids = [a["accountId"] for p in pages for a in p["accountList"]]
    assert ids == [f"{n:012d}" for n in range(45)]


def test_malformed_requests_are_invalid_request(emulator: Emulator) -> None:
    from http.client import HTTPConnection

    conn = HTTPConnection(urlsplit(emulator.url).netloc, timeout=10)
    conn.putrequest("POST", "/client/register")
    conn.putheader("Content-Length", "abc")
    conn.endheaders()
    response = conn.getresponse()
    assert response.status == 400
    assert response.getheader("x-amzn-ErrorType", "").startswith("InvalidRequestException")
    conn.close()
    status, _, body = http(f"{emulator.url}/client/register", b"[1, 2]")
    assert status == 400 and json.loads(body)["error"] == "invalid_request"


def test_faults_are_used_up_in_the_order_injected_and_logged_at_arrival(
    emulator: Emulator,
) -> None:
    login = emulator.login()
    retrying = sso_client(Config(signature_version=UNSIGNED, retries={"mode": "standard"}))
    emulator.inject_fault("ListAccounts", "5xx")
    emulator.inject_fault("ListAccounts", "throttle")
    emulator.clear_requests()
    retrying.list_accounts(accessToken=login.access_token)
    assert [r.status for r in emulator.requests] == [500, 429, 200]
    emulator.inject_fault("ListAccounts", "latency", delay=0.5)
    emulator.clear_requests()
    before = time.time()
    retrying.list_accounts(accessToken=login.access_token)
    assert time.time() - before >= 0.5
    assert emulator.requests[0].time - before < 0.4  # when it arrived, not when answered
