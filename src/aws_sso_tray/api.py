"""The one API the faces call: the command line, the tray, the daemon and the demo.

A face parses input and shows results; every decision is made here or below. Each function says
what it does for a user, takes plain values, and returns values (dataclasses of the core, or the
small result types below); failures are `errors.AppError` subclasses that the face turns into a
line and an exit code with `errors.report` (the tray: into a notice).

The sections follow what a user does: see and sign in to sessions, use credentials, keep them
fresh, change settings, set up (configure, uninstall), and run the engine (tray, daemon, demo).
One user action is one function here, whichever face asks for it.

Imports of the core happen inside each function: `credential-process` runs before every AWS
command a user types, so importing this module must cost no more than `typing`, `errors` and
`snapshot` (tests check `sys.modules`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeAlias

from aws_sso_tray.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from pathlib import Path
    from types import FrameType

    from aws_sso_tray.aws.profiles import ChainedProfile as ChainedProfile
    from aws_sso_tray.aws.profiles import SsoProfile as SsoProfile
    from aws_sso_tray.aws.profiles import SsoSession as SsoSession
    from aws_sso_tray.aws.rolecreds import RoleCredentials as RoleCredentials
    from aws_sso_tray.desktop.notify import Notice as Notice
    from aws_sso_tray.desktop.notify import Notifier as Notifier
    from aws_sso_tray.engine.dashboard import DashboardServer
    from aws_sso_tray.engine.endpoint import CredentialsEndpoint
    from aws_sso_tray.engine.worker import Engine as Engine
    from aws_sso_tray.errors import AppError
    from aws_sso_tray.files.configedit import ConfigSnapshot as ConfigSnapshot
    from aws_sso_tray.files.settings import ProfileLabel as ProfileLabel
    from aws_sso_tray.files.settings import Settings as Settings
    from aws_sso_tray.login.flows import LogoutResult as LogoutResult
    from aws_sso_tray.login.prompt import LoginPrompt as LoginPrompt
    from aws_sso_tray.login.prompt import PromptHandler as PromptHandler
    from aws_sso_tray.setup import configure as _configure
    from aws_sso_tray.setup.configure import RoleOffer as RoleOffer
    from aws_sso_tray.setup.configure_page import ConfigurePage as ConfigurePage
    from aws_sso_tray.setup.demo_world import DemoEnv as DemoEnv
    from aws_sso_tray.setup.demo_world import DemoRun as DemoRun
    from aws_sso_tray.setup.demo_world import DemoWorld as DemoWorld
    from aws_sso_tray.setup.uninstall import Leftovers as Leftovers
    from aws_sso_tray.snapshot import Snapshot

    # The configure flow's values, under the names a face reads them by.
    ConfigureOutcome: TypeAlias = _configure.Outcome
    ConfigureSelection: TypeAlias = _configure.Selection

log = logging.getLogger(__name__)


# --- the words and times every face shows -----------------------------------------------------


def now() -> datetime:
    """The current time, aware (the clock every state is computed against)."""
    from aws_sso_tray import clock

    return clock.now()


def parse_duration(text: str) -> timedelta:
    """A duration the user typed (90s, 10m, 1h30m); ValueError saying what is wrong."""
    from aws_sso_tray.clock import parse_duration as parse

    return parse(text)


def format_remaining(delta: timedelta) -> str:
    """How long is left, in the words the CLI and the tray use ("1h 05m", "expired")."""
    from aws_sso_tray.clock import format_remaining

    return format_remaining(delta)


def display_path(path: Path) -> str:
    """A path as the user wrote it, `~` for their home."""
    from aws_sso_tray.aws.profiles import display_path as shown

    return shown(path)


# --- sessions: see them, sign in, sign out ----------------------------------------------------
# Every SSO profile and its session's login state; a sign-in in the browser; a sign-out that
# tells the portal and deletes the token, and the credentials-file sections written for it.


LoginFlow = Literal["auto", "device"]


@dataclass(frozen=True)
class ProfileLogin:
    """One SSO profile of the AWS config and the state of its session's login."""

    name: str
    sso_session: str | None
    start_url: str
    region: str
    account_id: str
    role_name: str
    session_key: str  # the session's token-cache key: profiles that share it share a login
    token_expires_at: datetime | None  # None: no live token
    without_token: str  # the state's words without a live token: expired, signed out, ...
    synced_section: str | None  # the credentials-file section it is kept fresh in
    via: str | None = None  # a role chained on SSO: the source profile it assumes it with

    def to_json(self) -> dict[str, Any]:
        """The object `list --json` prints (names and formats are part of the CLI's contract)."""
        from aws_sso_tray.clock import format_time

        return {
            "name": self.name,
            "sso_session": self.sso_session,
            "start_url": self.start_url,
            "region": self.region,
            "account_id": self.account_id,
            "role_name": self.role_name,
            "token_expires_at": (
                format_time(self.token_expires_at) if self.token_expires_at else None
            ),
            "synced_section": self.synced_section,
            "via": self.via,
        }


@dataclass(frozen=True)
class ProfileListing:
    profiles: tuple[ProfileLogin, ...]
    problems: tuple[str, ...]  # warnings about the AWS config (profiles that were skipped)


def list_profiles() -> ProfileListing:
    """Every SSO profile of the AWS config with its login state, as `list` and the tray show it;
    each role chained on SSO follows the last profile of the session at its root (its state)."""
    from aws_sso_tray.aws import profiles

    config = profiles.read_config()
    loaded = list(config.profiles)
    problems = tuple(str(problem) for problem in profiles.config_problems())
    from aws_sso_tray.files import settings

    kept, _warnings = settings.load_settings()
    synced = kept.auto_sync_map()
    states = _login_states(loaded, kept)

    def row(p: SsoProfile | ChainedProfile) -> ProfileLogin:
        return ProfileLogin(
            name=p.name,
            sso_session=p.session.name,
            start_url=p.session.start_url,
            region=p.session.region,
            account_id=p.account_id,
            role_name=p.role_name,
            session_key=p.session.cache_key,
            token_expires_at=states[p.session.cache_key][0],
            without_token=states[p.session.cache_key][1],
            synced_section=synced.get(p.name),
            via=p.source.name if isinstance(p, profiles.ChainedProfile) else None,
        )

    rows = [row(p) for p in loaded]
    for chain in config.chained:
        key = chain.session.cache_key
        last = max((i for i, r in enumerate(rows) if r.session_key == key), default=len(rows) - 1)
        rows.insert(last + 1, row(chain))
    return ProfileListing(tuple(rows), problems)


