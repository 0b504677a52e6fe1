"""Browser sign-in to an SSO session, and sign-out: the only place that talks to a person.

Two flows, as `aws sso login` has them:
- authorization code + PKCE (`[sso-session]` profiles): register a public client, open
  `{oidc endpoint}/authorize?...` in the system browser, receive the code on a one-shot HTTP
  server bound to 127.0.0.1 only (ephemeral port, path /oauth/callback), exchange it with the
  code verifier;
- device code (legacy profiles, `flow="device"`, and, unless $BROWSER is set, wherever the
  loopback may not work: SSH, no display, containers, WSL; `choose_flow` says which and why):
  open verificationUriComplete,
  show the user code, poll CreateToken at the given interval (+5 s on SlowDown).

The result is the AWS CLI's token cache file (`tokens.write_token`, so stock boto3 uses it with
no further step) and the AWS CLI's client-registration cache file, reused until it expires
within 15 minutes or lacks a grant the flow needs. The login time goes to `sessionstate`, which
is what `session_end` estimates the end of the session from.

One login per session at a time, across processes: a per-session lock file in our state folder
taken with timeout 0. A second caller gets AlreadyRunningError naming the URL and code of the
login that is waiting (the default: a person who runs `login` twice wants to know where the
first one is), or with `join=True` waits for that login to finish and returns its token.

`login()` never prints: it hands a `LoginPrompt` to `on_prompt`, which the CLI prints and the
tray shows; when the browser cannot show the page, `on_prompt` hears it again with
`browser_error` set (and the URL is logged), so the person always learns where to sign in.
It runs on any thread and stops promptly when `cancel` is set. It never logs a token, client
secret, code verifier or authorization code, and registers each with `logs.register_secret` so
that handlers installed by `logs.setup_logging` mask them anywhere.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import html
import json
import logging
import os
import secrets
import string
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from aws_sso_tray import clock, logs
from aws_sso_tray.aws import tokens
from aws_sso_tray.aws.tokens import SsoToken
from aws_sso_tray.errors import (
    AlreadyRunningError,
    AppError,
    ConfigError,
    ExitCode,
    LoginDeniedError,
    LoginNeededError,
    LoginTimeoutError,
    Recovery,
    RegistrationError,
)
from aws_sso_tray.files import atomicfile, paths
from aws_sso_tray.login import history

if TYPE_CHECKING:
    from aws_sso_tray.aws.profiles import SsoSession

log = logging.getLogger(__name__)

Flow = Literal["pkce", "device"]
FlowChoice = Literal["auto", "pkce", "device"]

DEFAULT_TIMEOUT = 600.0  # the AWS CLI's overall wait for the browser
DEFAULT_SESSION_DURATION = timedelta(hours=8)  # IAM Identity Center's default session length
DEFAULT_SCOPE = "sso:account:access"
REDIRECT_PATH = "/oauth/callback"
REDIRECT_URI = f"http://127.0.0.1{REDIRECT_PATH}"  # registered without a port (RFC 8252)
AUTH_CODE_GRANT = "authorization_code"
REFRESH_GRANT = "refresh_token"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
PKCE_GRANTS = (AUTH_CODE_GRANT, REFRESH_GRANT)
REGISTRATION_MIN_REMAINING = timedelta(minutes=15)  # the AWS CLI's _EXPIRY_WINDOW
DEFAULT_POLL_INTERVAL = 5.0  # RFC 8628 3.2
MIN_POLL_INTERVAL = 0.2  # an `interval` of 0 is honoured, but never as a busy loop
SLOW_DOWN_DELAY = 5.0  # RFC 8628 3.5: add 5 s to the interval on slow_down
_WAIT_SLICE = 0.1  # how often a wait checks `cancel` and the deadline

_VERIFIER_ALPHABET = string.ascii_letters + string.digits + "-._~"


class LoginCancelledError(AppError):
    """The caller set the `cancel` event (the tray quit, or the user pressed Cancel)."""

    exit_code = ExitCode.ERROR
    title = "Login cancelled"


@dataclass(frozen=True)
class LoginPrompt:
    """What the person must do: open `url` (and, for device code, confirm `user_code`)."""

    session: str  # the session's display name
    flow: Flow
    url: str  # the page to open: the authorize URL, or verificationUriComplete
    user_code: str | None  # device code only: the code the page shows, to compare
    verification_uri: str | None  # device code only: where to type the code by hand
    reason: str  # why this flow was chosen, one line
    opening_browser: bool  # False with open_browser=False: the caller must show the URL
    expires_at: datetime  # when the login stops waiting
    joined: bool = False  # True when this is another caller's login, being waited for
    browser_error: str | None = None  # why no browser showed `url`: the caller must show it

    def to_dict(self) -> dict[str, Any]:
        return {
            "session": self.session,
            "flow": self.flow,
            "url": self.url,
            "userCode": self.user_code,
            "verificationUri": self.verification_uri,
            "reason": self.reason,
            "openingBrowser": self.opening_browser,
            "expiresAt": clock.format_time(self.expires_at),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, joined: bool = False) -> LoginPrompt:
        flow: Flow = "device" if data.get("flow") == "device" else "pkce"
        return cls(
            session=str(data["session"]),
            flow=flow,
            url=str(data["url"]),
            user_code=data.get("userCode"),
            verification_uri=data.get("verificationUri"),
            reason=str(data.get("reason") or ""),
            opening_browser=bool(data.get("openingBrowser")),
            expires_at=clock.parse_time(data["expiresAt"]),
            joined=joined,
        )


@dataclass(frozen=True)
class LogoutResult:
    token_found: bool  # there was a cached token to revoke
    revoked: bool  # the portal's Logout accepted it (or it was already invalid)
    revoke_error: str | None  # why the portal could not be told, when it could not
    credentials_deleted: int  # cached role-credential files removed


PromptHandler = Callable[[LoginPrompt], None]


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


@dataclass(frozen=True)
class _CallbackResult:
    code: str | None
    error: str | None
    error_description: str | None


_PAGE = (
    '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
    "<style>body{{font-family:sans-serif;max-width:32em;margin:3em auto;padding:0 1em}}"
    "</style></head>\n<body><h1>{title}</h1>\n<p>{message}</p>\n</body></html>\n"
)


class _CallbackHandler(BaseHTTPRequestHandler):
    server: _CallbackServer

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path != REDIRECT_PATH:
            self._answer(404, "Not found", "This address is not part of the sign-in.")
            return
        self.server.receive(self, parse_qs(parts.query))

    def _answer(self, status: int, title: str, message: str) -> None:
        body = _PAGE.format(title=html.escape(title), message=html.escape(message)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        # The URL carried the authorization code: keep it out of caches and Referer headers.
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        # http.server writes every request line (with the code in it) to stderr: say only
        # which path was asked for, never the query.
        log.debug("callback server: %s %s", self.command, urlsplit(self.path).path)


class _CallbackServer(ThreadingHTTPServer):
    """The one-shot loopback receiver of `?code=..&state=..` (or `?error=..`).

    The authorize URL (with `state`) is on the browser's command line, which every local user
    can read in /proc, as with `aws sso login`; the PKCE verifier never leaves this process, so
    a code sent elsewhere is useless. To keep the window short, the first answer that carries
    the right state ends the server: it stops listening before it sends its page, so any later
    request is refused at connect. Requests with a wrong state or path are answered and do not
    count (else any local process could abort the login with one request).
    """

    daemon_threads = True
    block_on_close = False

    def __init__(self, expected_state: str) -> None:
        super().__init__(("127.0.0.1", 0), _CallbackHandler)
        self._expected_state = expected_state
        self._lock = threading.Lock()
        self.result: _CallbackResult | None = None
        self.done = threading.Event()
        self.rejected = 0
        self._closed = False
        self._close_lock = threading.Lock()
        self._thread = threading.Thread(
            target=self.serve_forever,
            kwargs={"poll_interval": _WAIT_SLICE},
            name="login-callback",
            daemon=True,
        )

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.port}{REDIRECT_PATH}"

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        """Stop listening (idempotent; callable from a handler's thread too)."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
            if self._thread.is_alive():
                self.shutdown()
            self.server_close()

    def receive(self, handler: _CallbackHandler, query: dict[str, list[str]]) -> None:
        state = _first(query, "state") or ""
        code = _first(query, "code")
        error = _first(query, "error")
        with self._lock:
            if self.done.is_set():
                handler._answer(
                    409, "Already done", "This sign-in has already finished: close this tab."
                )
                return
            if not secrets.compare_digest(state.encode(), self._expected_state.encode()):
                # A stale tab from an earlier login, or someone else's request: refuse it but
                # keep waiting for the real answer (failing here would let any local process
                # abort the login).
                self.rejected += 1
                log.warning("sign-in callback with a wrong state rejected; still waiting")
                handler._answer(
                    400,
                    "Not this sign-in",
                    "This sign-in answer does not belong to the login aws-sso-tray is "
                    "waiting for (an old tab?). Start the login again if needed.",
                )
                return
            if error is None and not code:
                handler._answer(400, "Incomplete", "The sign-in answer carried no code.")
                return
            self.result = _CallbackResult(
                code=code if error is None else None,
                error=error,
                error_description=_first(query, "error_description"),
            )
            self.done.set()
        # The one answer is in: stop listening first, then answer on this connection.
        self.close()
        if error is None:
            handler._answer(
                200,
                "Signed in",
                "aws-sso-tray is signed in. You can close this tab and return to the app.",
            )
        else:
            handler._answer(
                200, "Sign-in not completed", "The sign-in was not allowed. You can close this tab."
            )


def poll_interval(authorization: Mapping[str, Any]) -> float:
    """Seconds between device-code polls: the StartDeviceAuthorization `interval` (AWS says
    whole seconds, 1 or more), 5 when it gives none (RFC 8628 3.2); an interval of 0 (the
    emulator's for tests that approve at once) is a value, not a missing one."""
    value = authorization.get("interval")
    if value is None:
        return DEFAULT_POLL_INTERVAL
    return max(float(value), MIN_POLL_INTERVAL)


def _first(query: Mapping[str, list[str]], key: str) -> str | None:
    values = query.get(key)
    return values[0] if values else None


# --- the registration cache ----------------------------------------------------------------


def registration_cache_file(session: SsoSession) -> Path:
    """The AWS CLI's client-registration cache file for `session` (same name, same content)."""
    scopes = list(session.registration_scopes) if session.registration_scopes else None
    args = {
        "tool": "botocore",
        "startUrl": session.start_url,
        "region": session.region,
        "scopes": scopes,
        "session_name": session.name,
    }
    digest = hashlib.sha1(
        json.dumps(args, sort_keys=True).encode("utf-8"), usedforsecurity=False
    ).hexdigest()
    return paths.sso_cache_dir() / f"{digest}.json"


@dataclass(frozen=True)
class Registration:
    client_id: str
    client_secret: str
    expires_at: datetime
    scopes: tuple[str, ...]
    grant_types: tuple[str, ...] | None  # None: registered without (the CLI's device flow)

    def suits(self, flow: Flow, now: datetime) -> bool:
        """Live for 15 more minutes and registered for the grant the flow needs."""
        if self.expires_at - now < REGISTRATION_MIN_REMAINING:
            return False
        if flow == "pkce":
            return self.grant_types is not None and all(g in self.grant_types for g in PKCE_GRANTS)
        # A registration without grantTypes is the device flow's; one that lists its grants
        # must list the device grant (the AWS CLI re-registers any auth-code registration).
        return self.grant_types is None or DEVICE_GRANT in self.grant_types

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "clientId": self.client_id,
            "clientSecret": self.client_secret,
            "expiresAt": clock.format_time(self.expires_at),
        }
        if self.scopes:
            data["scopes"] = list(self.scopes)
        if self.grant_types is not None:
            data["grantTypes"] = list(self.grant_types)
        return data


