"""Browser sign-in to an SSO session, and sign-out: the only place that talks to a person.

Two flows, as `aws sso login` has them:
- authorization code + PKCE (`[sso-session]` profiles): register a public client, open
  `{oidc endpoint}/authorize?...` in the system browser, receive the code on a one-shot HTTP
  server bound to 127.0.0.1 only (`callback`), exchange it with the code verifier;
- device code (legacy profiles, `flow="device"`, and, unless $BROWSER is set, wherever the
  loopback may not work: SSH, no display, containers, WSL; `choose_flow` says which and why):
  open verificationUriComplete,
  show the user code, poll CreateToken at the given interval (+5 s on SlowDown).

The result is the AWS CLI's token cache file (`tokens.write_token`, so stock boto3 uses it with
no further step) and the AWS CLI's client-registration cache file (`registration`). The login
time goes to `history`, which is what `history.session_end` estimates the end of the session
from.

One login per session at a time, across processes (`lock`): a second caller gets
AlreadyRunningError naming the URL and code of the login that is waiting (the default: a person
who runs `login` twice wants to know where the first one is), or with `join=True` waits for that
login to finish and returns its token.

`login()` never prints: it hands a `LoginPrompt` to `on_prompt`, which the CLI prints and the
tray shows; when the browser cannot show the page, `on_prompt` hears it again with
`browser_error` set (and the URL is logged, `desktop.browser`), so the person always learns where
to sign in. It runs on any thread and stops promptly when `cancel` is set. It never logs a token,
client secret, code verifier or authorization code, and registers each with
`logs.register_secret` so that handlers installed by `logs.setup_logging` mask them anywhere.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import secrets
import string
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from aws_sso_tray import clock, logs
from aws_sso_tray.aws import tokens
from aws_sso_tray.aws.tokens import SsoToken
from aws_sso_tray.desktop import browser
from aws_sso_tray.errors import (
    AppError,
    ConfigError,
    LoginDeniedError,
    LoginNeededError,
    LoginTimeoutError,
    RegistrationError,
)
from aws_sso_tray.login import history, lock, registration
from aws_sso_tray.login.callback import CallbackResult, CallbackServer
from aws_sso_tray.login.prompt import (
    Flow,
    FlowChoice,
    LoginCancelledError,
    LoginPrompt,
    PromptHandler,
)
from aws_sso_tray.login.registration import (
    AUTH_CODE_GRANT,
    DEFAULT_SCOPE,
    DEVICE_GRANT,
    Registration,
)

if TYPE_CHECKING:
    from aws_sso_tray.aws.profiles import SsoSession

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 600.0  # the AWS CLI's overall wait for the browser
DEFAULT_POLL_INTERVAL = 5.0  # RFC 8628 3.2
MIN_POLL_INTERVAL = 0.2  # an `interval` of 0 is honoured, but never as a busy loop
SLOW_DOWN_DELAY = 5.0  # RFC 8628 3.5: add 5 s to the interval on slow_down
_WAIT_SLICE = 0.1  # how often a wait checks `cancel` and the deadline

_VERIFIER_ALPHABET = string.ascii_letters + string.digits + "-._~"


@dataclass(frozen=True)
class LogoutResult:
    token_found: bool  # there was a cached token to revoke
    revoked: bool  # the portal's Logout accepted it (or it was already invalid)
    revoke_error: str | None  # why the portal could not be told, when it could not
    credentials_deleted: int  # cached role-credential files removed


# --- choosing the flow ---------------------------------------------------------------------


def choose_flow(
    session: SsoSession,
    env: Mapping[str, str] | None = None,
    *,
    requested: FlowChoice = "auto",
    platform: str | None = None,
    proc_version: str | None = None,
    path_exists: Callable[[str], bool] | None = None,
) -> tuple[Flow, str]:
    """Which flow to use for `session`, and a one-line reason a person can read.

    Pure given its arguments: `env` (default os.environ), `platform` (sys.platform),
    `proc_version` (the text of /proc/version) and `path_exists` are read only when omitted.
    Raises ConfigError for an explicit `requested="pkce"` on a legacy profile.
    """
    if requested == "device":
        return "device", "device-code sign-in, as requested"
    if session.name is None:
        if requested == "pkce":
            raise ConfigError(
                f"SSO session '{session.display_name}' is a legacy profile (sso_start_url in the "
                "profile): the browser callback flow needs an [sso-session] section "
                "(run `aws configure sso`), or use the device code flow"
            )
        return "device", (
            "device-code sign-in: this profile has no [sso-session] (legacy SSO configuration), "
            "so the AWS CLI uses device code here too"
        )
    if requested == "pkce":
        return "pkce", "browser sign-in with a 127.0.0.1 callback, as requested"

    env = os.environ if env is None else env
    if env.get("BROWSER", "").strip():
        # The user's word: VS Code remote sessions, Codespaces and dev containers set $BROWSER
        # to a helper that opens the host's browser and forwards the callback port, so the
        # SSH / container / no-display guesses below would only take the better flow away.
        return "pkce", (
            "browser sign-in through $BROWSER with a 127.0.0.1 callback (authorization code + PKCE)"
        )
    platform = sys.platform if platform is None else platform
    exists = os.path.exists if path_exists is None else path_exists
    if env.get("SSH_CONNECTION") or env.get("SSH_TTY") or env.get("SSH_CLIENT"):
        return "device", (
            "device-code sign-in: this is an SSH session, and a browser on your own computer "
            "cannot reach this machine's 127.0.0.1 callback"
        )
    if platform.startswith("linux"):
        if exists("/.dockerenv") or exists("/run/.containerenv"):
            return "device", (
                "device-code sign-in: running in a container, whose 127.0.0.1 a browser "
                "outside it cannot reach"
            )
        if proc_version is None:
            proc_version = _read_proc_version()
        if "microsoft" in proc_version.lower():
            return "device", (
                "device-code sign-in: running under WSL, where the Windows browser may not "
                "reach the Linux 127.0.0.1 callback"
            )
        if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
            return "device", (
                "device-code sign-in: no graphical display (DISPLAY / WAYLAND_DISPLAY unset), "
                "so the sign-in page may be opened on another device"
            )
    return "pkce", "browser sign-in with a 127.0.0.1 callback (authorization code + PKCE)"


def _read_proc_version() -> str:
    try:
        return Path("/proc/version").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


# --- PKCE pieces -----------------------------------------------------------------------------


def make_pkce_pair() -> tuple[str, str]:
    """A 64-character code verifier and its S256 challenge (base64url, no padding)."""
    verifier = "".join(secrets.choice(_VERIFIER_ALPHABET) for _ in range(64))
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    challenge = base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")
    return verifier, challenge


def authorize_url(
    endpoint: str,
    *,
    client_id: str,
    redirect_uri: str,
    state: str,
    scopes: tuple[str, ...],
    code_challenge: str,
) -> str:
    """The page the browser opens: `{endpoint}/authorize?...` with the AWS CLI's parameters."""
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "code_challenge_method": "S256",
            "scopes": " ".join(scopes or (DEFAULT_SCOPE,)),
            "code_challenge": code_challenge,
        },
        quote_via=quote,
    )
    return f"{endpoint.rstrip('/')}/authorize?{query}"


