"""The one table of service error codes: each an AppError, its exit code and its recovery."""

from __future__ import annotations

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    InvalidRegionError,
    ReadTimeoutError,
)

from aws_sso_tray.aws import clients
from aws_sso_tray.errors import (
    AppError,
    ConfigError,
    ExitCode,
    LoginNeededError,
    NetworkError,
    NoRoleAccessError,
    Recovery,
    RegistrationError,
    ServiceError,
    ThrottledError,
)


def client_error(code: str, message: str = "boom") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "GetRoleCredentials")


@pytest.mark.parametrize(
    ("code", "cls", "exit_code", "recovery"),
    [
        ("UnauthorizedException", LoginNeededError, ExitCode.LOGIN_NEEDED, Recovery.LOGIN),
        ("InvalidGrantException", LoginNeededError, ExitCode.LOGIN_NEEDED, Recovery.LOGIN),
        ("InvalidClientException", RegistrationError, ExitCode.REGISTRATION, Recovery.LOGIN),
        ("ForbiddenException", NoRoleAccessError, ExitCode.SERVICE, Recovery.FIX),
        ("ResourceNotFoundException", NoRoleAccessError, ExitCode.SERVICE, Recovery.FIX),
        ("InvalidRequestException", ServiceError, ExitCode.SERVICE, Recovery.FIX),
        ("TooManyRequestsException", ThrottledError, ExitCode.THROTTLED, Recovery.RETRY),
        ("SlowDownException", ThrottledError, ExitCode.THROTTLED, Recovery.RETRY),
        ("InternalServerException", ServiceError, ExitCode.SERVICE, Recovery.RETRY),
        ("SomeCodeAwsAddsNextYear", ServiceError, ExitCode.SERVICE, Recovery.RETRY),
    ],
)
def test_service_codes_map_to_a_class_an_exit_code_and_a_recovery(
    code: str, cls: type[AppError], exit_code: ExitCode, recovery: Recovery
) -> None:
    error = clients.to_app_error(client_error(code), what="getting credentials")
    assert isinstance(error, cls)
    assert error.exit_code == exit_code
    assert error.recovery is recovery is clients.recovery_of(client_error(code))
    assert error.message.startswith("getting credentials: ") and "\n" not in error.message


@pytest.mark.parametrize(
    ("exc", "cls", "recovery"),
    [
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:9"), NetworkError, Recovery.RETRY),
        (ConnectTimeoutError(endpoint_url="http://127.0.0.1:9"), NetworkError, Recovery.RETRY),
        (ReadTimeoutError(endpoint_url="http://127.0.0.1:9"), NetworkError, Recovery.RETRY),
        (InvalidRegionError(region_name="us east 1"), ConfigError, Recovery.FIX),
    ],
)
def test_botocore_exceptions_map_along_their_class_tree(
    exc: Exception, cls: type[AppError], recovery: Recovery
) -> None:
    error = clients.to_app_error(exc, what="getting credentials")
    assert type(error) is cls and error.recovery is recovery


def test_every_error_class_says_what_to_do_next() -> None:
    from aws_sso_tray import errors

    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, AppError)]
    assert len(classes) > 10
    for cls in classes:
        assert isinstance(cls.recovery, Recovery), cls
    for cls in clients.ERROR_CODES.values():
        assert cls in classes
