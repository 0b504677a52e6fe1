"""The emulator's STS: AssumeRole, SigV4-signed by credentials the emulator issued.

`POST /` with a form body (`Action=AssumeRole&Version=2011-06-15&...`), the query protocol
botocore's `sts` model speaks; answers are STS's XML, errors its `<ErrorResponse>` shape, so
stock botocore pointed here with `AWS_ENDPOINT_URL_STS` cannot tell it from AWS.

Every request must carry a valid Signature Version 4 (`Authorization: AWS4-HMAC-SHA256 ...`),
checked here from the spec with the secret issued for that access key (GetRoleCredentials or an
earlier AssumeRole: chains work), and the session token issued with it. Unknown key or token:
InvalidClientTokenId (403); expired credentials: ExpiredToken (400); a wrong signature or a
date more than 15 minutes off (real time): SignatureDoesNotMatch (403); no or a malformed
Authorization header: MissingAuthenticationToken / IncompleteSignature. AssumeRole takes any
well-formed role ARN; `DurationSeconds` is 900 to 3600 (every emulated role is chained: STS's
one-hour limit for role chaining), default 3600, and the credentials live that long but never
longer than the config's `credential_ttl` (so tests can ask for short ones). `SerialNumber`
(MFA) is refused: the emulator has no MFA devices.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
import time
import uuid
from collections.abc import Mapping
from datetime import datetime, timezone
from urllib.parse import parse_qsl, quote
from xml.sax.saxutils import escape

from aws_sso_tray.emulator.state import IdentityCenter

OPS = frozenset({"AssumeRole"})
ROUTE = "sts"  # the server's name for `POST /` before the Action is known
_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
_ALGORITHM = "AWS4-HMAC-SHA256"
_MAX_SKEW = 15 * 60
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/(?:[\x21-\x7e]+/)?([\w+=,.@-]{1,64})$")
_SESSION_NAME = re.compile(r"^[\w+=,.@-]{2,64}$")
_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[^/,\s]+)/"
    r"(?P<service>[^/,\s]+)/aws4_request,\s*SignedHeaders=(?P<headers>[a-z0-9;-]+),\s*"
    r"Signature=(?P<signature>[0-9a-f]{64})$"
)
_STATUS = {
    "MissingAuthenticationToken": 403,
    "IncompleteSignature": 400,
    "InvalidClientTokenId": 403,
    "SignatureDoesNotMatch": 403,
    "ExpiredToken": 400,
    "AccessDenied": 403,
    "ValidationError": 400,
    "InvalidAction": 400,
    "Throttling": 400,
    "InternalFailure": 500,
}


class StsError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    @property
    def status(self) -> int:
        return _STATUS.get(self.code, 400)


def action(body: bytes) -> str:
    """The operation a `POST /` asks for (the request log's name for it)."""
    found = dict(parse_qsl(body.decode("utf-8", "replace"))).get("Action", "")
    return found if found in OPS else "sts:Unknown"


def error_xml(error: StsError) -> bytes:
    kind = "Receiver" if error.status >= 500 else "Sender"
    return (
        f'<ErrorResponse xmlns="{_NS}"><Error><Type>{kind}</Type>'
        f"<Code>{escape(error.code)}</Code><Message>{escape(error.message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    ).encode()


def from_api_error(code: str, description: str) -> StsError:
    """A server-level error (an injected fault, an unknown operation) as STS would answer it."""
    if code == "InternalServerException":
        return StsError("InternalFailure", description)
    if code in ("SlowDownException", "TooManyRequestsException"):
        return StsError("Throttling", "Rate exceeded")
    if code == "UnknownOperationException":
        return StsError("InvalidAction", description)
    return StsError("ValidationError", description)


def handle(
    center: IdentityCenter, method: str, raw_path: str, headers: Mapping[str, str], body: bytes
) -> bytes:
    """Verify the request's signature and answer its action; StsError otherwise."""
    verify_signature(center, method, raw_path, headers, body)
    params = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    if params.get("Action") != "AssumeRole":
        raise StsError("InvalidAction", f"Could not find operation {params.get('Action')!r}")
    return assume_role(center, params)


def assume_role(center: IdentityCenter, params: Mapping[str, str]) -> bytes:
    arn = params.get("RoleArn", "")
    name = params.get("RoleSessionName", "")
    match = _ROLE_ARN.match(arn)
    if match is None:
        raise StsError("ValidationError", f"{arn!r} is not a valid role ARN")
    if not _SESSION_NAME.match(name):
        raise StsError("ValidationError", "RoleSessionName must be 2-64 characters of [\\w+=,.@-]")
    if params.get("SerialNumber"):
        raise StsError("AccessDenied", "MultiFactorAuthentication failed: no such MFA device")
    duration = params.get("DurationSeconds", "3600")
    if not duration.isdigit() or int(duration) < 900:
        raise StsError("ValidationError", "DurationSeconds must be at least 900")
    if int(duration) > 3600:
        raise StsError(
            "ValidationError",
            "The requested DurationSeconds exceeds the 1 hour session limit for roles "
            "assumed by role chaining.",
        )
    account, role = match.group(1), match.group(2)
    keys = center.issue_credentials(
        account, role, min(float(duration), center.config.credential_ttl)
    )
    role_id = "AROA" + "".join(secrets.choice(string.ascii_uppercase) for _ in range(16))
    expires = datetime.fromtimestamp(int(keys.expires_at), timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    return (
        f'<AssumeRoleResponse xmlns="{_NS}"><AssumeRoleResult>'
        f"<Credentials><AccessKeyId>{keys.access_key_id}</AccessKeyId>"
        f"<SecretAccessKey>{escape(keys.secret_access_key)}</SecretAccessKey>"
        f"<SessionToken>{escape(keys.session_token)}</SessionToken>"
        f"<Expiration>{expires}</Expiration></Credentials>"
        f"<AssumedRoleUser><AssumedRoleId>{role_id}:{escape(name)}</AssumedRoleId>"
        f"<Arn>arn:aws:sts::{account}:assumed-role/{escape(role)}/{escape(name)}</Arn>"
        f"</AssumedRoleUser><PackedPolicySize>0</PackedPolicySize></AssumeRoleResult>"
        f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
        f"</AssumeRoleResponse>"
    ).encode()


# --- Signature Version 4, from the spec ------------------------------------------------------


def verify_signature(
    center: IdentityCenter, method: str, raw_path: str, headers: Mapping[str, str], body: bytes
) -> None:
    """Check the request's SigV4 signature with the secret issued for its access key."""
    lower = {k.lower(): v for k, v in headers.items()}
    auth = lower.get("authorization")
    if not auth:
        raise StsError("MissingAuthenticationToken", "Request is missing Authentication Token")
    parsed = _AUTH.match(auth.strip())
    if parsed is None:
        raise StsError("IncompleteSignature", "Authorization header is not AWS4-HMAC-SHA256")
    keys = center.issued_credentials(parsed["key"])
    if keys is None or not hmac.compare_digest(
        lower.get("x-amz-security-token", ""), keys.session_token
    ):
        raise StsError(
            "InvalidClientTokenId", "The security token included in the request is invalid."
        )
    if keys.expires_at <= center.now():
        raise StsError("ExpiredToken", "The security token included in the request is expired")
    signed = parsed["headers"].split(";")
    amz_date = lower.get("x-amz-date", "")
    if (
        "host" not in signed
        or "x-amz-date" not in signed
        or not amz_date.startswith(parsed["date"])
    ):
        raise StsError("IncompleteSignature", "host and x-amz-date must be signed")
    try:
        when = (
            datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc).timestamp()
        )
    except ValueError:
        raise StsError("IncompleteSignature", "X-Amz-Date is not a date") from None
    if abs(when - time.time()) > _MAX_SKEW:
        raise StsError(
            "SignatureDoesNotMatch", "Signature expired: the request date is too far off"
        )
    scope = f"{parsed['date']}/{parsed['region']}/{parsed['service']}/aws4_request"
    to_sign = "\n".join(
        (
            _ALGORITHM,
            amz_date,
            scope,
            hashlib.sha256(canonical_request(method, raw_path, lower, signed, body)).hexdigest(),
        )
    )
    key = signing_key(keys.secret_access_key, parsed["date"], parsed["region"], parsed["service"])
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, parsed["signature"]):
        raise StsError(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method.",
        )


def canonical_request(
    method: str, raw_path: str, headers: Mapping[str, str], signed: list[str], body: bytes
) -> bytes:
    path, _, query = raw_path.partition("?")
    pairs = sorted(
        (quote(k, safe="-_.~"), quote(v, safe="-_.~"))
        for k, v in parse_qsl(query, keep_blank_values=True)
    )
    lines = [
        method,
        quote(path or "/", safe="/~"),
        "&".join(f"{k}={v}" for k, v in pairs),
        "".join(f"{name}:{' '.join(headers.get(name, '').split())}\n" for name in signed),
        ";".join(signed),
        hashlib.sha256(body).hexdigest(),
    ]
    return "\n".join(lines).encode()


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


__all__ = ["OPS", "ROUTE", "StsError", "action", "error_xml", "from_api_error", "handle"]