def _login_states(
    loaded: Sequence[SsoProfile], kept: Settings
) -> dict[str, tuple[datetime | None, str]]:
    """Per session: the live token's expiry, and the words for it without one."""
    from aws_sso_tray.aws import tokens
    from aws_sso_tray.clock import now
    from aws_sso_tray.login import history

    current = now()
    states: dict[str, tuple[datetime | None, str]] = {}
    for profile in loaded:
        key = profile.session.cache_key
        if key in states:
            continue
        token = tokens.read_token(profile.session)
        expires = token.expires_at if token is not None and token.expires_at > current else None
        if token is not None:
            words = "expired"
        else:
            duration = kept.session_duration_for(profile.session.name)
            out = history.sign_out_time(profile.session, now=current, session_duration=duration)
            words = "signed out" if out is not None else "not signed in"
        states[key] = (expires, words)
    return states


def sessions() -> list[SsoSession]:
    """Every SSO session the AWS config's profiles use."""
    from aws_sso_tray.aws import profiles

    return profiles.sessions(profiles.load_profiles())


def find_session(
    command: str, profile: str | None = None, sso_session: str | None = None
) -> tuple[SsoSession, str]:
    """The SSO session named by `sso_session` or `profile`'s, and a name for messages."""
    from aws_sso_tray.aws import profiles

    if sso_session:
        return profiles.get_session(sso_session), sso_session
    if not profile:
        raise UsageError(
            f"{command}: name a PROFILE or --sso-session NAME (see `aws-sso-tray list`)"
        )
    found = profiles.get_profile(profile)
    return found.session, found.name


def session_for(session_key: str) -> SsoSession:
    """The SSO session whose token-cache key is `session_key` (`ProfileLogin.session_key`, a
    snapshot's session key); ConfigError when the AWS config has no such session any more."""
    from aws_sso_tray.aws import profiles

    found = profiles.sessions(profiles.load_profiles())
    session = next((s for s in found if s.cache_key == session_key), None)
    if session is None:
        raise ConfigError(f"no SSO session {session_key!r} in the AWS config any more")
    return session


def login(
    session: SsoSession,
    *,
    flow: LoginFlow = "auto",
    open_browser: bool = True,
    timeout: timedelta = timedelta(minutes=10),
    on_prompt: Callable[[LoginPrompt], None] | None = None,
) -> datetime:
    """Sign in to `session` in the browser (or join a sign-in already waiting); returns when
    the new token expires. `on_prompt` is told what the person must open or check."""
    from aws_sso_tray.aws import clients
    from aws_sso_tray.login import flows

    with clients.session_ca_bundle(session.name, session.start_url):
        token = flows.login(
            session,
            flow=flow,
            open_browser=open_browser,
            timeout=timeout.total_seconds(),
            on_prompt=on_prompt,
            join=True,
        )
    return token.expires_at


def logout(session: SsoSession) -> LogoutResult:
    """End `session`: tell the portal, delete its token and our cached role credentials."""
    from aws_sso_tray.aws import clients
    from aws_sso_tray.login import flows

    with clients.session_ca_bundle(session.name, session.start_url):
        return flows.logout(session)


def remove_written_credentials(
    logged_out: Sequence[SsoSession], *, everything: bool
) -> tuple[str, ...]:
    """Remove the credentials-file sections we wrote for these sessions' profiles (and, with
    `everything`, every section we own); sections we did not create stay. Returns the removed."""
    from aws_sso_tray.files import credfile

    keys = {s.cache_key for s in logged_out}
    sections = _sections_written_for(keys, everything=everything)
    return credfile.remove_sections(credentials_file(), sections)


def _sections_written_for(session_keys: set[str], *, everything: bool) -> list[str]:
    """Sections that may hold these sessions' credentials: their profiles' auto-sync targets
    and default sections (credfile then removes only those we created and still own)."""
    from aws_sso_tray.aws import profiles
    from aws_sso_tray.files import credfile

    synced = dict(keep_fresh_targets()[0])
    names: list[str] = []
    config = profiles.read_config()
    # A chained role belongs to its root's session.
    roles: list[SsoProfile | ChainedProfile] = [*config.profiles, *config.chained]
    for profile in roles:
        if profile.session.cache_key in session_keys:
            names += [synced.get(profile.name, profile.name), profile.name]
    if everything:
        names += sorted(credfile.owned_sections(credentials_file()))
    return list(dict.fromkeys(names))


# --- credentials: use them --------------------------------------------------------------------
# A profile's credentials (from the shared cache when they last long enough), in the forms the
# AWS tools read: `credential_process` JSON, shell lines, a credentials-file section.


def min_remaining(value: timedelta | None = None) -> timedelta:
    """How much life cached credentials need to be reused: `value`, else the settings' value."""
    if value is not None:
        return value
    from aws_sso_tray.files.settings import load_min_remaining

    return load_min_remaining()


def sso_credentials(name: str, *, remaining: timedelta | None = None) -> RoleCredentials:
    """Role credentials of SSO profile `name`, or of a role chained on SSO profiles: from the
    shared cache when they have `remaining` left, else from the portal (GetRoleCredentials)
    and STS (AssumeRole). ConfigError for any other profile."""
    return _role_credentials(role_profile(name), remaining)


def _sso_credentials(profile: SsoProfile, remaining: timedelta | None) -> RoleCredentials:
    from aws_sso_tray.aws import rolecreds

    needed = min_remaining(remaining)
    cached = rolecreds.cached_credentials(profile, min_remaining=needed)
    if cached is not None:
        return cached
    from aws_sso_tray.aws import chained  # the profile's own ca_bundle: chained's block

    return chained.credentials_of(profile, min_remaining=needed)


def role_profile(name: str) -> SsoProfile | ChainedProfile:
    """SSO profile `name`, or the role chained on SSO profiles by that name (`role_arn` +
    `source_profile`); ConfigError naming the fix for any other profile, for `mfa_serial`."""
    from aws_sso_tray.aws import profiles

    return profiles.find_chained(name) or profiles.get_profile(name)


def _role_credentials(
    profile: SsoProfile | ChainedProfile, remaining: timedelta | None
) -> RoleCredentials:
    from aws_sso_tray.aws import chained, profiles

    if isinstance(profile, profiles.SsoProfile):
        return _sso_credentials(profile, remaining)
    return chained.get_credentials(profile, min_remaining=min_remaining(remaining))


