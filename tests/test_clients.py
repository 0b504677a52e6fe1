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
    assert len({id(first), id(other_region), id(oidc)}) == 3  # one client per service and region
    assert len(clients._clients) == 3
    assert clients._session is not None  # one session made every client
