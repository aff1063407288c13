"""Recognising the blob store's own failures among exceptions: out of space, or unreachable for now.

The stores raise what their libraries raise (``OSError`` from the local disk; botocore's and aiohttp's
connection errors from s3fs), often wrapped. The transport names these to the caller instead of an
INTERNAL error, and the engine treats an unreachable store like an unreachable database: the execution's
drive stops and resumes once its lease expires, instead of failing work that did nothing wrong.
Class names are compared so that no S3 library has to be imported here.
"""

from __future__ import annotations

import errno

UNREACHABLE = frozenset(
    {
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "ClientConnectorError",
        "ServerDisconnectedError",
        "ConnectionClosedError",
    }
)
FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


def chain(exc: BaseException) -> list[BaseException]:
    """The exception and those it was raised from or while handling (at most ten)."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def store_full(exc: BaseException) -> OSError | None:
    """The out-of-space error under ``exc``, if that is what it is."""
    return next((e for e in chain(exc) if isinstance(e, OSError) and e.errno in FULL), None)


def store_unreachable(exc: BaseException) -> BaseException | None:
    """The connection error under ``exc`` when the object store cannot be reached right now."""
    return next(
        (e for e in chain(exc) if type(e).__name__ in UNREACHABLE or isinstance(e, ConnectionRefusedError)), None
    )