def credentials(name: str, *, remaining: timedelta | None = None) -> RoleCredentials:
    """Credentials of any profile: SSO profiles and roles chained on them as `sso_credentials`;
    any other (assume-role on keys, credential_process, static keys) resolved by botocore as
    the AWS CLI would."""
    from aws_sso_tray.aws import profiles

    profile = profiles.find_role_profile(name)
    if profile is not None:
        return _role_credentials(profile, remaining)
    from aws_sso_tray.aws.resolve import botocore_credentials

    return botocore_credentials(name)


def refresh_role_credentials(profile: str) -> datetime | None:
    """Renew `profile`'s cached role credentials (what the AWS CLI and SDKs reuse); their expiry."""
    from aws_sso_tray.aws import chained

    creds = chained.credentials_of(role_profile(profile), force_refresh=True)
    return creds.expiration


def process_json(creds: RoleCredentials) -> str:
    """The `credential_process` JSON (Version 1) the AWS SDKs read."""
    from aws_sso_tray.aws import formats

    return formats.process_json(creds)


def env_lines(creds: RoleCredentials, *, export: bool = False) -> str:
    """`AWS_ACCESS_KEY_ID=...` lines for a shell (`export ` in front with `export`)."""
    from aws_sso_tray.aws import formats

    return formats.env_lines(creds, export=export)


def credentials_file() -> Path:
    """The shared credentials file the user's AWS tools read (`AWS_SHARED_CREDENTIALS_FILE`)."""
    from aws_sso_tray.files import paths

    return paths.aws_credentials_file()


def export_to_section(section: str, creds: RoleCredentials, *, force: bool = False) -> None:
    """Write `creds` into `[section]` of the credentials file; LongTermKeysError when the section
    holds the user's own long-term keys and `force` is false."""
    from aws_sso_tray.files import credfile

    credfile.write_credentials(credentials_file(), section, creds, force=force)


@dataclass(frozen=True)
class SyncResult:
    written: tuple[tuple[str, str, RoleCredentials], ...]  # (profile, section, credentials)
    failures: tuple[tuple[str, AppError], ...]  # (profile, why), in the order asked


def sync_once(
    targets: Sequence[str],
    *,
    jobs: int = 8,
    force: bool = False,
    remaining: timedelta | None = None,
) -> SyncResult:
    """Write fresh credentials of each `PROFILE[:SECTION]` (none: the kept-fresh list) into the
    credentials file, in one locked write; at most `jobs` portal calls at once."""
    from aws_sso_tray.aws import chained, rolecreds
    from aws_sso_tray.errors import AppError
    from aws_sso_tray.files import credfile

    pairs = _sync_targets(targets)
    resolved = [(role_profile(name), section) for name, section in pairs]
    needed = min_remaining(remaining)

    def fetch(profile: SsoProfile | ChainedProfile) -> RoleCredentials:
        return chained.credentials_of(profile, min_remaining=needed)

    results = rolecreds.run_bounded(fetch, [p for p, _ in resolved], jobs, name="sync")
    written: list[tuple[str, str, RoleCredentials]] = []
    failures: list[tuple[str, AppError]] = []
    for (profile, section), (creds, error) in zip(resolved, results, strict=True):
        if isinstance(error, AppError):
            failures.append((profile.name, error))
        elif error is not None:
            raise error
        elif creds is not None:
            written.append((profile.name, section, creds))
    if written:
        updates = {section: creds for _, section, creds in written}
        credfile.write_many(credentials_file(), updates, force=force)
    return SyncResult(tuple(written), tuple(failures))


def _sync_targets(specs: Sequence[str]) -> list[tuple[str, str]]:
    """The (profile, section) pairs to sync, once each; one profile per section."""
    targets = [parse_target(spec) for spec in specs]
    if not targets:
        targets = list(keep_fresh_targets()[0])
        if not targets:
            raise ConfigError(
                "nothing to sync: name profiles (`aws-sso-tray sync dev:default`) "
                "or add them with `aws-sso-tray auto add PROFILE[:SECTION]`"
            )
    # One section, one profile (as `auto add` insists): the second write would silently
    # replace the first, and the output would claim both.
    owners: dict[str, str] = {}
    for name, section in dict.fromkeys(targets):
        if owners.setdefault(section, name) != name:
            raise ConfigError(
                f"section [{section}] named for both '{owners[section]}' and '{name}': "
                "give each profile its own section (PROFILE:SECTION)"
            )
    return list(dict.fromkeys(targets))


# exec and every shell's export lines (aws/execenv.py, aws/shells.py): a command run with one
# profile's credentials and no other source, and credentials in the words of each shell.

EXPORT_FORMATS = (
    "process",
    "json",
    "env",
    "env-no-export",
    "powershell",
    "windows-cmd",
    "fish",
    "container",
)  # `json` is `process` (the old `--json`); `container`: `container_credentials`


def export_text(creds: RoleCredentials, fmt: str) -> str:
    """`creds` as `export --format fmt` prints them (any of EXPORT_FORMATS but `container`):
    the AWS CLI's `export-credentials` output, values quoted for the shell."""
    from aws_sso_tray.aws import formats

    if fmt in ("process", "json"):
        return formats.process_json(creds)
    return shell_lines(formats.env_vars(creds), fmt)


def shell_lines(variables: dict[str, str], shell: str = "env") -> str:
    """Lines that set `variables` in `shell` (env, env-no-export, powershell, windows-cmd,
    fish); ConfigError for a value that shell cannot hold."""
    from aws_sso_tray.aws import shells

    try:
        return shells.variable_lines(variables, shell)
    except ValueError as exc:
        raise ConfigError(f"cannot write these credentials for {shell}: {exc}") from None


@dataclass(frozen=True)
class ExecEnvironment:
    """What `exec` runs a command with."""

    env: dict[str, str]
    source: Literal["endpoint", "keys"]  # the engine's endpoint, or static keys
    expiration: datetime | None  # when static keys expire (the endpoint renews its own)
    notes: tuple[str, ...]  # what the user should know (why the endpoint was not used)


def exec_environment(
    profile: str,
    *,
    endpoint: bool | None = None,
    force: bool = False,
    remaining: timedelta | None = None,
    environ: dict[str, str] | None = None,
) -> ExecEnvironment:
    """The environment for a command run with `profile`'s credentials: the running engine's
    endpoint (`endpoint` None: when a tray or daemon serves the profile; True: required) or
    static keys (False), and no other credential source. UsageError inside an `exec` for
    another profile unless `force`; the errors of `credentials` when there are none."""
    import os

    from aws_sso_tray.aws import execenv, formats

    parent = dict(os.environ) if environ is None else environ
    execenv.check_nesting(parent, profile, force=force)
    creds = credentials(profile, remaining=remaining)  # signed in? (and warms the cache)
    served, notes = _endpoint_variables(profile, endpoint) if endpoint is not False else (None, ())
    variables = served if served is not None else formats.env_vars(creds)
    env = execenv.child_environment(parent, profile, variables, _profile_region(profile))
    source: Literal["endpoint", "keys"] = "endpoint" if served is not None else "keys"
    expiration = None if served is not None else creds.expiration
    return ExecEnvironment(env, source, expiration, notes)


