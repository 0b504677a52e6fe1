"""Profile names from a template: `{account_name}-{role_name}` made a valid, unique name.

A template names each generated profile from the portal's role: `{account_id}`,
`{account_name}`, `{role_name}`, `{session}` (the sso-session) and `{region}` (the profile's
region, else the Identity Center's). The default, `{role_name}-{account_id}`, is what
`aws configure sso` suggests (`ReadOnly-111111111111`).

What a name may hold (the choice, and why): letters, digits and `. _ - + = @ ,`, not starting
with `-` or `.`: exactly what `configedit.check_name` accepts. botocore maps `[profile NAME]`
with `shlex.split`, so a space or a quote would split or swallow the name; configparser ends
the header at the last `]`; and other SDKs' parsers (Go, JavaScript) are stricter than
botocore, so one plain word is the name every tool reads alike. Accents are folded to ASCII
(`Büro` -> `Buro`), any other run of characters becomes one `-`, and `-`/`.` at the ends go.
Case is kept: profile names are case-sensitive in every SDK, role names are too (`Admin` and
`admin` can both exist), and `aws configure sso` keeps it; lower-casing would merge names that
the portal keeps apart. A name already taken (in the file, or earlier in the same batch) gets the
first free `-2`, `-3`... suffix, in the order the roles come.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Iterable

from aws_sso_tray.aws.portal import PortalRole
from aws_sso_tray.errors import ConfigError

__all__ = ["DEFAULT_TEMPLATE", "FIELDS", "check_template", "render", "unique_names"]

DEFAULT_TEMPLATE = "{role_name}-{account_id}"
FIELDS = ("account_id", "account_name", "role_name", "session", "region")
_UNSAFE = re.compile(r"[^A-Za-z0-9._+=@,-]+")


def check_template(template: str) -> str:
    """`template`, stripped, when it names only known fields; ConfigError otherwise."""
    text = template.strip()
    allowed = ", ".join("{" + f + "}" for f in FIELDS)
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise ConfigError(
            f"name template {template!r} cannot be read ({exc}): use {allowed}"
        ) from None
    fields = [(name, spec, conv) for _, name, spec, conv in parts if name is not None]
    for name, spec, conv in fields:
        if name not in FIELDS or spec or conv:
            raise ConfigError(
                f"name template {template!r} uses {{{name}}}: a template may use {allowed}"
            )
    if not {"account_id", "account_name", "role_name"} & {name for name, _, _ in fields}:
        raise ConfigError(
            f"name template {template!r} names no account or role: every profile would get "
            f"the same name; use {allowed}"
        )
    return text


def sanitise(raw: str) -> str:
    """`raw` as a profile name every parser reads as one word (see the module docstring)."""
    folded = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"-{2,}", "-", _UNSAFE.sub("-", folded)).strip("-.")


def render(template: str, role: PortalRole, session: str, region: str) -> str:
    """The sanitised name `template` gives `role` (the account id when nothing is left)."""
    raw = template.format(
        account_id=role.account_id,
        account_name=role.account_name,
        role_name=role.role_name,
        session=session,
        region=region,
    )
    return sanitise(raw) or role.account_id


def unique_names(
    roles: Iterable[PortalRole], taken: Iterable[str], template: str, session: str, region: str
) -> dict[tuple[str, str], str]:
    """A name per role (keyed by `role.key`), none in `taken` nor used twice."""
    used = set(taken)
    names: dict[tuple[str, str], str] = {}
    for role in roles:
        base = render(template, role, session, region)
        name, n = base, 1
        while name in used:
            n += 1
            name = f"{base}-{n}"
        used.add(name)
        names[role.key] = name
    return names
