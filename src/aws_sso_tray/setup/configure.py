"""First-run setup, like `aws configure sso`: an sso-session, a sign-in, and profiles to choose.

The flow, independent of any face:

1. `write_session(request)`: validate the start URL and region, pick the session name (an
   existing `[sso-session]` with the same start URL is reused; otherwise the first label of the
   start URL's host, `d-1234567890` or `mycorp`, with `-2`... when taken by another URL) and
   add or update `[sso-session NAME]` with `sso_registration_scopes = sso:account:access`.
2. `sign_in(session)`: a valid cached token is reused; otherwise `flows.login` (the browser
   opens).
3. `offer_roles(session, token)`: the portal's accounts and roles (`portal.scan`), each marked
   as already configured (some profile in the file names that start URL, account and role) or
   new with a unique profile name from the session's name template (`profilenames`); and the
   *prunable* profiles: ones we generated, untouched since, for this start URL, whose role the
   portal no longer lists.
4. `write_selection(offer, selection)`: write the chosen new profiles and remove the chosen
   prunable ones in one locked edit (`configedit.apply`).

`configure(request, choose)` runs all four with a callback that turns the offer into a selection;
`every_role` is the callback of `configure --non-interactive` (every new role, nothing pruned).
`rescan(name)` is "Sync accounts from the portal": the same steps for an existing session, adding
every new role and pruning every prunable profile, told in one line (`Outcome.summary`).

Each session's choices (its name template and the profiles' region) are remembered in our state
folder (`configure-sessions.json`, an `ownership.RecordFile` keyed by the config file), never in
the AWS config: a later configure or rescan names new profiles the same way.
The faces reach it through `aws_sso_tray.api`: the terminal's prompts are in `cli/setup.py`, the
page's in `configure_page`.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from aws_sso_tray.aws import portal
from aws_sso_tray.aws.portal import PortalRole
from aws_sso_tray.aws.profiles import SsoSession, display_path
from aws_sso_tray.aws.tokens import SsoToken
from aws_sso_tray.errors import ConfigError, LoginNeededError
from aws_sso_tray.files import configedit, paths
from aws_sso_tray.files.atomicfile import resolve_target
from aws_sso_tray.files.configedit import ConfigSnapshot, ProfileSpec, RoleProfile, SessionSpec
from aws_sso_tray.files.ownership import RecordFile
from aws_sso_tray.login.prompt import LoginPrompt
from aws_sso_tray.setup import profilenames

log = logging.getLogger(__name__)

__all__ = [
    "ConfigureRequest",
    "Outcome",
    "RoleChoice",
    "RoleOffer",
    "Selection",
    "configure",
    "default_session_name",
    "every_role",
    "offer_roles",
    "rescan",
    "sign_in",
    "validate_region",
    "validate_start_url",
    "write_selection",
    "write_session",
]

_REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")


@dataclass(frozen=True)
class ConfigureRequest:
    start_url: str
    region: str  # the Identity Center's region (sso_region)
    session_name: str | None = None  # None: reuse or derive (see module docstring)
    profile_region: str | None = None  # `region` written into each new profile
    name_template: str | None = None  # None: the session's remembered one, else the default


@dataclass(frozen=True)
class RoleChoice:
    role: PortalRole
    profile_name: str  # the existing profile's name when configured, else the suggested one
    configured: bool


@dataclass(frozen=True)
class RoleOffer:
    """What the portal offers to configure: each role (configured or new, with its profile
    name), the generated profiles whose role is gone, and the roles no profile can hold."""

    config_path: Path
    session: SsoSession
    profile_region: str | None
    choices: tuple[RoleChoice, ...]
    prunable: tuple[RoleProfile, ...]
    skipped: tuple[str, ...] = ()  # one warning per portal role no profile can hold
    name_template: str = profilenames.DEFAULT_TEMPLATE  # how the new choices were named

    @property
    def new_choices(self) -> tuple[RoleChoice, ...]:
        return tuple(c for c in self.choices if not c.configured)


@dataclass(frozen=True)
class Selection:
    add: tuple[tuple[str, str], ...] = ()  # (account_id, role_name) of new choices to write
    prune: tuple[str, ...] = ()  # names of prunable profiles to remove


@dataclass(frozen=True)
class Outcome:
    config_path: Path
    session_name: str
    added: tuple[str, ...]
    removed: tuple[str, ...]
    kept: tuple[str, ...]
    unchanged: int = 0  # portal roles that already had a profile
    skipped: tuple[str, ...] = ()  # one warning per portal role no profile can hold

    def summary(self) -> str:
        """What changed, in one line (the notice and the command's output)."""
        parts = [
            f"{len(names)} {what} ({_some(names)})"
            for names, what in (
                (self.added, "added"),
                (self.removed, "removed"),
                (self.kept, "kept, edited by hand"),
            )
            if names
        ]
        if not self.added and not self.removed:
            parts.insert(0, "no profile changed")
        parts.append(f"{self.unchanged} already in step")
        if self.skipped:
            parts.append(f"{len(self.skipped)} roles skipped (names the config cannot hold)")
        return f"sso-session {self.session_name}: " + ", ".join(parts)


def _some(names: tuple[str, ...], shown: int = 5) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


@dataclass(frozen=True)
class SessionChoices:
    """What a session was configured with, remembered for its next configure or rescan."""

    name_template: str = profilenames.DEFAULT_TEMPLATE
    profile_region: str | None = None


def _choices_from_json(raw: object) -> SessionChoices | None:
    if not isinstance(raw, dict):
        return None
    template, region = raw.get("name_template"), raw.get("profile_region")
    if not isinstance(template, str) or not (region is None or isinstance(region, str)):
        return None
    try:
        return SessionChoices(profilenames.check_template(template), region)
    except ConfigError:
        return None


def _choices_to_json(choices: SessionChoices) -> dict[str, str | None]:
    return {"name_template": choices.name_template, "profile_region": choices.profile_region}


# A lost record only means the default template next time; the profiles are matched by role.
_CHOICES = RecordFile(
    "configure-sessions.json", "configure choices", _choices_from_json, _choices_to_json
)


def remembered(session_name: str, config_path: Path | None = None) -> SessionChoices | None:
    """The choices `session_name` of this config file was last configured with, if any."""
    target = resolve_target(config_path or paths.aws_config_file())
    return _CHOICES.load(target).get(session_name)


def _remember(session_name: str, choices: SessionChoices, config_path: Path | None) -> None:
    target = resolve_target(config_path or paths.aws_config_file())
    if _CHOICES.load(target).get(session_name) != choices:
        _CHOICES.save(target, {session_name: choices})


# --------------------------------------------------------------------------------------------
# Validation


def validate_start_url(text: str) -> str:
    url = text.strip()
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname or any(c.isspace() for c in url):
        raise ConfigError(
            f"{url!r} is not an https URL: copy the AWS access portal URL from IAM Identity "
            "Center's settings (https://d-xxxxxxxxxx.awsapps.com/start)"
        )
    return url


def validate_region(text: str) -> str:
    region = text.strip()
    if not _REGION_RE.match(region):
        raise ConfigError(
            f"{region!r} is not an AWS region: use a code like us-east-1 or eu-west-1"
        )
    return region


def default_session_name(start_url: str, snapshot: ConfigSnapshot) -> str:
    """The existing session for `start_url`, else its host's first label, made unique."""
    existing = snapshot.session_for(start_url)
    if existing is not None:
        return existing
    host = urlsplit(start_url).hostname or "sso"
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", host.split(".")[0]).strip("-.") or "sso"
    name, n = base, 1
    while name in snapshot.sessions:
        n += 1
        name = f"{base}-{n}"
    return name


# --------------------------------------------------------------------------------------------
# The steps


def write_session(request: ConfigureRequest, config_path: Path | None = None) -> SsoSession:
    """Add or update the request's `[sso-session]`; return it as login and tokens use it."""
    path = config_path or paths.aws_config_file()
    start_url = validate_start_url(request.start_url)
    region = validate_region(request.region)
    snapshot = configedit.read_snapshot(path)
    name = request.session_name or default_session_name(start_url, snapshot)
    configedit.check_name(name, "sso-session")
    current = snapshot.sessions.get(name, {}).get("sso_start_url")
    if current and current.rstrip("/") != start_url.rstrip("/"):
        raise ConfigError(
            f"[sso-session {name}] in {display_path(path)} is for {current}: choose another "
            "session name"
        )
    spec = SessionSpec(name, start_url, region)
    configedit.apply(path, session=spec)
    return SsoSession(name, start_url, region, spec.registration_scopes)


def sign_in(
    session: SsoSession,
    *,
    on_prompt: Callable[[LoginPrompt], None] | None = None,
    cancel: threading.Event | None = None,
    force: bool = False,
) -> SsoToken:
    """A usable token for `session`: the cached one when valid, else a browser sign-in."""
    from aws_sso_tray.aws import tokens
    from aws_sso_tray.login import flows

    if not force:
        try:
            return tokens.valid_token(session)
        except LoginNeededError:
            pass
    return flows.login(session, on_prompt=on_prompt, cancel=cancel, join=True)


def offer_roles(
    session: SsoSession,
    token: SsoToken,
    *,
    config_path: Path | None = None,
    profile_region: str | None = None,
    name_template: str | None = None,
) -> RoleOffer:
    """The portal's roles as configured or new (named by `name_template`, else the session's
    remembered template, else the default), and the prunable profiles."""
    path = config_path or paths.aws_config_file()
    known = remembered(session.name or "", path)
    if name_template is None:
        name_template = known.name_template if known else profilenames.DEFAULT_TEMPLATE
    template = profilenames.check_template(name_template)
    roles = portal.scan(token.access_token, session.region)
    snapshot = configedit.read_snapshot(path)
    existing = {
        (p.account_id, p.role_name): p.name
        for p in snapshot.role_profiles
        if p.start_url is not None and _same_url(p.start_url, session.start_url)
    }
    roles, skipped = _writable(roles)
    new = [r for r in roles if r.key not in existing]
    suggested = profilenames.unique_names(
        new,
        snapshot.profile_names,
        template,
        session.name or "",
        profile_region or session.region,
    )
    choices = tuple(
        RoleChoice(r, existing[r.key], True)
        if r.key in existing
        else RoleChoice(r, suggested[r.key], False)
        for r in roles
    )
    live = {r.key for r in roles}
    prunable = tuple(
        p
        for p in snapshot.role_profiles
        if p.generated
        and p.start_url is not None
        and _same_url(p.start_url, session.start_url)
        and (p.account_id, p.role_name) not in live
    )
    return RoleOffer(path, session, profile_region, choices, prunable, skipped, template)


def _writable(roles: tuple[PortalRole, ...]) -> tuple[tuple[PortalRole, ...], tuple[str, ...]]:
    """The roles a profile can name, and a warning for each other one.

    A portal name the AWS config cannot hold (a role called " lead": configparser strips the
    space, so the profile would name another role) must not cost the user the other roles.
    """
    usable: list[PortalRole] = []
    skipped: list[str] = []
    for role in roles:
        try:
            configedit.check_value(role.account_id)
            configedit.check_value(role.role_name)
        except ConfigError:
            warning = (
                f"skipped role {role.role_name!r} of account {role.account_name} "
                f"({role.account_id}): the AWS config cannot hold that name (it has spaces at "
                "an end, a line break or nothing); the other roles are unaffected"
            )
            log.warning("configure: %s", warning)
            skipped.append(warning)
            continue
        usable.append(role)
    return tuple(usable), tuple(skipped)


def write_selection(offer: RoleOffer, selection: Selection) -> Outcome:
    chosen = set(selection.add)
    name = offer.session.name or ""
    add = [
        ProfileSpec(c.profile_name, name, c.role.account_id, c.role.role_name, offer.profile_region)
        for c in offer.new_choices
        if c.role.key in chosen
    ]
    prunable = {p.name for p in offer.prunable}
    remove = [n for n in selection.prune if n in prunable]
    result = configedit.apply(offer.config_path, add=add, remove=remove)
    _remember(name, SessionChoices(offer.name_template, offer.profile_region), offer.config_path)
    unchanged = len(offer.choices) - len(offer.new_choices)
    return Outcome(
        offer.config_path,
        name,
        result.added,
        result.removed,
        result.kept,
        unchanged,
        offer.skipped,
    )


def configure(
    request: ConfigureRequest,
    choose: Callable[[RoleOffer], Selection],
    *,
    config_path: Path | None = None,
    on_prompt: Callable[[LoginPrompt], None] | None = None,
    cancel: threading.Event | None = None,
) -> Outcome:
    """The whole flow; `choose` sees the offer and says what to write and what to prune."""
    if request.name_template is not None:
        profilenames.check_template(request.name_template)  # before anything is written
    session = write_session(request, config_path)
    offer = _signed_in_offer(
        session,
        config_path=config_path,
        profile_region=request.profile_region,
        name_template=request.name_template,
        on_prompt=on_prompt,
        cancel=cancel,
    )
    return write_selection(offer, choose(offer))


def every_role(offer: RoleOffer) -> Selection:
    """The choice of `configure --non-interactive`: every new role, nothing pruned."""
    return Selection(tuple(c.role.key for c in offer.new_choices))


def rescan(
    session_name: str,
    *,
    config_path: Path | None = None,
    name_template: str | None = None,
    on_prompt: Callable[[LoginPrompt], None] | None = None,
    cancel: threading.Event | None = None,
) -> Outcome:
    """Bring `session_name`'s profiles in step with the portal: add one for every new role (named
    as the session remembers), remove the generated ones whose role is gone (never one edited
    by hand or written by someone else). Signs in when the session needs it."""
    path = config_path or paths.aws_config_file()
    snapshot = configedit.read_snapshot(path)
    values = snapshot.sessions.get(session_name)
    if values is None or not values.get("sso_start_url") or not values.get("sso_region"):
        known = ", ".join(sorted(snapshot.sessions)) or "none"
        raise ConfigError(
            f"no [sso-session {session_name}] with sso_start_url and sso_region in "
            f"{display_path(path)} (sessions there: {known}): run `aws-sso-tray configure` first"
        )
    scopes = tuple(
        s.strip() for s in values.get("sso_registration_scopes", "").split(",") if s.strip()
    )
    session = SsoSession(session_name, values["sso_start_url"], values["sso_region"], scopes)
    known_choices = remembered(session_name, path)
    offer = _signed_in_offer(
        session,
        config_path=path,
        profile_region=known_choices.profile_region if known_choices else session.region,
        name_template=name_template,
        on_prompt=on_prompt,
        cancel=cancel,
    )
    prune = tuple(p.name for p in offer.prunable)
    outcome = write_selection(offer, Selection(every_role(offer).add, prune))
    log.info("rescan: %s", outcome.summary())
    return outcome


def _signed_in_offer(
    session: SsoSession,
    *,
    config_path: Path | None,
    profile_region: str | None,
    name_template: str | None,
    on_prompt: Callable[[LoginPrompt], None] | None,
    cancel: threading.Event | None,
) -> RoleOffer:
    def offer_with(token: SsoToken) -> RoleOffer:
        return offer_roles(
            session,
            token,
            config_path=config_path,
            profile_region=profile_region,
            name_template=name_template,
        )

    token = sign_in(session, on_prompt=on_prompt, cancel=cancel)
    try:
        return offer_with(token)
    except LoginNeededError:
        # The cached token was refused (revoked, or lacks the account scope): sign in anew.
        return offer_with(sign_in(session, on_prompt=on_prompt, cancel=cancel, force=True))


def _same_url(a: str, b: str) -> bool:
    return a.rstrip("/").lower() == b.rstrip("/").lower()
