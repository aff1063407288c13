"""Recognising a full blob disk and an unreachable object store under wrapped exceptions (the transport
names them to callers; the engine waits for an unreachable store instead of failing the node)."""

from __future__ import annotations

import errno

from aerodrome.blobstore.failures import store_full, store_unreachable


class EndpointConnectionError(Exception):
    """Named like botocore's (the check compares class names, importing no S3 library)."""


def wrapped(inner: BaseException) -> BaseException:
    try:
        try:
            raise inner
        except BaseException as exc:
            raise RuntimeError("while writing outputs.pb") from exc
    except RuntimeError as outer:
        return outer


def test_a_full_disk_is_found_under_a_wrapper() -> None:
    found = store_full(wrapped(OSError(errno.ENOSPC, "No space left on device")))
    assert found is not None and found.errno == errno.ENOSPC
    assert store_unreachable(wrapped(OSError(errno.ENOSPC, "x"))) is None


def test_connection_failures_are_unreachable_and_others_are_not() -> None:
    assert store_unreachable(wrapped(EndpointConnectionError("Could not connect"))) is not None
    assert store_unreachable(wrapped(ConnectionRefusedError())) is not None
    assert store_unreachable(ValueError("bad literal")) is None
    assert store_full(FileNotFoundError(errno.ENOENT, "gone")) is None
