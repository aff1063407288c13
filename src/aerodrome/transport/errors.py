"""Turning any exception into a status and a message, once, for gRPC and HTTP alike.

Known failures (``AdminError``) keep their code and message. Transient database failures become
UNAVAILABLE so clients retry. Anything else is a bug: it is logged with a fresh request id and the
caller gets INTERNAL with that id, never a stack trace, and never UNKNOWN (flytekit answers UNKNOWN and
UNAUTHENTICATED by starting an OAuth login).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

import grpc
from google.protobuf.message import Message

from aerodrome.blobstore.failures import store_full, store_unreachable
from aerodrome.errors import AdminError
from aerodrome.observability.logs import request_id as current_request_id

log = logging.getLogger("aerodrome.errors")


@dataclass(frozen=True)
class Failure:
    """What a transport sends back for a failed call."""

    code: grpc.StatusCode
    message: str
    details: Message | None = None


def _is_transient(exc: BaseException) -> bool:
    text = str(exc).lower()
    name = type(exc).__name__
    return name in {"OperationalError", "InterfaceError", "ConnectionDoesNotExistError"} and (
        "locked" in text or "connection" in text or "busy" in text
    )


def _storage_failure(exc: BaseException, request_id: str) -> Failure | None:
    """A full disk or an unreachable object store, named as such (both are the operator's to fix)."""
    full = store_full(exc)
    if full is not None:
        message = f"the blob store is out of space ({full.strerror}); request id {request_id}"
        return Failure(grpc.StatusCode.RESOURCE_EXHAUSTED, message)
    unreachable = store_unreachable(exc)
    if unreachable is not None:
        message = f"the object store is unreachable, please retry ({unreachable}); request id {request_id}"
        return Failure(grpc.StatusCode.UNAVAILABLE, message)
    return None


def failure_from(exc: BaseException, method: str) -> Failure:
    """Map an exception raised while serving ``method`` to the failure the caller sees."""
    if isinstance(exc, AdminError):
        return Failure(exc.code, exc.message, exc.details)
    request_id = current_request_id.get() or uuid.uuid4().hex[:16]
    storage = _storage_failure(exc, request_id)
    if storage is not None:
        log.warning("storage failure in %s (request id %s): %s", method, request_id, exc)
        return storage
    if _is_transient(exc):
        log.warning("transient failure in %s (request id %s): %s", method, request_id, exc)
        return Failure(
            grpc.StatusCode.UNAVAILABLE,
            f"the service is temporarily unavailable, please retry (request id {request_id})",
        )
    log.error("internal error in %s (request id %s)", method, request_id, exc_info=exc)
    return Failure(
        grpc.StatusCode.INTERNAL,
        f"internal error while serving {method}; see the server log for request id {request_id}",
    )
