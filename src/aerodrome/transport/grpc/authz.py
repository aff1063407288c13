"""The gRPC side of authentication: resolve the caller from metadata, then let the policy decide.

Installed inside the ErrorInterceptor, so Unauthenticated / PermissionDenied become their status codes
like any other AdminError. AuthMetadataService, health and reflection stay open: flytekit needs the
first to learn how to log in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from grpc import aio

from aerodrome.auth.guard import after_call, before_call
from aerodrome.auth.policy import PUBLIC_SERVICES
from aerodrome.auth.resolver import Authenticator
from aerodrome.transport.grpc.errors import Handler, _as_async


class AuthInterceptor(aio.ServerInterceptor):  # type: ignore[misc]
    """Wraps each unary handler of a non-public service with identify → authorize → call → filter."""

    def __init__(self, authenticator: Authenticator) -> None:
        self.authenticator = authenticator
        self._wrapped: dict[str, grpc.RpcMethodHandler] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        full_name = handler_call_details.method
        handler: Any = await continuation(handler_call_details)
        service, _, method = full_name.lstrip("/").rpartition("/")
        if handler is None or handler.unary_unary is None or service in PUBLIC_SERVICES:
            return handler  # type: ignore[no-any-return]
        cached = self._wrapped.get(full_name)
        if cached is not None:
            return cached
        wrapped: grpc.RpcMethodHandler = grpc.unary_unary_rpc_method_handler(
            self._guard(method, _as_async(handler.unary_unary)),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
        self._wrapped[full_name] = wrapped
        return wrapped

    def _guard(self, method: str, behavior: Handler) -> Handler:
        async def guarded(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
            metadata = {k.lower(): v for k, v in context.invocation_metadata() or () if isinstance(v, str)}
            identity = await self.authenticator.identify(metadata)
            before_call(identity, method, request)
            return after_call(identity, method, await behavior(request, context))

        return guarded
