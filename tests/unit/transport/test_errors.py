"""One mapping from exceptions to statuses for both transports."""

from __future__ import annotations

import logging
import re

import grpc
import pytest
from sqlalchemy.exc import OperationalError

from aerodrome.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from aerodrome.transport.errors import failure_from


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (InvalidArgument("bad"), grpc.StatusCode.INVALID_ARGUMENT),
        (NotFound("gone"), grpc.StatusCode.NOT_FOUND),
        (AlreadyExists("same"), grpc.StatusCode.ALREADY_EXISTS),
        (FailedPrecondition("later"), grpc.StatusCode.FAILED_PRECONDITION),
    ],
)
def test_admin_errors_keep_code_and_message(error: Exception, code: grpc.StatusCode) -> None:
    failure = failure_from(error, "CreateTask")
    assert failure.code == code
    assert failure.message == str(error)


def test_unexpected_exception_is_internal_with_logged_request_id(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="aerodrome.errors"):
        failure = failure_from(ZeroDivisionError("boom"), "GetTask")
    assert failure.code == grpc.StatusCode.INTERNAL
    request_id = re.search(r"request id ([0-9a-f]{16})", failure.message)
    assert request_id is not None
    assert "boom" not in failure.message and "Traceback" not in failure.message
    assert request_id.group(1) in caplog.text
    assert "ZeroDivisionError" in caplog.text


def test_locked_database_is_unavailable() -> None:
    exc = OperationalError("INSERT", {}, Exception("database is locked"))
    assert failure_from(exc, "CreateTask").code == grpc.StatusCode.UNAVAILABLE


def test_a_full_blob_disk_is_resource_exhausted_and_says_so() -> None:
    try:
        try:
            raise OSError(28, "No space left on device")
        except OSError as exc:
            raise RuntimeError("write failed") from exc
    except RuntimeError as wrapped:
        failure = failure_from(wrapped, "CreateExecution")
    assert failure.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "blob store is out of space (No space left on device)" in failure.message


def test_an_unreachable_object_store_is_unavailable() -> None:
    class EndpointConnectionError(Exception):  # botocore's class name; no client library is imported
        pass

    failure = failure_from(EndpointConnectionError("Could not connect to http://127.0.0.1:9"), "CreateExecution")
    assert failure.code == grpc.StatusCode.UNAVAILABLE
    assert "object store is unreachable" in failure.message and "127.0.0.1:9" in failure.message
