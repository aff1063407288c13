"""Raw clients for integration tests: the flyteidl gRPC stub and an HTTP client for the gateway."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import grpc
from flyteidl.service import admin_pb2_grpc
from flytekit.configuration import Config
from flytekit.remote import FlyteRemote


@contextmanager
def admin_stub(address: str) -> Iterator[admin_pb2_grpc.AdminServiceStub]:
    """A synchronous AdminService stub on an insecure channel, closed afterwards."""
    channel = grpc.insecure_channel(address)
    try:
        yield admin_pb2_grpc.AdminServiceStub(channel)
    finally:
        channel.close()


def status_of(call: object) -> grpc.StatusCode:
    """The status code of a failed call (an ``grpc.RpcError``)."""
    assert isinstance(call, grpc.RpcError)
    return call.code()  # type: ignore[no-any-return]


def flyte_remote(address: str) -> FlyteRemote:
    """A FlyteRemote on an insecure channel, defaulting to the bootstrap project and development."""
    return FlyteRemote(
        Config.for_endpoint(address, insecure=True), default_project="flytesnacks", default_domain="development"
    )