def _endpoint_variables(
    profile: str, required: bool | None
) -> tuple[dict[str, str] | None, tuple[str, ...]]:
    """The endpoint's two variables for `profile`, or None (and why) to use static keys."""
    from aws_sso_tray.aws import execenv
    from aws_sso_tray.errors import AppError
    from aws_sso_tray.files import paths

    try:
        variables = container_credentials(profile)
    except AppError:
        if required:
            raise
        return None, ()  # no engine, or not an SSO profile: static keys, as asked
    shadow = execenv.default_profile_source(paths.aws_config_file(), credentials_file())
    if shadow is None:
        return variables, ()
    why = (
        f"the default profile has credentials of its own ({shadow}), which SDKs take before "
        "the endpoint"
    )
    if required:
        raise UsageError(f"exec --endpoint: {why}: use --no-endpoint")
    return None, (f"static keys, not the endpoint: {why}",)


def _profile_region(name: str) -> str | None:
    """The region profile `name` sets for the services, if any."""
    from aws_sso_tray.aws import profiles

    found = profiles.find_role_profile(name)
    if found is not None:
        return found.region
    import botocore.session

    region = botocore.session.Session(profile=name).get_config_variable("region")
    return str(region) if region else None


def run_command(command: Sequence[str], env: dict[str, str]) -> int:
    """Run `command` with `env` (from `exec_environment`), forwarding SIGINT, SIGTERM and
    SIGHUP; its exit code (128+N when signal N ended it). CommandNotRunError (with the
    shell's status, 127 or 126) when it cannot start."""
    from aws_sso_tray.aws import execenv

    return execenv.run(command, env)


def command_not_run_status(exc: BaseException) -> int | None:
    """The shell's status (127, 126) when `exc` says the command could not start, else None."""
    from aws_sso_tray.aws.execenv import CommandNotRunError

    return exc.status if isinstance(exc, CommandNotRunError) else None


# --- keep fresh -------------------------------------------------------------------------------
# The profiles whose credentials the running tray or daemon keeps fresh in the credentials file.


def parse_target(spec: str) -> tuple[str, str]:
    """`PROFILE[:SECTION]` as (profile, section); ConfigError naming the spec when malformed."""
    from aws_sso_tray.files import settings

    try:
        return settings.parse_target(spec)
    except ValueError as exc:
        raise ConfigError(f"{spec}: {exc}") from None


def keep_fresh(profile: str, section: str | None = None) -> Settings:
    """Keep `profile`'s credentials fresh in `[section]` (default: the profile's name) of the
    credentials file, which the running tray or daemon then writes; returns the new settings.
    Refuses an unknown or non-SSO profile, and a section with the user's long-term keys."""
    from aws_sso_tray.files import credfile

    role_profile(profile)  # an unknown or non-SSO profile fails here, not in the engine
    credfile.check_writable_section(
        credentials_file(),
        profile if section is None else section,
        advice=f": keep {profile} fresh in another section "
        f"(`aws-sso-tray auto add {profile}:{profile}`)",
    )
    return change_settings(lambda s: s.with_auto_sync(profile, section))


def stop_keeping_fresh(profile: str) -> Settings | None:
    """Stop keeping `profile` fresh (its credentials-file section stays); returns the new
    settings, or None when it was not kept fresh (nothing changed)."""
    from aws_sso_tray.files import settings

    return settings.load_settings()[0] if settings.remove_auto_sync(profile) else None


def keep_fresh_targets() -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    """The (profile, section) pairs kept fresh, and the settings file's warnings."""
    from aws_sso_tray.files import settings

    loaded, warnings = settings.load_settings()
    return tuple((t.profile, t.section) for t in loaded.auto_sync), tuple(warnings)


# --- settings and the desktop -----------------------------------------------------------------
# The app's settings file (favorites, recent profiles), start at login, the browser, notices.


def load_settings() -> tuple[Settings, list[str]]:
    """The app's settings and the warnings about lines it could not use."""
    from aws_sso_tray.files import settings

    return settings.load_settings()


def settings_mtime() -> int | None:
    """The settings file's modification time (None without a file): has it changed?"""
    from aws_sso_tray.files import settings

    return settings.settings_mtime()


def change_settings(change: Callable[[Settings], Settings]) -> Settings:
    """Apply `change` to the settings file under its lock; returns the new settings."""
    from aws_sso_tray.files import settings

    return settings.update_settings(change)


def toggle_favorite(profile: str) -> Settings:
    """Pin `profile` to the top of the menu, or unpin it."""

    def toggle(current: Settings) -> Settings:
        if profile in current.favorites:
            return current.without_favorite(profile)
        return current.with_favorite(profile)

    return change_settings(toggle)


def note_recent(profile: str) -> Settings:
    """Record `profile` as just used (the menu shows recent ones first)."""
    return change_settings(lambda s: s.with_recent(profile))


def profile_label(name: str, settings: Settings | None = None) -> ProfileLabel | None:
    """Profile `name`'s settings.toml label (`[[labels]]`: first matching pattern), with its
    colour (`label`, `color`: a name of `LABEL_COLORS` or `#rrggbb`); None when unlabelled.
    Pass `settings` (from `load_settings`) when labelling many profiles at once."""
    from aws_sso_tray.files import settings as settings_file

    current = settings_file.load_settings()[0] if settings is None else settings
    return current.label_for(name)


def settings_file_to_edit() -> Path:
    """The settings file, written with its defaults and their comments first if it is missing."""
    from aws_sso_tray.files import settings

    path = settings.settings_file()
    if not path.exists():
        settings.update_settings(lambda s: s)
    return path


def aws_config_file() -> Path:
    from aws_sso_tray.files.paths import aws_config_file

    return aws_config_file()


def autostart_enabled() -> bool:
    """Does the app start at login?"""
    from aws_sso_tray.desktop import autostart

    return autostart.is_enabled()


def set_autostart(enabled: bool) -> bool:
    """Switch start-at-login on or off; returns the new state."""
    from aws_sso_tray.desktop import autostart

    return autostart.set_enabled(enabled)


