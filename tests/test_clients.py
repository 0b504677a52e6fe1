"""The AWS clients: one botocore session and one client per (service, region) for the process."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from aws_sso_tray.aws import clients, leanclient


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(clients, "_clients", {})
    monkeypatch.setattr(clients, "_session", None)
    monkeypatch.setattr(leanclient, "_clients", {})
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSO", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSO_OIDC", "http://127.0.0.1:9")
    yield


def test_profiles_in_one_region_share_one_client_and_all_share_one_session(fresh: None) -> None:
    for make in (clients.client, clients.botocore_client):
        first = make("sso", "us-east-1")
        assert make("sso", "us-east-1") is first
        other_region = make("sso", "eu-west-1")
        oidc = make("sso-oidc", "us-east-1")
        assert len({id(first), id(other_region), id(oidc)}) == 3  # one per service and region
        if make is clients.client:  # the lean clients: no botocore client, no session yet
            assert not clients._clients and clients._session is None
    assert len(clients._clients) == 3
    assert clients._session is not None  # one session made every botocore client


def test_the_slim_endpoint_data_resolves_our_services_as_the_full_file_does() -> None:
    import botocore.session
    from botocore import UNSIGNED
    from botocore.config import Config

    full = botocore.session.Session()
    full.set_config_variable("credentials_file", os.devnull)
    slim = clients._new_session()
    for service in ("sso", "sso-oidc", "sts"):
        for region in ("us-east-1", "eu-west-1", "cn-north-1", "us-gov-west-1"):
            for fips in (False, True):
                config = Config(signature_version=UNSIGNED, use_fips_endpoint=fips)
                made = [
                    s.create_client(service, region_name=region, config=config)
                    for s in (full, slim)
                ]
                seen = [
                    (c.meta.endpoint_url, c.meta.region_name, c.meta.config.signature_version)  # type: ignore[attr-defined]
                    for c in made
                ]
                assert seen[0] == seen[1], (service, region, fips)
    resolver = slim._get_internal_component("endpoint_resolver")  # type: ignore[attr-defined]
    assert all(
        set(p["services"]) <= set(clients.ENDPOINT_PREFIXES)
        for p in resolver._endpoint_data["partitions"]
    )


def test_endpoints_json_is_read_with_only_our_services_and_the_same_answers() -> None:
    import json
    from pathlib import Path

    import botocore

    text = (Path(botocore.__file__).parent / "data" / "endpoints.json").read_text()
    expected = json.loads(text)
    for partition in expected["partitions"]:
        services = partition["services"]
        partition["services"] = {k: services[k] for k in services if k in ("oidc", "sts")}
    assert clients._endpoints_of(text, ("oidc", "sts")) == expected
    # Another shape: decoded whole, cut down all the same.
    odd = '{"version": 3, "partitions": [{"services": {"sts": {}, "ec2": {}}, "x": [1]}]}'
    assert clients._endpoints_of(odd, ("sts",))["partitions"] == [
        {"services": {"sts": {}}, "x": [1]}
    ]
    assert clients._endpoints_of('{"partitions": 3}', ("sts",)) == {"partitions": 3}
