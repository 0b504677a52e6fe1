"""The AWS clients: one botocore session and one client per (service, region) for the process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from aws_sso_tray.aws import clients


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(clients, "_clients", {})
    monkeypatch.setattr(clients, "_session", None)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSO", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSO_OIDC", "http://127.0.0.1:9")
    yield


def test_profiles_in_one_region_share_one_client_and_all_share_one_session(fresh: None) -> None:
    first = clients.portal_client("us-east-1")
    assert clients.portal_client("us-east-1") is first
    other_region = clients.portal_client("eu-west-1")
    oidc = clients.oidc_client("us-east-1")
    assert other_region is not first and oidc is not first
    assert len(clients._clients) == 3
    assert clients._session is not None  # one session made every client


def test_the_endpoint_resolver_keeps_only_our_services(fresh: None) -> None:
    portal = clients.portal_client("us-gov-west-1")
    session = clients._session
    assert session is not None
    resolver = session._internal_components.get_component("endpoint_resolver")  # type: ignore[attr-defined]
    for partition in resolver._endpoint_data["partitions"]:
        assert set(partition["services"]) <= set(clients.SERVICES)
    loader = session.get_component("data_loader")
    assert ("load_data_with_path", "endpoints") not in loader._cache  # no second, full copy
    # resolution still works across partitions (the override only changes the URL)
    assert resolver.construct_endpoint("sso", "cn-north-1")["partition"] == "aws-cn"
    assert resolver.construct_endpoint("sso-oidc", "us-gov-west-1")["partition"] == "aws-us-gov"
    assert portal.meta.region_name == "us-gov-west-1"


def test_slim_endpoints_keeps_partition_metadata() -> None:
    data = {
        "version": 3,
        "partitions": [
            {
                "partition": "aws",
                "regions": {"us-east-1": {}},
                "services": {"sso": {"endpoints": {}}, "s3": {}, "sso-oidc": {}},
            }
        ],
    }
    slim = clients.slim_endpoints(data)
    assert slim["version"] == 3
    assert slim["partitions"][0]["regions"] == {"us-east-1": {}}
    assert set(slim["partitions"][0]["services"]) == {"sso", "sso-oidc"}
    assert set(data["partitions"][0]["services"]) == {"sso", "s3", "sso-oidc"}  # not changed