def open_url(url: str) -> bool:
    """Open `url` in the browser; False when none took it."""
    from aws_sso_tray.desktop.browser import open_url

    return open_url(url)


def notice(key: str, title: str, message: str) -> Notice:
    """A desktop notice; the same `key` replaces the one on screen."""
    from aws_sso_tray.desktop.notify import Notice

    return Notice(key=key, title=title, message=message)


class NoticeSink(Protocol):
    """Where a face's notices go (`desktop.notify.Notifier` is one)."""

    def send(self, notice: Notice) -> None: ...


def container_credentials(profile: str) -> dict[str, str]:
    """The two variables that point an SDK at the running engine's credentials endpoint for
    SSO profile `profile`: `AWS_CONTAINER_CREDENTIALS_FULL_URI` and
    `AWS_CONTAINER_AUTHORIZATION_TOKEN`. AppError when no tray or daemon runs."""
    from aws_sso_tray.aws import enginecreds
    from aws_sso_tray.errors import AppError

    role_profile(profile)  # a missing or non-SSO profile: its own message
    found = enginecreds.published()
    if found is None:
        raise AppError(
            "no tray or daemon is running to serve credentials: start `aws-sso-tray daemon` "
            "or the tray, then ask again"
        )
    token = found.tokens.get(profile)
    if token is None:
        raise AppError(
            f"the running engine does not serve profile '{profile}' yet: it picks up changes "
            "of the AWS config within a minute; ask again then"
        )
    return {
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": found.url(profile),
        "AWS_CONTAINER_AUTHORIZATION_TOKEN": token,
    }


# --- console: the AWS console for a profile ---------------------------------------------------
# The access portal's shortcut link (no credentials needed), or a federation sign-in URL made
# from the profile's credentials (aws/console.py), opened with the settings' browser command.


def console_url(
    profile: str,
    *,
    destination: str | None = None,
    region: str | None = None,
    federated: bool = False,
) -> str:
    """The URL that opens the console of `profile`'s account and role: the access portal's
    shortcut link, or with `federated` a federation sign-in URL made from its credentials
    (holds a sign-in token: show it only to its owner, never log it). `destination` is a
    console URL to land on; `region` picks the console home of that region instead."""
    from aws_sso_tray.aws import console, profiles

    if region is not None and not profiles.valid_region(region):
        raise UsageError(f"--region {region!r} is not an AWS region code, such as eu-west-1")
    if federated:
        creds = credentials(profile)
        return console.federated_url(
            creds,
            sso_region=_console_partition_region(profile),
            destination=destination,
            region=region,
            profile=profile,
        )
    try:
        found = profiles.get_profile(profile)
    except profiles.NotSsoProfileError as exc:
        raise ConfigError(
            f"{exc.message}; the portal link needs an SSO profile: use --federated to sign in "
            "with its credentials instead"
        ) from None
    return console.portal_url(found, destination=destination, region=region)


def _console_partition_region(profile: str) -> str:
    """The region whose partition the console sign-in goes to: an SSO profile's SSO region,
    else the profile's region as botocore reads it (default us-east-1)."""
    from aws_sso_tray.aws import profiles

    found = profiles.find_role_profile(profile)
    if found is not None:
        return found.session.region
    import botocore.session

    region = botocore.session.Session(profile=profile).get_config_variable("region")
    return str(region) if region else "us-east-1"


def console_browser(profile: str) -> str | None:
    """The settings' browser command for `profile`'s console (its own, its session's, the
    global one), or None for the default browser."""
    from aws_sso_tray.aws import profiles
    from aws_sso_tray.files import settings

    found = profiles.find_role_profile(profile)
    kept, _warnings = settings.load_settings()
    return kept.console_browser_for(profile, found.session.name if found else None)


def open_console(
    profile: str,
    *,
    destination: str | None = None,
    region: str | None = None,
    federated: bool = False,
) -> None:
    """Open `profile`'s console (`console_url`) with its browser command from the settings, or
    the default browser; AppError saying why when no browser took it."""
    from aws_sso_tray.desktop import browser
    from aws_sso_tray.errors import AppError

    url = console_url(profile, destination=destination, region=region, federated=federated)
    command = console_browser(profile)
    if command is not None:
        problem = browser.launch_command(command, url)
    else:
        problem = browser.launch_browser(url)
    if problem is None:
        return
    # A federated URL signs in whoever holds it: never in a message (messages reach the log).
    where = (
        f"`aws-sso-tray console {profile} --federated --print` prints the link"
        if federated
        else f"open {url}"
    )
    raise AppError(f"the console of {profile} did not open ({problem}): {where}")


# --- setup: configure and uninstall -----------------------------------------------------------
# Profiles from the access portal's roles (`aws configure sso` as a terminal dialog or a local
# page), and uninstall: what we left on this computer, said first, then removed.


def configure_start() -> tuple[Path, ConfigSnapshot]:
    """The AWS config file `configure` edits and what it holds now (ConfigError when unreadable)."""
    from aws_sso_tray.files import configedit, paths

    path = paths.aws_config_file()
    return path, configedit.read_snapshot(path)


def check_start_url(text: str) -> str:
    """The start URL, stripped; ConfigError saying where to find it when it is not https."""
    from aws_sso_tray.setup import configure

    return configure.validate_start_url(text)


def check_region(text: str) -> str:
    """The region code, stripped; ConfigError when it is not one."""
    from aws_sso_tray.setup import configure

    return configure.validate_region(text)


def check_session_name(text: str) -> str:
    """A name an `[sso-session NAME]` header can hold; ConfigError otherwise."""
    from aws_sso_tray.files import configedit

    return configedit.check_name(text, "sso-session")


def suggest_session_name(start_url: str, snapshot: ConfigSnapshot) -> str:
    """The existing session for `start_url`, else a unique name from its host."""
    from aws_sso_tray.setup import configure

    return configure.default_session_name(start_url, snapshot)


def configure_profiles(
    start_url: str,
    region: str,
    session_name: str | None,
    profile_region: str | None,
    choose: Callable[[RoleOffer], ConfigureSelection],
    *,
    config_path: Path | None = None,
    on_prompt: Callable[[LoginPrompt], None] | None = None,
    name_template: str | None = None,
) -> ConfigureOutcome:
    """Set up an sso-session, sign in, and write the profiles `choose` picks from the portal's
    roles (and prune the ones it names), like `aws configure sso`. New profiles are named by
    `name_template` (remembered for the session; None: the remembered one, else the default)."""
    from aws_sso_tray.setup import configure

    request = configure.ConfigureRequest(
        start_url, region, session_name, profile_region, name_template
    )
    return configure.configure(request, choose, config_path=config_path, on_prompt=on_prompt)