def read_registration(session: SsoSession) -> Registration | None:
    path = registration_cache_file(session)
    try:
        text = atomicfile.read_text(path)
        if text is None:
            return None
        data = json.loads(text)
        grants = data.get("grantTypes")
        return Registration(
            client_id=str(data["clientId"]),
            client_secret=str(data["clientSecret"]),
            expires_at=clock.parse_time(data["expiresAt"]),
            scopes=tuple(data.get("scopes") or ()),
            grant_types=tuple(grants) if isinstance(grants, list) else None,
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        log.info("ignoring unusable client registration cache %s", path)
        return None


def _registration(session: SsoSession, client: Any, flow: Flow, now: datetime) -> Registration:
    from botocore.exceptions import BotoCoreError, ClientError

    from aws_sso_tray.aws import clients

    # An [sso-session] always asks for scopes (the portal's default when the config names none):
    # a client registered with scopes gets refresh tokens, so the session renews silently in
    # either flow. A legacy profile registers as the AWS CLI does for it, without scopes.
    scopes = session.registration_scopes
    if flow == "pkce" or session.name is not None:
        scopes = scopes or (DEFAULT_SCOPE,)
    cached = read_registration(session)
    if cached is not None and cached.suits(flow, now) and set(scopes) <= set(cached.scopes):
        log.debug("reusing the cached client registration for session %s", session.display_name)
        logs.register_secret(cached.client_secret)
        return cached
    kwargs: dict[str, Any] = {
        "clientName": f"aws-sso-tray-{session.name or int(now.timestamp())}",
        "clientType": "public",
    }
    if flow == "pkce":
        kwargs.update(
            grantTypes=list(PKCE_GRANTS),
            redirectUris=[REDIRECT_URI],
            issuerUrl=session.start_url,
        )
    if scopes:
        kwargs["scopes"] = list(scopes)
    what = f"registering a client for SSO session '{session.display_name}'"
    try:
        response = client.register_client(**kwargs)
    except ClientError as exc:
        # What to do next comes from the one table: throttling and 5xx are retried later;
        # any other refusal is of this registration, which the config's values decide.
        if clients.recovery_of(exc) is Recovery.RETRY:
            raise clients.to_app_error(exc, what=what) from exc
        raise RegistrationError(
            f"{what}: {clients.error_code(exc)}: {clients.error_message(exc)}; "
            "check sso_start_url, sso_region and sso_registration_scopes in ~/.aws/config"
        ) from exc
    except BotoCoreError as exc:
        raise _translated(exc, what) from exc
    logs.register_secret(response["clientSecret"])
    registration = Registration(
        client_id=response["clientId"],
        client_secret=response["clientSecret"],
        expires_at=clock.parse_time(int(response["clientSecretExpiresAt"])),
        scopes=tuple(scopes),
        grant_types=tuple(PKCE_GRANTS) if flow == "pkce" else None,
    )
    atomicfile.write_atomic(
        registration_cache_file(session), json.dumps(registration.to_dict()).encode("utf-8")
    )
    log.info("registered a new OIDC client for session %s", session.display_name)
    return registration


def _drop_registration(session: SsoSession) -> None:
    with contextlib.suppress(FileNotFoundError):
        registration_cache_file(session).unlink()


def _translated(exc: BaseException, what: str) -> AppError:
    from aws_sso_tray.aws import clients

    return clients.to_app_error(exc, what=what)


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
    with _login_lock(session) as acquired:
        if not acquired:
            return _join_or_report(session, join, deadline, on_prompt, cancel)
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
            raise _translated(exc, what) from exc

    def _prompt(self, prompt: LoginPrompt) -> None:
        _publish_prompt(self.session, prompt)
        if self.on_prompt is not None:
            self.on_prompt(prompt)
        if self.open_browser:
            _open_in_background(prompt, self.on_prompt)

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

    def _token(self, response: Mapping[str, Any], registration: Registration) -> SsoToken:
        now = clock.now().replace(microsecond=0)
        logs.register_secret(response["accessToken"])
        logs.register_secret(response.get("refreshToken"))
        return SsoToken(
            start_url=self.session.start_url,
            region=self.session.region,
            access_token=response["accessToken"],
            expires_at=now + timedelta(seconds=int(response["expiresIn"])),
            refresh_token=response.get("refreshToken") or None,
            client_id=registration.client_id,
            client_secret=registration.client_secret,
            registration_expires_at=registration.expires_at,
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
            _drop_registration(self.session)
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
            server = _CallbackServer(state)
        except OSError as exc:
            raise _LoopbackUnavailable(exc.strerror or str(exc)) from exc
        try:
            registration = _registration(self.session, self.client, "pkce", clock.now())
            verifier, challenge = make_pkce_pair()
            logs.register_secret(verifier)
            url = authorize_url(
                str(self.client.meta.endpoint_url),
                client_id=registration.client_id,
                redirect_uri=server.redirect_uri,
                state=state,
                scopes=registration.scopes,
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
                clientId=registration.client_id,
                clientSecret=registration.client_secret,
                redirectUri=server.redirect_uri,
                codeVerifier=verifier,
                code=result.code,
            )
        except ClientError as exc:
            raise self._token_error(exc, what) from exc
        return self._token(response, registration)

    def _wait_for_callback(self, server: _CallbackServer) -> _CallbackResult:
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
        registration = _registration(self.session, self.client, "device", clock.now())
        what = f"starting the device sign-in for SSO session '{name}'"
        try:
            auth = self._call(
                what,
                self.client.start_device_authorization,
                clientId=registration.client_id,
                clientSecret=registration.client_secret,
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
                    clientId=registration.client_id,
                    clientSecret=registration.client_secret,
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
            return self._token(response, registration)

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


# --- the browser -----------------------------------------------------------------------------

BROWSER_GRACE = 1.0  # a browser command that fails within this could not show the page


def open_url(url: str) -> bool:
    """Open `url` in a browser; False when none took it (see `launch_browser` for why)."""
    return launch_browser(url) is None


def launch_browser(url: str) -> str | None:
    """Open `url` in the browser; None when one took it, else why not (one line, no secret).

    $BROWSER is read now (webbrowser reads it once per process; a long-running tray and the
    tests see it change) and is the user's word: each entry is run as a command (`%s` marks
    the URL, else the URL is appended; a trailing `&` is ignored: we never wait for it), and
    one that exits non-zero within `BROWSER_GRACE` seconds has failed (Chromium started by
    root without --no-sandbox does exactly that). Still running then, or exited 0 (a launcher
    such as VS Code's helper or xdg-open that handed the URL on), counts as opened. Without
    $BROWSER, Python's webbrowser picks one and says whether it could.
    """
    import webbrowser

    choices = [c for c in os.environ.get("BROWSER", "").split(os.pathsep) if c.strip()]
    if not choices:
        try:
            if webbrowser.open(url, new=2):
                return None
        except Exception as exc:  # a broken desktop setup must not break the login
            return f"no browser could be started ({exc})"
        return "no browser was found to open it"
    problems = []
    for choice in choices:
        problem = _run_browser(choice, url)
        if problem is None:
            return None
        problems.append(problem)
    return "; ".join(problems)


def _run_browser(choice: str, url: str) -> str | None:
    import shlex
    import subprocess

    try:
        words = shlex.split(choice.strip())
    except ValueError as exc:
        return f"$BROWSER entry {choice!r} cannot be parsed ({exc})"
    if words and words[-1] == "&":
        words.pop()
    if not words:
        return f"$BROWSER entry {choice!r} names no command"
    argv = [w.replace("%s", url) for w in words] if "%s" in choice else [*words, url]
    name = words[0]
    try:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # Ctrl-C in our terminal must not close the browser
        )
    except OSError as exc:
        return f"the browser command {name!r} cannot be run ({exc.strerror or exc})"
    last: list[str] = []
    assert process.stderr is not None
    reader = threading.Thread(
        target=_keep_last_line, args=(process.stderr, last), name="browser-stderr", daemon=True
    )
    reader.start()
    try:
        status = process.wait(BROWSER_GRACE)
    except subprocess.TimeoutExpired:
        # A browser that stays up has the page; reap it whenever it closes.
        threading.Thread(target=process.wait, name="browser-reaper", daemon=True).start()
        return None
    if status == 0:
        return None
    reader.join(0.2)
    said = f": {last[0]}" if last else ""
    return f"the browser command {name!r} exited with status {status}{said}"


def _keep_last_line(stream: Any, last: list[str]) -> None:
    with contextlib.suppress(OSError, ValueError):
        for raw in stream:
            line = raw.decode("utf-8", "replace").strip()
            if line:
                last[:] = [line[:200]]
    with contextlib.suppress(OSError):
        stream.close()


def _open_in_background(prompt: LoginPrompt, on_prompt: PromptHandler | None) -> None:
    # Never let a slow or hanging browser command hold up the wait for the callback, the
    # timeout or `cancel`. A browser that cannot show the page leaves the URL (and code) in
    # the log, and `on_prompt` hears it again with `browser_error` set to say so.
    def run() -> None:
        try:
            problem = launch_browser(prompt.url)
        except Exception as exc:
            problem = f"the browser could not be started ({exc})"
        if problem is None:
            return
        # The caller shows it (the CLI prints it): a WARNING would say it twice on stderr.
        log_browser_failure(prompt, problem, level=logging.INFO if on_prompt else logging.WARNING)
        if on_prompt is not None:
            on_prompt(dataclasses.replace(prompt, opening_browser=False, browser_error=problem))

    threading.Thread(target=run, name="login-browser", daemon=True).start()


def log_browser_failure(prompt: LoginPrompt, problem: str, *, level: int = logging.WARNING) -> None:
    """Say where to sign in when no browser showed the page (the URL and user code are no
    secrets: the person has to see them)."""
    code = f" and confirm the code {prompt.user_code}" if prompt.user_code else ""
    log.log(
        level,
        "could not open a browser for the sign-in to %s (%s): open %s%s",
        prompt.session,
        problem,
        prompt.url,
        code,
    )


# --- one login per session -------------------------------------------------------------------


def _session_digest(session: SsoSession) -> str:
    return hashlib.sha1(session.cache_key.encode("utf-8"), usedforsecurity=False).hexdigest()[:16]


def _lock_file(session: SsoSession) -> Path:
    return paths.state_dir() / "locks" / f"login-{_session_digest(session)}.lock"


def _prompt_file(session: SsoSession) -> Path:
    return paths.state_dir() / "logins" / f"{_session_digest(session)}.json"


@contextlib.contextmanager
def _login_lock(session: SsoSession) -> Iterator[bool]:
    """Hold the session's login lock if free (yields True), else yield False at once."""
    from filelock import Timeout

    lock = atomicfile.file_lock(_lock_file(session))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        yield False
        return
    try:
        yield True
    finally:
        with contextlib.suppress(OSError):
            _prompt_file(session).unlink()
        lock.release()


def _publish_prompt(session: SsoSession, prompt: LoginPrompt) -> None:
    """Tell a second caller where this login waits (no secret: URL, user code, pid)."""
    data = {"pid": os.getpid(), "prompt": prompt.to_dict()}
    try:
        atomicfile.write_atomic(_prompt_file(session), json.dumps(data).encode("utf-8"))
    except AppError as exc:
        log.warning("cannot record the running login: %s", exc)


def _running_prompt(session: SsoSession) -> LoginPrompt | None:
    try:
        text = atomicfile.read_text(_prompt_file(session))
        if not text:
            return None
        return LoginPrompt.from_dict(json.loads(text)["prompt"], joined=True)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _join_or_report(
    session: SsoSession,
    join: bool,
    deadline: float,
    on_prompt: PromptHandler | None,
    cancel: threading.Event,
) -> SsoToken:
    name = session.display_name
    running = _running_prompt(session)
    if not join:
        where = ""
        if running is not None:
            code = f" and confirm code {running.user_code}" if running.user_code else ""
            where = f": open {running.url}{code}"
        raise AlreadyRunningError(
            f"a sign-in to SSO session '{name}' is already waiting{where} "
            "(or wait for it to finish, then try again)"
        )
    if running is not None and on_prompt is not None:
        on_prompt(running)
    started = clock.now()
    log.info("another sign-in to session %s is running; waiting for it", name)
    while True:
        if cancel.wait(_WAIT_SLICE * 2):
            raise LoginCancelledError(f"waiting for the sign-in to SSO session '{name}' cancelled")
        if time.monotonic() >= deadline:
            raise LoginTimeoutError(
                f"the other sign-in to SSO session '{name}' did not finish in time: try again"
            )
        with _login_lock(session) as acquired:
            if not acquired:
                continue
        break
    token = tokens.read_token(session)
    record = history.get(session.cache_key)
    if (
        token is not None
        and not token.expired(clock.now())
        and record is not None
        and record.login_time >= started.replace(microsecond=0) - timedelta(seconds=1)
    ):
        return token
    raise LoginNeededError(
        f"the other sign-in to SSO session '{name}' did not complete: run the login again"
    )


# --- session end -----------------------------------------------------------------------------


def login_time(session: SsoSession) -> datetime | None:
    """When we last signed in to `session` (None: never, or someone else did, e.g. the CLI)."""
    record = history.get(session.cache_key)
    if record is None or record.start_url.rstrip("/") != session.start_url.rstrip("/"):
        return None
    return record.login_time


def signed_out_at(
    session: SsoSession,
    *,
    now: datetime,
    session_duration: timedelta = DEFAULT_SESSION_DURATION,
) -> datetime | None:
    """When the user signed out of `session`, which has no usable token (a token, from any
    tool's sign-in, outranks a sign-out: callers that found one do not ask); None: not since
    the last sign-in.

    Our `logout` records the sign-out. Another tool's leaves no record: `aws sso logout`, or
    botocore, deletes the token file. A token file that is gone while the sign-in we recorded
    says the session still runs is that sign-out too (its time unknown: `now` is returned).
    """
    recorded = history.signed_out_at(session.cache_key, session.start_url)
    if recorded is not None:
        return recorded
    started = login_time(session)
    if started is not None and started + session_duration > now and token_file_gone(session):
        return now
    return None


def token_file_gone(session: SsoSession) -> bool:
    """True when the session's token file does not exist (False when we cannot tell)."""
    try:
        tokens.token_cache_file(session).stat()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return False


def session_end(
    session: SsoSession,
    *,
    session_duration: timedelta = DEFAULT_SESSION_DURATION,
) -> datetime | None:
    """When the SSO session is expected to end; None when there is no cached token.

    Not the access token's expiry: a token with a refresh token is renewed until the session
    ends, which is `session_duration` (the administrator's setting, default 8 h) after the
    login we recorded. A token without a refresh token ends at its `expiresAt`. When we did not
    record the login (the AWS CLI did it), the token's `expiresAt` is the only safe answer. The
    end is never before `expiresAt`: the token works until then in any case.
    """
    token = tokens.read_token(session)
    if token is None:
        return None
    if not token.refresh_token:
        return token.expires_at
    started = login_time(session)
    if started is None:
        return token.expires_at
    return max(started + session_duration, token.expires_at)


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