def poll_interval(authorization: Mapping[str, Any]) -> float:
    """Seconds between device-code polls: the StartDeviceAuthorization `interval` (AWS says
    whole seconds, 1 or more), 5 when it gives none (RFC 8628 3.2); an interval of 0 (the
    emulator's for tests that approve at once) is a value, not a missing one."""
    value = authorization.get("interval")
    if value is None:
        return DEFAULT_POLL_INTERVAL
    return max(float(value), MIN_POLL_INTERVAL)


# --- the login ------------------------------------------------------------------------------


def login(
    session: SsoSession,
    *,
    flow: FlowChoice = "auto",
    open_browser: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    on_prompt: PromptHandler | None = None,
    cancel: threading.Event | None = None,
    join: bool = False,
    env: Mapping[str, str] | None = None,
) -> SsoToken:
    """Sign in to `session` in the browser and write the AWS CLI token cache; return the token.

    `flow`: "auto" (see `choose_flow`), "pkce" or "device". `open_browser=False` only reports
    the URL through `on_prompt`. `timeout`: seconds to wait for the person. `cancel`: set it
    to stop waiting (LoginCancelledError). `join`: when another login of this session is
    running (in any process), wait for it and return its token instead of raising
    AlreadyRunningError. `env` is for `choose_flow` (default os.environ).

    Raises LoginDeniedError, LoginTimeoutError, NetworkError, ThrottledError, RegistrationError,
    AlreadyRunningError, LoginCancelledError, ConfigError, or another AppError; nothing else
    for a service or network failure. The token file is written only after success, atomically.
    """
    chosen, reason = choose_flow(session, env, requested=flow)
    cancel = cancel if cancel is not None else threading.Event()
    deadline = time.monotonic() + timeout
    with lock.held(session) as acquired:
        if not acquired:
            return lock.join_or_report(session, join, deadline, on_prompt, cancel)
        attempt = _Attempt(session, open_browser, deadline, timeout, on_prompt, cancel)
        if chosen == "pkce":
            try:
                token = attempt.pkce(reason)
            except _LoopbackUnavailable as exc:
                if flow == "pkce":
                    raise AppError(
                        f"cannot listen on 127.0.0.1 for the sign-in callback ({exc}); "
                        "use the device code flow (--use-device-code)"
                    ) from exc
                chosen = "device"
                token = attempt.device(
                    f"device-code sign-in: cannot listen on 127.0.0.1 for the callback ({exc})"
                )
        else:
            token = attempt.device(reason)
        tokens.write_token(session, token)
        history.record_login(
            session.cache_key,
            history.SessionRecord(clock.now(), session.start_url, chosen),
        )
        log.info(
            "signed in to SSO session %s (%s); token expires %s",
            session.display_name,
            chosen,
            clock.format_time(token.expires_at),
        )
        return token