def configure_every_role(
    start_url: str,
    region: str,
    session_name: str | None = None,
    profile_region: str | None = None,
    *,
    name_template: str | None = None,
    on_prompt: Callable[[LoginPrompt], None] | None = None,
) -> ConfigureOutcome:
    """`configure --non-interactive`: the session, a sign-in when needed, and a profile for
    every account x role without a question (nothing is pruned: that is `rescan_session`)."""
    from aws_sso_tray.setup import configure

    request = configure.ConfigureRequest(
        configure.validate_start_url(start_url),
        configure.validate_region(region),
        session_name,
        profile_region or region,  # as the terminal's default answer
        name_template,
    )
    return configure.configure(request, configure.every_role, on_prompt=on_prompt)


def rescan_session(
    name: str,
    *,
    name_template: str | None = None,
    on_prompt: Callable[[LoginPrompt], None] | None = None,
) -> ConfigureOutcome:
    """ "Sync accounts from the portal" for the sso-session `name`: a profile for each newly
    granted role, the generated profiles of vanished roles removed (hand-written ones never);
    the outcome's `summary()` says what changed in one line. Signs in when needed."""
    from aws_sso_tray.setup import configure

    return configure.rescan(name, name_template=name_template, on_prompt=on_prompt)


def check_name_template(text: str) -> str:
    """A profile-name template (`{account_name}-{role_name}`); ConfigError naming the fields
    it may use otherwise."""
    from aws_sso_tray.setup import profilenames

    return profilenames.check_template(text)


def configure_selection(
    add: Sequence[tuple[str, str]], prune: Sequence[str] = ()
) -> ConfigureSelection:
    """What to write ((account, role) of new choices) and what to prune (profile names)."""
    from aws_sso_tray.setup.configure import Selection

    return Selection(tuple(add), tuple(prune))


def open_configure_page(*, open_browser: bool = True) -> ConfigurePage:
    """Serve the configure page on 127.0.0.1 (one-time link) and open it in the browser."""
    from aws_sso_tray.setup.configure_page import start_configure_page

    return start_configure_page(open_browser=open_browser)


def find_leftovers() -> Leftovers:
    """What `uninstall` would remove (our sections, autostart, settings, state, logs); looks
    only."""
    from aws_sso_tray.setup import uninstall

    return uninstall.find_leftovers()


def remove_leftovers(leftovers: Leftovers) -> list[str]:
    """Remove what `leftovers` lists; one line per thing removed. Refuses (AppError) while the
    tray or daemon runs or the credentials file cannot be edited safely."""
    from aws_sso_tray.setup import uninstall

    return uninstall.remove_leftovers(leftovers)


# --- the running engine -----------------------------------------------------------------------
# The tray, the daemon and the demo run the engine through `Service` (the one place that builds
# the Engine and the Notifier and takes the instance lock) and read its published snapshot
# through `running_snapshot`; the demo builds its world through `start_demo`
# (setup/demo_world.py).


SHUTDOWN_TIMEOUT = 1.5  # seconds the engine may take to stop (a request may still be running)


class EngineControl(Protocol):
    """What a face needs of the engine (`engine.worker.Engine` is one; tests drive fakes)."""

    @property
    def snapshot(self) -> Snapshot: ...

    def start(self) -> None: ...

    def stop(self, timeout: float = ...) -> bool: ...

    def subscribe(self, callback: Callable[[Snapshot], None]) -> Callable[[], None]: ...

    def refresh_now(self, profile: str | None = None) -> None: ...

    def login(self, session_key: str, *, reason: str | None = None) -> bool: ...

    def wake(self) -> None: ...


def start_logging(*, debug: bool = False, to_file: bool = False) -> None:
    """Log to stderr (DEBUG with `debug`); `to_file`: also to the rotating log file, as the
    long-running faces do, with stderr showing INFO unless `debug`."""
    from aws_sso_tray.logs import setup_logging

    if not to_file:
        setup_logging(debug=debug)
        return
    from aws_sso_tray.files import paths

    setup_logging(debug=debug, log_file=paths.log_file(), stderr_level=None if debug else 20)


def log_file() -> Path:
    """The rotating log file of the long-running faces (tray, daemon)."""
    from aws_sso_tray.files import paths

    return paths.log_file()


def log_settings_problems() -> None:
    """Log each problem of the settings file (its bad values fall back to the defaults)."""
    from aws_sso_tray.files.settings import load_settings

    for warning in load_settings()[1]:
        log.warning("%s", warning)


