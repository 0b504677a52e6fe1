"""The access portal's view of the signed-in user: which accounts, and which roles in each.

Owns ListAccounts / ListAccountRoles (the `sso` service) and the profile names `configure`
suggests for the roles found.

Throttling: the portal answers TooManyRequestsException (429) when called too fast. botocore's
standard retry mode, which `awsclients` configures, already retries it (it is in the mode's
throttling codes, with truncated exponential backoff and full jitter, at most 20 s a wait, and a
cheaper retry-quota cost for throttling than for other errors), so this module adds no retry
loop of its own: it asks for a client with more attempts than the interactive default
(`SCAN_MAX_ATTEMPTS`, a scan of a few hundred accounts may meet several throttled periods) and
bounds its own concurrency to `MAX_WORKERS` calls at once. A throttle that outlasts the attempts
becomes a ThrottledError; an expired token a LoginNeededError (`clients.translate_errors`).

Pagination: botocore's paginators (the model's `paginators-1.json`: nextToken / maxResults).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aws_sso_tray.aws import clients

if TYPE_CHECKING:
    from types_boto3_sso import SSOClient

MAX_WORKERS = 6  # the portal throttles bulk callers: 5-8 requests in flight at most
SCAN_MAX_ATTEMPTS = 8
PAGE_SIZE = 100


__all__ = [
    "MAX_WORKERS",
    "PortalAccount",
    "PortalRole",
    "list_accounts",
    "list_roles",
    "scan",
]


@dataclass(frozen=True)
class PortalAccount:
    account_id: str
    name: str
    email: str


@dataclass(frozen=True)
class PortalRole:
    """One role the user may assume, in one account."""

    account_id: str
    account_name: str
    role_name: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.account_id, self.role_name)


def _client(region: str) -> SSOClient:
    return clients.portal_client(region, max_attempts=SCAN_MAX_ATTEMPTS)


def list_accounts(access_token: str, region: str) -> tuple[PortalAccount, ...]:
    """Every account the token's user is assigned to, in the portal's order."""
    client = _client(region)
    accounts: list[PortalAccount] = []
    with clients.translate_errors("listing your AWS accounts", login_hint=_LOGIN_HINT):
        pages = client.get_paginator("list_accounts").paginate(
            accessToken=access_token, PaginationConfig={"PageSize": PAGE_SIZE}
        )
        for page in pages:
            for item in page.get("accountList", []):
                accounts.append(
                    PortalAccount(
                        str(item.get("accountId", "")),
                        str(item.get("accountName", "")),
                        str(item.get("emailAddress", "")),
                    )
                )
    found = tuple(a for a in accounts if a.account_id)
    from aws_sso_tray.aws import accountnames

    accountnames.remember({a.account_id: a.name for a in found})  # for the tray menu's names
    return found


def list_roles(access_token: str, region: str, account: PortalAccount) -> tuple[PortalRole, ...]:
    """The roles the token's user has in `account`."""
    client = _client(region)
    roles: list[PortalRole] = []
    with clients.translate_errors(
        f"listing your roles in account {account.account_id}", login_hint=_LOGIN_HINT
    ):
        pages = client.get_paginator("list_account_roles").paginate(
            accessToken=access_token,
            accountId=account.account_id,
            PaginationConfig={"PageSize": PAGE_SIZE},
        )
        for page in pages:
            for item in page.get("roleList", []):
                if item.get("roleName"):
                    roles.append(PortalRole(account.account_id, account.name, item["roleName"]))
    return tuple(roles)


def scan(
    access_token: str, region: str, *, max_workers: int = MAX_WORKERS
) -> tuple[PortalRole, ...]:
    """Every (account, role) of the user, sorted by account name, account id, role name.

    The accounts' roles are listed `max_workers` at a time; the first failure is raised.
    """
    accounts = list_accounts(access_token, region)
    workers = max(1, min(max_workers, len(accounts)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="portal-scan") as pool:
        per_account = list(pool.map(lambda a: list_roles(access_token, region, a), accounts))
    roles = [role for found in per_account for role in found]
    return tuple(sorted(roles, key=lambda r: (r.account_name.lower(), r.account_id, r.role_name)))


_LOGIN_HINT = "run `aws-sso-tray configure` again to sign in"
