"""A local IAM Identity Center for the tests and the demo: SSO OIDC, the portal, browser pages.

    with Emulator(EmulatorConfig(credential_ttl=30)) as emu:
        os.environ["AWS_ENDPOINT_URL_SSO"] = os.environ["AWS_ENDPOINT_URL_SSO_OIDC"] = emu.url

One HTTP server on 127.0.0.1 (ephemeral port by default) speaks the `sso-oidc` and `sso` wire
protocols exactly as botocore's 2019-06-10 models describe them (paths, methods, status codes,
error type in `x-amzn-ErrorType`, error bodies `{error, error_description}` for OIDC and
`{message}` for the portal), so stock boto3 cannot tell it from AWS. It also serves the pages a
browser sees: `/authorize` (auth code + PKCE) and `/device` (device code), each with an Allow and
a Deny button in a plain POST form.

Behaviour, including the choices made where AWS leaves room:
- RegisterClient remembers scopes, grantTypes, redirectUris and issuerUrl. Clients registered
  without grantTypes (the legacy device-code registration) may use only the device code grant
  and get no refresh token; a client gets refresh tokens only when registered with the
  `refresh_token` grant. Unknown client, wrong secret or expired registration:
  InvalidClientException (401). A grant the client did not register: UnauthorizedClientException.
- Device code: AuthorizationPendingException until approved (page or `approve_device`),
  SlowDownException when polled again sooner than `interval` seconds (the base interval is
  enforced, not interval + 5), AccessDeniedException once denied, ExpiredTokenException after
  `device_code_ttl`; the device code is single-use (InvalidGrantException afterwards).
- Auth code + PKCE (S256 only): redirect_uri must match a registered one, loopback ones on any
  port; codes live `auth_code_ttl` and are single-use (a replay also revokes the session it
  created); wrong verifier or redirectUri: InvalidGrantException.
- An SSO session starts at the login's first token and ends `session_ttl` later. Access tokens
  live `access_token_ttl` but never past the session end. Refresh tokens ROTATE: each refresh
  returns a new refresh token and revokes the one presented (config `rotate_refresh_tokens=False`
  returns the same one instead). Refresh after the session end, after Logout or `revoke_all()`:
  InvalidGrantException.
- Portal: GetRoleCredentials returns `ASIA...` keys living `credential_ttl`, expiration in epoch
  milliseconds; UnauthorizedException (401) for an unknown, expired or revoked token; for a role
  or account the user lacks, ForbiddenException 403 "No access" as AWS answers (not in the model,
  so boto3 raises a plain ClientError), or the modelled ResourceNotFoundException 404 with
  `missing_role_error="ResourceNotFoundException"`. ListAccounts / ListAccountRoles paginate
  with nextToken / maxResults (default page 20); ListAccountRoles for an unknown account:
  ResourceNotFoundException. Logout revokes the token's whole session (its access and refresh
  tokens).
- Faults (`inject_fault`): "5xx" InternalServerException 500; "throttle" TooManyRequestsException
  429 on portal operations and SlowDownException 400 on OIDC operations (the OIDC API's throttling
  answer). botocore's legacy and standard retry modes retry the 500s, the 429s and dropped
  connections, never SlowDownException. "latency" sleeps then answers; "drop" closes the
  connection unanswered (the request log records status 0); "hold" keeps the request waiting
  until `release()` (`held()` counts the waiting ones), to order two clients' calls exactly.
  `op=None` means any API operation; pages are faulted only when named (`"page:/authorize"`).
- `login()` makes a logged-in session without HTTP (for tests that need a valid token cache);
  `pending_user_codes()` lists device logins waiting for a decision; `browser.browse(url)` (or
  BROWSER="python -m aws_sso_tray.emulator.browser %s") presses Allow or Deny on the pages, or
  ignores them; STANDIN_ACTION / STANDIN_LOG / STANDIN_DELAY tune the command (see browser.py).
- Sign-in federation (`signin.py`, for `AWS_ENDPOINT_URL_SIGNIN`): `GET /federation` with
  `Action=getSigninToken` takes only role credentials GetRoleCredentials issued and that have
  not expired; `Action=login` redirects to the console landing page `/console`, which names the
  account and role. Sign-in tokens and console sessions count among `issued_secrets()`.
- STS (`AWS_ENDPOINT_URL_STS`): AssumeRole, SigV4-checked with the secret issued for the
  signing key (by GetRoleCredentials or an earlier AssumeRole, so chains work); unknown keys,
  bad signatures and expired credentials get STS's own errors; see sts.py.
- `config.latency` seconds are added to every API call (not to pages).
- The clock is real time plus `advance()`; the request log uses real wall time. A portal whose
  clock is off from ours: `advance(skew)` (negative: behind) before the login.
  `role_calls(account, role)` lists when GetRoleCredentials was asked for one role.
- `Emulator(config, ssl_context=ctx)` serves HTTPS instead (its `url` starts `https://`): the
  proxy and corporate-CA tests give it a certificate for 127.0.0.1 and localhost from a test CA.
- The logger is `aws_sso_tray.emulator`; no secret is ever logged, and http.server's own stderr
  lines are silenced.
"""

from __future__ import annotations

from aws_sso_tray.emulator.server import Emulator, RequestRecord
from aws_sso_tray.emulator.state import (
    Account,
    ApiError,
    EmulatorConfig,
    IssuedLogin,
    pkce_challenge,
)

__all__ = [
    "Account",
    "ApiError",
    "Emulator",
    "EmulatorConfig",
    "IssuedLogin",
    "RequestRecord",
    "pkce_challenge",
]