class Service:
    """The engine of this user, in this process: `with Service("the tray") as service:` takes the
    instance lock (AlreadyRunningError when a tray or daemon already runs), starts the desktop
    notifier and builds the engine (`service.start()` starts its thread); leaving it stops the
    engine and the notifier, removes the status file and frees the lock."""

    def __init__(
        self,
        what: str = "daemon",
        *,
        refresh_before: timedelta | None = None,
        warn_before: timedelta | None = None,
        notice: Notice | None = None,
    ) -> None:
        from aws_sso_tray.engine.lock import InstanceLock

        self._lock = InstanceLock(what)
        self._refresh_before = refresh_before
        self._warn_before = warn_before
        self._notice = notice
        self._notifier: Notifier | None = None
        self._engine: Engine | None = None
        self._endpoint: CredentialsEndpoint | None = None
        self._dashboard: DashboardServer | None = None

    @property
    def engine(self) -> Engine:
        assert self._engine is not None, "use Service in a with statement"
        return self._engine

    @property
    def notifier(self) -> Notifier:
        assert self._notifier is not None, "use Service in a with statement"
        return self._notifier

    def __enter__(self) -> Service:
        self._lock.acquire()
        try:
            self._build()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _build(self) -> None:
        from aws_sso_tray.desktop.notify import Notifier
        from aws_sso_tray.engine.options import EngineOptions
        from aws_sso_tray.engine.worker import Engine
        from aws_sso_tray.files.settings import load_settings

        settings, _warnings = load_settings()
        # No icon on notices: one image for all would put a green check on "session expired".
        self._notifier = Notifier(enabled=settings.notifications)
        self._notifier.start()
        if self._notice is not None:  # e.g. the tray saying why it runs without an icon
            self._notifier.send(self._notice)
        # The one call of the Engine constructor outside the tests.
        options = EngineOptions(refresh_before=self._refresh_before, warn_before=self._warn_before)
        self._engine = Engine(notifier=self._notifier, options=options)
        self._notifier.on_action = self._engine.handle_action
        self._start_endpoint(self._engine)
        self._start_dashboard(self._engine)

    def _start_endpoint(self, engine: Engine) -> None:
        """Serve the local credentials endpoint while the engine runs (engine/endpoint.py);
        without it (a state folder we may not write) the engine still runs."""
        from aws_sso_tray.aws import profiles
        from aws_sso_tray.engine.endpoint import CredentialsEndpoint
        from aws_sso_tray.errors import AppError

        try:
            names = [p.name for p in profiles.load_profiles()]
        except AppError:
            names = []  # a broken config: the engine's snapshots add profiles once it is fixed
        endpoint = CredentialsEndpoint()
        try:
            endpoint.start(names)
        except (AppError, OSError) as exc:
            log.warning("no local credentials endpoint: %s", exc)
            endpoint.stop()
            return
        self._endpoint = endpoint
        engine.subscribe(endpoint.serve_snapshot)

    def _start_dashboard(self, engine: Engine) -> None:
        """Serve the dashboard page while the engine runs (engine/dashboard.py); without it
        (a state folder we may not write) the engine still runs."""
        from aws_sso_tray.engine.dashboard import DashboardServer, PortalScans
        from aws_sso_tray.errors import AppError

        holder: list[DashboardServer] = []
        scans = PortalScans(lambda: holder[0].changed() if holder else None)
        board = DashboardServer(
            lambda: _dashboard_state(engine, scans),
            lambda request: _dashboard_action(engine, scans, request),
        )
        holder.append(board)
        try:
            board.start()
        except (AppError, OSError) as exc:
            log.warning("no dashboard: %s", exc)
            board.stop()
            return
        self._dashboard = board
        engine.subscribe(board.changed)

    def start(self) -> None:
        """Start the engine's thread (the tray's icon does it once it shows)."""
        self.engine.start()

    def __exit__(self, *exc: object) -> None:
        from aws_sso_tray.engine import statusfile

        try:
            if self._endpoint is not None:
                self._endpoint.stop()
            if self._dashboard is not None:
                self._dashboard.stop()
            if self._engine is not None and not self._engine.stop(SHUTDOWN_TIMEOUT):
                log.warning("the engine did not stop in time (a request is still running)")
            if self._notifier is not None:
                self._notifier.stop()
            statusfile.clear_snapshot()
        finally:
            self._lock.release()


def run_headless(
    refresh_before: timedelta | None = None,
    warn_before: timedelta | None = None,
    *,
    notice: Notice | None = None,
) -> int:
    """Run the engine without a tray until SIGTERM / SIGINT; returns the exit code (0).

    Raises AlreadyRunningError when a tray or daemon already runs for this user. The main
    thread only waits for the signal; the engine works on its own thread.
    """
    import signal
    import threading

    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s: stopping", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        with Service(
            "daemon", refresh_before=refresh_before, warn_before=warn_before, notice=notice
        ) as service:
            service.start()
            _log_running(service.notifier)
            # Wake up now and then: on some platforms a signal is only handled between waits.
            while not stop.wait(1.0):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log.info("daemon stopped")
    return 0


def _log_running(notifier: Notifier) -> None:
    import os

    log.info(
        "daemon running (pid %d); logs in %s; notifications: %s",
        os.getpid(),
        log_file(),
        "desktop" if notifier.available else f"log only ({notifier.unavailable_reason})",
    )


def running_snapshot() -> tuple[Snapshot, bool]:
    """The running engine's snapshot (True), or one built from the files alone (False): no
    network call either way."""
    from aws_sso_tray.engine import lock, statusfile

    if lock.engine_running():
        published = statusfile.read_snapshot()
        if published is not None:
            return published, True
    return offline_snapshot(), False


def offline_snapshot() -> Snapshot:
    """What the files say, without an engine and without any network call."""
    from aws_sso_tray.engine.options import EngineOptions
    from aws_sso_tray.engine.worker import Engine

    return Engine(options=EngineOptions(publish_file=False, watch_interval=0)).offline_snapshot()


def start_demo(*, port: int = 0, device_code: bool = False, debug: bool = False) -> DemoRun:
    """The demo's world, afresh (`with start_demo() as demo:`, then `demo.world`): see
    setup/demo_world.py."""
    from aws_sso_tray.setup.demo_world import DemoRun

    return DemoRun(port=port, device_code=device_code, debug=debug)


def running_demo_env() -> DemoEnv:
    """What puts this terminal into the running demo's world; ConfigError when none runs."""
    from aws_sso_tray.setup import demo_world

    return demo_world.running_demo_env()


def demo_program() -> str:
    """How to run this program again from another terminal (for the demo's hints)."""
    from aws_sso_tray.setup import demo_world

    return demo_world.program()


def demo_sign_in(on_prompt: PromptHandler, *, open_browser: bool, device_code: bool) -> datetime:
    """Sign in to the demo's SSO session; returns when the token expires."""
    from aws_sso_tray.setup import demo_world

    return demo_world.sign_in(on_prompt, open_browser=open_browser, device_code=device_code)


# --- the dashboard: every session and profile on a local page ------------------------------------
# Served by the running tray or daemon (engine/dashboard.py, started by `Service`); a face asks it
# for a single-use link. Its buttons call `_dashboard_action`: the same calls the tray makes, and
# `add_profile` / `rescan_session` for a portal role without a profile and a session's sync.

NO_ENGINE_FOR_DASHBOARD = (
    "no tray or daemon is running to serve the dashboard: start `aws-sso-tray daemon` or the "
    "tray, then run `aws-sso-tray dashboard` again"
)


def dashboard_link() -> str:
    """A fresh single-use link to the running engine's dashboard (it works once, for 2 minutes:
    show it only to its owner); AppError when no tray or daemon serves one."""
    from aws_sso_tray.engine import dashboard
    from aws_sso_tray.errors import AppError

    found = dashboard.published()
    if found is None:
        raise AppError(NO_ENGINE_FOR_DASHBOARD)
    try:
        return dashboard.request_link(found)
    except (OSError, ValueError) as exc:
        raise AppError(
            f"the running engine's dashboard did not answer ({exc}): restart the tray or daemon"
        ) from None


def open_dashboard() -> str:
    """Open the running engine's dashboard in the default browser; returns the link opened
    (single-use). AppError when no engine runs or no browser took the link."""
    from aws_sso_tray.desktop import browser
    from aws_sso_tray.errors import AppError

    url = dashboard_link()
    problem = browser.launch_browser(url)
    if problem is not None:
        raise AppError(
            f"the dashboard did not open ({problem}): `aws-sso-tray dashboard --print` prints "
            "a link to open yourself"
        )
    return url