class _LoopbackUnavailable(Exception):
    pass


def _sign_in_browser(session: SsoSession) -> str | None:
    """The settings' browser command for this session's sign-in (None: the default browser)."""
    from aws_sso_tray.files.settings import load_settings

    if session.name is None:
        return None
    return load_settings()[0].sign_in_browser_for(session.name)


class _Attempt:
    """One run of a flow: shared waiting, prompting and token-building."""

    def __init__(
        self,
        session: SsoSession,
        open_browser: bool,
        deadline: float,
        timeout: float,
        on_prompt: PromptHandler | None,
        cancel: threading.Event,
    ) -> None:
        from aws_sso_tray.aws import clients

        self.session = session
        self.open_browser = open_browser
        self.deadline = deadline
        self.timeout = timeout
        self.on_prompt = on_prompt
        self.cancel = cancel
        self.client = clients.oidc_client(session.region)

    # -- shared ---------------------------------------------------------------------------

    def _call(self, what: str, fn: Callable[..., Any], **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError

        try:
            return fn(**kwargs)
        except BotoCoreError as exc:
            from aws_sso_tray.aws import clients

            raise clients.to_app_error(exc, what=what) from exc

    def _prompt(self, prompt: LoginPrompt) -> None:
        lock.publish_prompt(self.session, prompt)
        if self.on_prompt is not None:
            self.on_prompt(prompt)
        if self.open_browser:
            browser.open_in_background(prompt, self.on_prompt, _sign_in_browser(self.session))

    def _expires_at(self) -> datetime:
        return clock.now() + timedelta(seconds=max(0.0, self.deadline - time.monotonic()))

    def _check_cancel(self) -> None:
        if self.cancel.is_set():
            raise LoginCancelledError(
                f"sign-in to SSO session '{self.session.display_name}' was cancelled"
            )

    def _timed_out(self) -> LoginTimeoutError:
        minutes = self.timeout / 60
        span = f"{minutes:.0f} min" if minutes >= 1 else f"{self.timeout:.0f} s"
        return LoginTimeoutError(
            f"sign-in to SSO session '{self.session.display_name}' was not completed within "
            f"{span}: run the login again and finish it in the browser"
        )

    def _token(self, response: Mapping[str, Any], reg: Registration) -> SsoToken:
        now = clock.now().replace(microsecond=0)
        logs.register_secret(response["accessToken"])
        logs.register_secret(response.get("refreshToken"))
        return SsoToken(
            start_url=self.session.start_url,
            region=self.session.region,
            access_token=response["accessToken"],
            expires_at=now + timedelta(seconds=int(response["expiresIn"])),
            refresh_token=response.get("refreshToken") or None,
            client_id=reg.client_id,
            client_secret=reg.client_secret,
            registration_expires_at=reg.expires_at,
        )

    def _token_error(self, exc: Exception, what: str) -> AppError:
        """CreateToken's refusals as the errors a person sees.

        The class (and so the exit code and what to do next) is clients.ERROR_CODES'; only
        the wording is the login's own, and ExpiredTokenException, which the poll protocol
        uses for a device code that ran out before approval, is a timed-out login.
        """
        from aws_sso_tray.aws import clients

        code = clients.error_code(exc)
        kind = clients.error_class(exc)
        name = self.session.display_name
        if kind is LoginDeniedError:
            return LoginDeniedError(
                f"sign-in to SSO session '{name}' was denied in the browser: "
                "run the login again and choose Allow"
            )
        if code == "ExpiredTokenException":
            return LoginTimeoutError(
                f"the sign-in code for SSO session '{name}' expired before it was approved: "
                "run the login again"
            )
        if kind is RegistrationError:
            registration.drop(self.session)
            return RegistrationError(
                f"{what}: the OIDC client registration was rejected ({code}); "
                "it has been discarded: run the login again"
            )
        if kind is LoginNeededError:
            return LoginNeededError(
                f"{what}: the sign-in answer was refused ({clients.error_message(exc)}); "
                "run the login again"
            )
        return clients.to_app_error(exc, what=what)

    # -- authorization code + PKCE ----------------------------------------------------------

    def pkce(self, reason: str) -> SsoToken:
        from botocore.exceptions import ClientError

        state = str(uuid.uuid4())
        try:
            server = CallbackServer(state)
        except OSError as exc:
            raise _LoopbackUnavailable(exc.strerror or str(exc)) from exc
        try:
            reg = registration.obtain(self.session, self.client, "pkce", clock.now())
            verifier, challenge = make_pkce_pair()
            logs.register_secret(verifier)
            url = authorize_url(
                str(self.client.meta.endpoint_url),
                client_id=reg.client_id,
                redirect_uri=server.redirect_uri,
                state=state,
                scopes=reg.scopes,
                code_challenge=challenge,
            )
            server.start()
            log.info(
                "waiting for the browser sign-in of session %s on 127.0.0.1:%d",
                self.session.display_name,
                server.port,
            )
            self._prompt(
                LoginPrompt(
                    session=self.session.display_name,
                    flow="pkce",
                    url=url,
                    user_code=None,
                    verification_uri=None,
                    reason=reason,
                    opening_browser=self.open_browser,
                    expires_at=self._expires_at(),
                )
            )
            result = self._wait_for_callback(server)
        finally:
            server.close()
        name = self.session.display_name
        if result.error is not None:
            if result.error == "access_denied":
                raise LoginDeniedError(
                    f"sign-in to SSO session '{name}' was denied in the browser: "
                    "run the login again and choose Allow"
                )
            detail = f" ({result.error_description})" if result.error_description else ""
            raise LoginDeniedError(
                f"sign-in to SSO session '{name}' failed in the browser: {result.error}{detail}"
            )
        assert result.code is not None
        logs.register_secret(result.code)
        what = f"completing the sign-in to SSO session '{name}'"
        try:
            response = self._call(
                what,
                self.client.create_token,
                grantType=AUTH_CODE_GRANT,
                clientId=reg.client_id,
                clientSecret=reg.client_secret,
                redirectUri=server.redirect_uri,
                codeVerifier=verifier,
                code=result.code,
            )
        except ClientError as exc:
            raise self._token_error(exc, what) from exc
        return self._token(response, reg)

    def _wait_for_callback(self, server: CallbackServer) -> CallbackResult:
        while not server.done.wait(_WAIT_SLICE):
            self._check_cancel()
            if time.monotonic() >= self.deadline:
                raise self._timed_out()
        assert server.result is not None
        return server.result

    # -- device code --------------------------------------------------------------------------

    def device(self, reason: str) -> SsoToken:
        from botocore.exceptions import ClientError

        name = self.session.display_name
        reg = registration.obtain(self.session, self.client, "device", clock.now())
        what = f"starting the device sign-in for SSO session '{name}'"
        try:
            auth = self._call(
                what,
                self.client.start_device_authorization,
                clientId=reg.client_id,
                clientSecret=reg.client_secret,
                startUrl=self.session.start_url,
            )
        except ClientError as exc:
            raise self._token_error(exc, what) from exc
        device_code = auth["deviceCode"]
        logs.register_secret(device_code)
        interval = poll_interval(auth)
        self._prompt(
            LoginPrompt(
                session=name,
                flow="device",
                url=auth.get("verificationUriComplete") or auth["verificationUri"],
                user_code=auth.get("userCode"),
                verification_uri=auth.get("verificationUri"),
                reason=reason,
                opening_browser=self.open_browser,
                expires_at=min(
                    self._expires_at(),
                    clock.now() + timedelta(seconds=int(auth.get("expiresIn") or 600)),
                ),
            )
        )
        log.info("waiting for the device sign-in of session %s", name)
        what = f"waiting for the device sign-in of SSO session '{name}'"
        while True:
            self._sleep(interval)
            try:
                response = self._call(
                    what,
                    self.client.create_token,
                    grantType=DEVICE_GRANT,
                    clientId=reg.client_id,
                    clientSecret=reg.client_secret,
                    deviceCode=device_code,
                )
            except ClientError as exc:
                from aws_sso_tray.aws import clients

                code = clients.error_code(exc)
                if code == "AuthorizationPendingException":
                    continue
                if code == "SlowDownException":
                    interval += SLOW_DOWN_DELAY
                    log.info("device sign-in: asked to slow down; polling every %.0f s", interval)
                    continue
                raise self._token_error(exc, what) from exc
            return self._token(response, reg)

    def _sleep(self, seconds: float) -> None:
        """Wait `seconds`, raising on cancel or when the deadline passes first."""
        end = time.monotonic() + seconds
        while True:
            self._check_cancel()
            now = time.monotonic()
            if now >= self.deadline:
                raise self._timed_out()
            if now >= end:
                return
            self.cancel.wait(min(_WAIT_SLICE, end - now, self.deadline - now))


# --- logout ----------------------------------------------------------------------------------


def logout(session: SsoSession) -> LogoutResult:
    """End `session`: tell the portal (Logout), delete its token file, our cached role
    credentials of its profiles, and the recorded login time, and record the sign-out (a
    running tray or daemon then shows the session as signed out and opens no login by itself).

    An already invalid token is fine. When the portal cannot be reached the local files are
    still deleted and `revoke_error` says why the server-side session may live on.
    Credentials-file sections are left alone (`credfile.remove_sections` is the CLI's job).
    """
    from botocore.exceptions import BotoCoreError, ClientError

    from aws_sso_tray.aws import clients, rolecreds

    token = tokens.read_token(session)
    revoked = False
    revoke_error: str | None = None
    if token is not None:
        try:
            clients.portal_client(session.region).logout(accessToken=token.access_token)
            revoked = True
        except ClientError as exc:
            # A token the table calls dead (UnauthorizedException...), or one Logout finds
            # malformed (its own use of InvalidRequestException): nothing left to end.
            if (
                clients.error_class(exc) is LoginNeededError
                or clients.error_code(exc) == "InvalidRequestException"
            ):
                revoked = True
            else:
                revoke_error = clients.to_app_error(exc, what="signing out").message
        except BotoCoreError as exc:
            revoke_error = clients.to_app_error(exc, what="signing out").message
        if revoke_error:
            log.warning("SSO session %s: %s", session.display_name, revoke_error)
    tokens.delete_token(session)
    deleted = rolecreds.delete_cached_credentials(_profiles_of(session))
    history.record_logout(session.cache_key, session.start_url, clock.now())
    log.info(
        "signed out of SSO session %s (%d cached role credentials deleted)",
        session.display_name,
        deleted,
    )
    return LogoutResult(
        token_found=token is not None,
        revoked=revoked,
        revoke_error=revoke_error,
        credentials_deleted=deleted,
    )


def _profiles_of(session: SsoSession) -> list[Any]:
    from aws_sso_tray.aws import profiles

    try:
        loaded = profiles.load_profiles()
    except AppError as exc:
        log.warning("cannot read the AWS config to find cached role credentials: %s", exc)
        return []
    return [p for p in loaded if p.session.cache_key == session.cache_key]
