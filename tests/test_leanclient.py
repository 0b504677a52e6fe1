"""leanclient.py: the sso and sso-oidc calls without botocore send and answer what botocore does.

Each comparison makes the same call with the LeanClient and with botocore's own client against
one local HTTP server (tests/canned_http.py) that records the request and plays a canned answer:
the requests must match, and so must the answers, the ClientErrors (code, message, wording) and
the number of attempts botocore's standard retries make. The operation table is checked against
botocore's service models, the endpoints against botocore's ruleset, and a subprocess shows that
a login, a token renewal, a role-credentials fetch, a portal scan and a logout load none of
botocore's client machinery.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from aws_sso_tray.aws import clients, leanclient
from canned_http import Answer, CannedServer, Request, canned_server

JSON = (("Content-Type", "application/json"),)
START_URL = "https://corp.awsapps.com/start"
CALLS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "sso",
        "get_role_credentials",
        {"roleName": "Read Only+", "accountId": "111111111111", "accessToken": "tok/en=="},
    ),
    ("sso", "list_accounts", {"accessToken": "tok", "maxResults": 2, "nextToken": "n 1"}),
    ("sso", "list_account_roles", {"accessToken": "tok", "accountId": "111111111111"}),
    ("sso", "logout", {"accessToken": "tok"}),
    (
        "sso-oidc",
        "register_client",
        {
            "clientName": "aws-sso-tray",
            "clientType": "public",
            "scopes": ["sso:account:access"],
            "grantTypes": ["authorization_code", "refresh_token"],
            "redirectUris": ["http://127.0.0.1:4321/oauth/callback"],
            "issuerUrl": START_URL,
        },
    ),
    (
        "sso-oidc",
        "start_device_authorization",
        {"clientId": "id", "clientSecret": "secret", "startUrl": START_URL},
    ),
    (
        "sso-oidc",
        "create_token",
        {
            "clientId": "id",
            "clientSecret": "secret",
            "grantType": "refresh_token",
            "refreshToken": "refresh",
        },
    ),
    (
        "sso-oidc",
        "create_token",
        {
            "clientId": "id",
            "clientSecret": "secret",
            "grantType": "authorization_code",
            "code": "c0de",
            "redirectUri": "http://127.0.0.1:4321/oauth/callback",
            "codeVerifier": "v" * 43,
            "scope": ["sso:account:access"],
        },
    ),
]


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[CannedServer]:
    with canned_server() as canned:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SSO", canned.url)
        monkeypatch.setenv("AWS_ENDPOINT_URL_SSO_OIDC", canned.url)
        monkeypatch.setattr(leanclient, "_clients", {})
        monkeypatch.setattr(leanclient, "sleep", lambda seconds: None)
        monkeypatch.setattr(time, "sleep", lambda seconds: None)  # botocore's retry waits
        yield canned


def both(service: str, max_attempts: int = clients.MAX_ATTEMPTS) -> tuple[Any, Any]:
    lean = clients.client(service, "us-east-1", max_attempts=max_attempts)
    assert isinstance(lean, leanclient.LeanClient)
    full = clients.botocore_client(service, "us-east-1", max_attempts=max_attempts)
    assert not isinstance(full, leanclient.LeanClient)
    return lean, full


def outcome(server: CannedServer, call: Any, params: dict[str, Any]) -> tuple[Any, list[Request]]:
    """What `call(**params)` answered or raised (comparable), and the requests it made."""
    from botocore.exceptions import ClientError

    before = len(server.requests)
    try:
        answer = call(**params)
    except ClientError as exc:
        meta = exc.response.get("ResponseMetadata", {})
        result: Any = (
            "ClientError",
            exc.response["Error"],
            str(exc),
            meta.get("HTTPStatusCode"),
            meta.get("MaxAttemptsReached", False),
        )
    except Exception as exc:  # botocore's own exceptions
        result = (type(exc).__name__, sorted(getattr(exc, "kwargs", {})))
    else:
        answer = dict(answer)
        meta = answer.pop("ResponseMetadata")
        result = ("answer", answer, meta["HTTPStatusCode"], meta.get("RequestId"))
    return result, server.requests[before:]


def wire(request: Request) -> dict[str, Any]:
    """What a service reads of a request: method, path, query, bearer, content type, body."""
    parts = urlsplit(request.path)
    return {
        "method": request.method,
        "path": parts.path,
        "query": sorted(parse_qsl(parts.query, keep_blank_values=True)),
        "bearer": request.headers.get(leanclient.BEARER_HEADER),
        "content-type": request.headers.get("content-type"),
        "body": json.loads(request.body) if request.body.strip() else None,
    }


# --- the table is botocore's model ------------------------------------------------------------


@pytest.mark.parametrize("service", sorted(leanclient.OPERATIONS))
def test_the_operations_are_botocores_model(service: str) -> None:
    import botocore.session
    from botocore import xform_name

    model = botocore.session.get_session().get_service_model(service)
    assert model.protocol == "rest-json"
    assert leanclient.SERVICES[service][0] == model.metadata["endpointPrefix"]
    for method, operation in leanclient.OPERATIONS[service].items():
        op = model.operation_model(operation.name)
        assert xform_name(operation.name) == method
        assert (op.http["method"], op.http["requestUri"]) == (operation.method, operation.path)
        assert op.input_shape is not None
        members = op.input_shape.members
        assert set(operation.required) == set(op.input_shape.required_members)
        placed: dict[str, tuple[str | None, str | None]] = {}
        for name, shape in members.items():
            placed[name] = (shape.serialization.get("location"), shape.serialization.get("name"))
            if shape.type_name == "list":
                assert name in operation.lists
                assert shape.member.type_name == "string"  # type: ignore[attr-defined]
            elif shape.type_name == "integer":
                assert name in operation.integers
                assert (shape.metadata.get("min"), shape.metadata.get("max")) == (1, 100)
            else:
                assert shape.type_name == "string"
        ours = {
            **{m: ("querystring", w) for m, w in operation.query.items()},
            **{m: ("header", w) for m, w in operation.headers.items()},
            **{m: (None, None) for m in operation.body},
        }
        assert ours == placed
        answer = op.output_shape.members if op.output_shape is not None else {}
        assert tuple(answer) == operation.answer
        for shape in answer.values():  # every answer field is in the body
            assert "location" not in shape.serialization
            assert shape.type_name != "timestamp"
    for name, result_key in leanclient.PAGINATORS.items() if service == "sso" else ():
        config = (
            botocore.session.get_session()
            .get_paginator_model(service)
            .get_paginator("".join(part.title() for part in name.split("_")))
        )
        assert config == {
            "input_token": "nextToken",
            "output_token": "nextToken",
            "limit_key": "maxResults",
            "result_key": result_key,
        }


# --- the same requests, answers and errors ----------------------------------------------------


@pytest.mark.parametrize(("service", "method", "params"), CALLS)
def test_the_requests_are_botocores(
    server: CannedServer, service: str, method: str, params: dict[str, Any]
) -> None:
    lean, full = both(service)
    server.play(Answer(body=b'{"ok": true}', headers=JSON))
    got_lean, lean_requests = outcome(server, getattr(lean, method), params)
    got_full, full_requests = outcome(server, getattr(full, method), params)
    assert got_lean == got_full
    assert [wire(r) for r in lean_requests] == [wire(r) for r in full_requests]
    assert len(lean_requests) == 1


ANSWERS = {
    "json answer": Answer(
        body=b'{"roleCredentials": {"accessKeyId": "AKIA", "expiration": 1767225600000}}',
        headers=(*JSON, ("x-amzn-RequestId", "req-1")),
    ),
    "empty answer": Answer(body=b"", headers=()),
    "error type header": Answer(
        400,
        b'{"error": "invalid_grant", "error_description": "Invalid refresh token"}',
        (*JSON, ("x-amzn-ErrorType", "InvalidGrantException:http://internal.amazon.com/")),
    ),
    "namespaced __type": Answer(
        400, b'{"__type": "com.amazon.sso#InvalidRequestException", "message": "bad"}', JSON
    ),
    "code in body": Answer(403, b'{"code": "ForbiddenException", "Message": "No access"}', JSON),
    "unauthorized": Answer(
        401,
        b'{"message": "Session token not found or invalid"}',
        (*JSON, ("x-amzn-ErrorType", "UnauthorizedException")),
    ),
    "text body": Answer(400, b"not json at all", (("Content-Type", "text/plain"),)),
    "empty 404": Answer(404, b"", ()),
    "throttled": Answer(
        429,
        b'{"message": "Rate exceeded"}',
        (*JSON, ("x-amzn-ErrorType", "TooManyRequestsException")),
    ),
    "html 502": Answer(
        502, b"<html><body>Bad Gateway</body></html>", (("Content-Type", "text/html"),)
    ),
    "empty 503": Answer(503, b"", ()),
    "json 500": Answer(
        500, b'{"message": "oops"}', (*JSON, ("x-amzn-ErrorType", "InternalServerException"))
    ),
    "slow down (not retried)": Answer(
        400, b'{"error": "slow_down"}', (*JSON, ("x-amzn-ErrorType", "SlowDownException"))
    ),
}


@pytest.mark.parametrize("max_attempts", [1, 4])
@pytest.mark.parametrize("case", sorted(ANSWERS))
def test_answers_errors_and_retries_are_botocores(
    server: CannedServer, case: str, max_attempts: int
) -> None:
    service, method, params = CALLS[0] if "grant" not in case else CALLS[6]
    lean, full = both(service, max_attempts)
    server.play(ANSWERS[case])
    got_lean, lean_requests = outcome(server, getattr(lean, method), params)
    got_full, full_requests = outcome(server, getattr(full, method), params)
    assert got_lean == got_full
    assert len(lean_requests) == len(full_requests)
    retried = case in ("throttled", "html 502", "empty 503", "json 500")
    assert len(lean_requests) == (max_attempts + 1 if retried else 1)  # max_attempts: retries


def test_a_retry_that_succeeds_answers_as_botocore_does(server: CannedServer) -> None:
    service, method, params = CALLS[0]
    lean, full = both(service)
    for client in (lean, full):
        server.play(ANSWERS["throttled"], ANSWERS["empty 503"], ANSWERS["json answer"])
        answer = getattr(client, method)(**params)
        assert answer["ResponseMetadata"]["RetryAttempts"] == 2
        assert len(server.requests) == 3


@pytest.mark.parametrize("max_attempts", [1, 3])
def test_a_closed_port_is_botocores_endpoint_connection_error(
    monkeypatch: pytest.MonkeyPatch, max_attempts: int
) -> None:
    from botocore.exceptions import EndpointConnectionError

    monkeypatch.setenv("AWS_ENDPOINT_URL_SSO", "http://127.0.0.1:9")
    monkeypatch.setattr(leanclient, "_clients", {})
    waits: list[float] = []
    monkeypatch.setattr(leanclient, "sleep", waits.append)
    lean = clients.client("sso", "us-east-1", max_attempts=max_attempts)
    assert isinstance(lean, leanclient.LeanClient)
    with pytest.raises(EndpointConnectionError) as raised:
        lean.get_role_credentials(roleName="r", accountId="1", accessToken="t")
    assert raised.value.kwargs["endpoint_url"].startswith(
        "http://127.0.0.1:9/federation/credentials?"
    )
    assert len(waits) == max_attempts
    assert all(0 <= wait <= leanclient.OTHER_SCALE * 2**n for n, wait in enumerate(waits))
    error = clients.to_app_error(raised.value, what="getting credentials")
    assert "cannot reach the AWS endpoint http://127.0.0.1:9/federation/credentials" in str(error)


def test_an_answer_that_does_not_come_is_a_read_timeout(
    server: CannedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    from botocore.exceptions import ReadTimeoutError

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepts connections (the kernel does), never answers
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SSO", f"http://127.0.0.1:{listener.getsockname()[1]}")
        monkeypatch.setattr(leanclient, "READ_TIMEOUT", 0.2)
        lean: Any = clients.client("sso", "us-east-1", max_attempts=2)
        with pytest.raises(ReadTimeoutError):
            lean.get_role_credentials(roleName="r", accountId="1", accessToken="t")
    finally:
        listener.close()


def test_pages_are_botocores(server: CannedServer) -> None:
    lean, full = both("sso")
    pages = [
        Answer(body=b'{"accountList": [{"accountId": "1"}], "nextToken": "t2"}', headers=JSON),
        Answer(body=b'{"accountList": [{"accountId": "2"}]}', headers=JSON),
    ]
    seen = []
    for client in (lean, full):
        server.play(*pages)
        got = client.get_paginator("list_accounts").paginate(
            accessToken="tok", PaginationConfig={"PageSize": 1}
        )
        accounts = [a["accountId"] for page in got for a in page["accountList"]]
        seen.append((accounts, [wire(r) for r in server.requests]))
    assert seen[0] == seen[1]
    assert seen[0][0] == ["1", "2"]


@pytest.mark.parametrize(
    "params",
    [
        {"roleName": "r", "accountId": "", "accessToken": "t"},
        {"roleName": "r", "accessToken": "t"},
        {"roleName": "r", "accountId": "1", "accessToken": "t", "extra": "x"},
        {"roleName": 5, "accountId": "1", "accessToken": "t"},
    ],
)
def test_parameters_botocore_would_refuse_are_botocores_to_refuse(
    server: CannedServer, params: dict[str, Any]
) -> None:
    lean, full = both("sso")
    server.play(ANSWERS["json answer"])
    got_lean, _ = outcome(server, lean.get_role_credentials, params)
    got_full, _ = outcome(server, full.get_role_credentials, params)
    assert got_lean == got_full


# --- where it sends, and when it leaves the call to botocore ----------------------------------


@pytest.mark.parametrize("service", sorted(leanclient.SERVICES))
@pytest.mark.parametrize(
    "region",
    ["us-east-1", "eu-west-3", "ap-southeast-2", "sa-east-1", "il-central-1", "ca-west-1"],
)
def test_the_endpoint_is_botocores(
    service: str, region: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import botocore.session
    from botocore import UNSIGNED
    from botocore.config import Config

    for var in ("AWS_ENDPOINT_URL_SSO", "AWS_ENDPOINT_URL_SSO_OIDC"):
        monkeypatch.delenv(var, raising=False)
    client = botocore.session.Session().create_client(
        service, region_name=region, config=Config(signature_version=UNSIGNED)
    )
    assert leanclient.endpoint(service, region) == client.meta.endpoint_url


@pytest.mark.parametrize(
    "region", ["cn-north-1", "us-gov-west-1", "us-iso-east-1", "eusc-de-east-1", "US-EAST-1", ""]
)
def test_other_partitions_are_botocores(region: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL_SSO_OIDC", raising=False)
    assert leanclient.endpoint("sso-oidc", region) is None


@pytest.mark.parametrize(
    "setting",
    [
        "endpoint_url = https://sso.example.com",
        "use_fips_endpoint = true",
        "use_dualstack_endpoint = true",
        "ca_bundle = /etc/ca.pem",
        "services = mine",
    ],
)
def test_endpoint_settings_in_the_config_are_botocores(
    server: CannedServer, aws_config: Any, setting: str
) -> None:
    assert isinstance(clients.client("sso", "us-east-1"), leanclient.LeanClient)
    aws_config(f"[default]\n{setting}\n")
    assert leanclient.endpoint("sso", "us-east-1") is None
    assert not isinstance(clients.client("sso", "us-east-1"), leanclient.LeanClient)


@pytest.mark.parametrize(
    "variable", ["AWS_ENDPOINT_URL", "AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT"]
)
def test_endpoint_settings_in_the_environment_are_botocores(
    server: CannedServer, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "true" if "USE" in variable else server.url)
    assert not isinstance(clients.client("sso-oidc", "us-east-1"), leanclient.LeanClient)


def test_a_proxy_is_botocores(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("AWS_ENDPOINT_URL_SSO", "https_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    assert leanclient.endpoint("sso", "us-east-1") is None
    monkeypatch.setenv("NO_PROXY", ".amazonaws.com")
    assert leanclient.endpoint("sso", "us-east-1") == "https://portal.sso.us-east-1.amazonaws.com"
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSO", "http://127.0.0.1:4567")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert leanclient.endpoint("sso", "us-east-1") == "http://127.0.0.1:4567"


@pytest.mark.parametrize(
    "proxies",
    [
        {},
        {"NO_PROXY": "127.0.0.1"},
        {"https_proxy": "http://127.0.0.1:9"},
        {"HTTPS_PROXY": ""},
        {"HTTP_PROXY": "http://127.0.0.1:9"},
        {"ALL_PROXY": "http://127.0.0.1:9"},
        {"Https_Proxy": "http://127.0.0.1:9", "no_proxy": "*.example.com"},
    ],
)
@pytest.mark.parametrize("url", ["https://portal.sso.us-east-1.amazonaws.com", "http://10.1.2.3"])
def test_the_proxy_shortcut_agrees_with_urllib(
    monkeypatch: pytest.MonkeyPatch, proxies: dict[str, str], url: str
) -> None:
    """uses_proxy skips importing urllib.request when no proxy variable of the scheme is set;
    its answer is still urllib's (what botocore asks)."""
    from urllib.request import getproxies, proxy_bypass

    for name in [n for n in os.environ if n.lower().endswith("_proxy")]:
        monkeypatch.delenv(name)
    for name, value in proxies.items():
        monkeypatch.setenv(name, value)
    netloc = urlsplit(url).netloc
    expected = bool(getproxies().get(urlsplit(url).scheme)) and not proxy_bypass(netloc)
    assert leanclient.uses_proxy(url) is expected


