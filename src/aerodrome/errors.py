"""The one error hierarchy of aerodrome.

Managers and repositories raise these; the gRPC interceptor and the HTTP gateway map them to a status
once (see ``transport/grpc/errors.py`` and ``transport/http/gateway.py``). Messages follow FlyteAdmin's
texts so that users and flytekit see what they would see against the reference backend.
"""

from __future__ import annotations

import grpc
from google.protobuf.message import Message


class AdminError(Exception):
    """A user-facing failure with a concrete gRPC status code."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL

    def __init__(self, message: str, *, details: Message | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return self.message


class InvalidArgument(AdminError):
    """The request is malformed or conflicts with what is stored."""

    code = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(AdminError):
    """The addressed entity does not exist."""

    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(AdminError):
    """An identical entity already exists (flytekit treats this as success on registration)."""

    code = grpc.StatusCode.ALREADY_EXISTS


class FailedPrecondition(AdminError):
    """The request is valid but the system is not in a state that allows it."""

    code = grpc.StatusCode.FAILED_PRECONDITION


class AbortRequested(FailedPrecondition):
    """The engine's own end of an execution (SUCCEEDED, FAILED) arrived after TerminateExecution recorded
    ABORTING: the abort the caller was told of wins, and the engine reports ABORTED instead."""


class AlreadyInTerminalState(FailedPrecondition):
    """An event or request targets an execution that already ended."""


class ResourceExhausted(AdminError):
    """A payload exceeds a configured limit."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Unavailable(AdminError):
    """A transient failure (database locked, connection lost); the client may retry."""

    code = grpc.StatusCode.UNAVAILABLE


def missing(field: str) -> InvalidArgument:
    """FlyteAdmin's ``missing <field>`` error."""
    return InvalidArgument(f"missing {field}")


def invalid(field: str) -> InvalidArgument:
    """FlyteAdmin's ``invalid value for <field>`` error."""
    return InvalidArgument(f"invalid value for {field}")
