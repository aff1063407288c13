"""Builds the grpc.aio server: servicers, health, reflection, message limits and the error interceptor."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flyteidl.service import (
    admin_pb2,
    admin_pb2_grpc,
    auth_pb2,
    auth_pb2_grpc,
    dataproxy_pb2,
    dataproxy_pb2_grpc,
    identity_pb2,
    identity_pb2_grpc,
    signal_pb2,
    signal_pb2_grpc,
)
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection

from aerodrome.transport.grpc.errors import ErrorInterceptor

# Full service name → (registration function, file descriptor module).
REGISTRARS: dict[str, tuple[Any, Any]] = {
    "flyteidl.service.AdminService": (admin_pb2_grpc.add_AdminServiceServicer_to_server, admin_pb2),
    "flyteidl.service.DataProxyService": (
        dataproxy_pb2_grpc.add_DataProxyServiceServicer_to_server,
        dataproxy_pb2,
    ),
    "flyteidl.service.SignalService": (signal_pb2_grpc.add_SignalServiceServicer_to_server, signal_pb2),
    "flyteidl.service.AuthMetadataService": (
        auth_pb2_grpc.add_AuthMetadataServiceServicer_to_server,
        auth_pb2,
    ),
    "flyteidl.service.IdentityService": (
        identity_pb2_grpc.add_IdentityServiceServicer_to_server,
        identity_pb2,
    ),
}


def build_grpc_server(
    servicers: Mapping[str, object],
    *,
    max_message_bytes: int,
    interceptors: Sequence[aio.ServerInterceptor] = (),
    outer: Sequence[aio.ServerInterceptor] = (),
) -> aio.Server:
    """A server with the given servicers (keyed by full service name), health and reflection.

    ``interceptors`` run inside the ErrorInterceptor, so the errors they raise get proper status codes;
    ``outer`` ones run outside it, so they see the status each call ended with."""
    options = [
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.min_ping_interval_without_data_ms", 5000),
    ]
    server: aio.Server = aio.server(interceptors=[*outer, ErrorInterceptor(), *interceptors], options=options)
    for name, servicer in servicers.items():
        REGISTRARS[name][0](servicer, server)
    health_servicer = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = [*servicers, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME]
    reflection.enable_server_reflection(names, server)
    return server