def test_a_ca_bundle_that_cannot_load_is_botocores_to_word(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL_SSO", raising=False)
    monkeypatch.setattr(leanclient, "_clients", {})
    monkeypatch.setenv("AWS_CA_BUNDLE", str(tmp_path / "missing.pem"))
    assert not isinstance(clients.client("sso", "us-east-1"), leanclient.LeanClient)
    monkeypatch.delenv("AWS_CA_BUNDLE")
    lean = clients.client("sso", "us-east-1")
    assert isinstance(lean, leanclient.LeanClient)
    assert lean.meta.endpoint_url == "https://portal.sso.us-east-1.amazonaws.com"


# --- what the always-on work loads ------------------------------------------------------------

ALWAYS_ON = """
import sys
from datetime import timedelta
from aws_sso_tray.aws import portal, profiles, rolecreds, tokens
from aws_sso_tray.login import flows
profile = profiles.get_profile("dev")
flows.login(profile.session, flow="pkce", timeout=60)  # the browser stand-in presses Allow
token = tokens.read_token(profile.session)
renewed = tokens.valid_token(profile.session, now=token.expires_at - timedelta(minutes=1))
assert renewed.access_token != token.access_token, "not renewed"
rolecreds.fetch_credentials(profile, renewed.access_token)
portal.scan(renewed.access_token, profile.session.region)
assert flows.logout(profile.session).revoke_error is None
heavy = [m for m in ("botocore.session", "botocore.client", "botocore.endpoint", "urllib3")
         if m in sys.modules]
print("HEAVY", heavy)
"""
OPS = ("RegisterClient", "CreateToken", "GetRoleCredentials", "ListAccounts", "Logout")


def test_login_renewal_fetch_scan_and_logout_load_no_botocore_client(
    aws_config: Any, emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the tray and the daemon do all day, in a fresh interpreter: an auth-code login, a
    token renewal, a role-credentials fetch, a portal scan and a logout, each reaching the
    emulator, and none of them loads botocore's session, client or urllib3."""
    from sso_helpers import CORP_DEV_CONFIG, STANDIN_BROWSER, run_stock_botocore

    aws_config(CORP_DEV_CONFIG)
    monkeypatch.setenv("BROWSER", STANDIN_BROWSER)
    before = {op: emulator.count(op) for op in OPS}
    output = run_stock_botocore(ALWAYS_ON)  # a fresh interpreter with this test's environment
    assert "HEAVY []" in output, output
    made = {op: emulator.count(op) - before[op] for op in OPS}
    assert made["RegisterClient"] == 1
    assert made["CreateToken"] == 2  # the login's code exchange, then the renewal
    assert made["GetRoleCredentials"] == 1
    assert made["ListAccounts"] >= 1
    assert made["Logout"] == 1


def test_the_standard_regions_are_botocores_aws_partition() -> None:
    """Every region botocore's endpoint data names is `standard_region` exactly when botocore
    puts it in the `aws` partition (the console sign-in and our endpoints rely on it)."""
    import botocore.session

    session = botocore.session.get_session()
    regions = {
        region: partition["partition"]
        for partition in session.get_component("data_loader").load_data("endpoints")["partitions"]
        for region in partition["regions"]
    }
    assert len(regions) > 40
    for region, partition in regions.items():
        assert session.get_partition_for_region(region) == partition
        assert leanclient.standard_region(region) is (partition == "aws"), region