def credential_process_line(profile: str) -> str:
    """The `credential_process` line of an AWS config profile that asks us for `profile`."""
    import shlex

    return f"credential_process = aws-sso-tray credential-process --profile {shlex.quote(profile)}"


def _dashboard_state(engine: EngineControl, scans: Any) -> dict[str, Any]:
    """The page's view of the engine (`scans`: engine.dashboard.PortalScans)."""
    from aws_sso_tray.engine.dashboard import build_state
    from aws_sso_tray.files import settings
    from aws_sso_tray.snapshot import SessionStatus

    snapshot = engine.snapshot
    kept, _warnings = settings.load_settings()
    signed_in = (SessionStatus.LOGGED_IN, SessionStatus.EXPIRING)
    scans.wanted(s.key for s in snapshot.sessions if s.status in signed_in)
    kept_fresh = {t.profile: t.section for t in kept.auto_sync}
    return build_state(snapshot, kept_fresh, scans.roles())


def _dashboard_action(
    engine: EngineControl, scans: Any, request: Mapping[str, str]
) -> dict[str, str]:
    """Do one dashboard button's action (`request`: the page's JSON); {"message"} for the page,
    and "copy" for its clipboard (export lines and console URLs hold secrets: never logged)."""
    action, profile = request.get("action", ""), request.get("profile", "")
    session_key = request.get("session", "")
    found = engine.snapshot.profile(profile) if profile else None
    if action == "sign_in":
        key = session_key or (found.session_key if found else "")
        if not engine.login(key, reason="you picked Sign in on the dashboard"):
            return {"message": "A browser sign-in for this session is already waiting"}
        return {"message": "Sign-in started: finish it in the browser tab"}
    if action == "add_profile":
        name = _dashboard_session_name(engine, session_key)
        added = add_profile(name, request.get("account", ""), request.get("role", ""))
        engine.wake()
        return {"message": f"Added [profile {added}] to the AWS config"}
    if action == "sync":
        outcome = rescan_session(_dashboard_session_name(engine, session_key))
        scans.again(session_key)
        engine.wake()
        return {"message": outcome.summary()}
    return _dashboard_profile_action(engine, action, profile)


def _dashboard_profile_action(engine: EngineControl, action: str, profile: str) -> dict[str, str]:
    found = engine.snapshot.profile(profile) if profile else None
    if found is None:
        raise ConfigError(f"no SSO profile named {profile!r} in the AWS config")
    _note_recent_quietly(profile)
    if action == "keep_fresh":
        return _dashboard_keep_fresh(engine, profile)
    if action == "refresh":
        return _dashboard_refresh(engine, profile)
    if action == "console":
        open_console(profile)
        return {"message": f"Opened the console of {profile}"}
    if action == "console_url":
        return {"copy": console_url(profile), "message": f"Copied the console URL of {profile}"}
    if action == "export":
        lines = env_lines(sso_credentials(profile), export=True)
        return {"copy": lines, "message": f"Copied the export lines of {profile}"}
    if action == "process_line":
        line = credential_process_line(profile)
        return {"copy": line, "message": f"Copied the credential_process line of {profile}"}
    raise UsageError(f"unknown dashboard action {action!r}")


def _dashboard_session_name(engine: EngineControl, session_key: str) -> str:
    """The sso-session name of the snapshot's session `session_key`, which must be signed in
    (an add or a sync from the page never opens a browser itself: Sign in does)."""
    from aws_sso_tray.errors import LoginNeededError
    from aws_sso_tray.snapshot import SessionStatus

    found = next((s for s in engine.snapshot.sessions if s.key == session_key), None)
    if found is None:
        raise ConfigError(f"no SSO session {session_key!r} in the AWS config")
    if found.status not in (SessionStatus.LOGGED_IN, SessionStatus.EXPIRING):
        raise LoginNeededError(f"sign in to {found.name} first (its Sign in button)")
    return found.name


def add_profile(session: str, account_id: str, role_name: str) -> str:
    """Write one generated profile for `account_id` x `role_name` of the signed-in sso-session
    `session`, named by the session's remembered template (the dashboard's "Add profile");
    returns its name (an existing profile's when one already names that role). No browser
    opens: LoginNeededError when the session needs a sign-in."""
    from aws_sso_tray.aws import profiles, tokens
    from aws_sso_tray.setup import configure

    known = profiles.sessions(profiles.load_profiles())
    found = next((s for s in known if s.name == session), None)
    if found is None:
        raise ConfigError(
            f"no [sso-session {session}] in the AWS config: run `aws-sso-tray configure`"
        )
    choices = configure.remembered(session)
    offer = configure.offer_roles(
        found,
        tokens.valid_token(found),
        profile_region=choices.profile_region if choices else found.region,
    )
    choice = next((c for c in offer.choices if c.role.key == (account_id, role_name)), None)
    if choice is None:
        raise ConfigError(
            f"the portal of {session} lists no role {role_name!r} in account {account_id}: "
            "sync the accounts from the portal"
        )
    if not choice.configured:
        configure.write_selection(offer, configure.Selection(((account_id, role_name),)))
    return choice.profile_name


def _note_recent_quietly(profile: str) -> None:
    from aws_sso_tray.errors import AppError

    try:
        note_recent(profile)
    except AppError as exc:  # a broken settings file must not stop the action
        log.warning("dashboard: cannot record %s as recently used: %s", profile, exc)


def _dashboard_keep_fresh(engine: EngineControl, profile: str) -> dict[str, str]:
    """Keep `profile` fresh in its own section, or stop (the tray's toggle)."""
    current, _warnings = load_settings()
    if current.sync_section(profile) is not None:
        stop_keeping_fresh(profile)
        message = f"{profile} is no longer kept fresh (its section stays)"
    else:
        keep_fresh(profile)
        message = f"Keeping {profile} fresh in the credentials file's [{profile}]"
    engine.wake()
    engine.refresh_now(profile)
    return {"message": message}


def _dashboard_refresh(engine: EngineControl, profile: str) -> dict[str, str]:
    """The engine refreshes a kept-fresh profile; any other gets new cached role credentials."""
    current, _warnings = load_settings()
    if current.sync_section(profile) is not None:
        engine.refresh_now(profile)
        return {"message": f"Refreshing {profile}"}
    expires = refresh_role_credentials(profile)
    until = f" until {expires.astimezone().strftime('%H:%M')}" if expires else ""
    engine.wake()
    return {"message": f"Credentials of {profile} refreshed{until}"}
