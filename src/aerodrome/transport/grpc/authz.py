"""The gRPC side of authentication: resolve the caller from metadata, then let the policy decide.

Installed inside the ErrorInterceptor, so Unauthenticated / PermissionDenied become their status codes
like any other AdminError. AuthMetadataService, health and reflection stay open: flytekit needs the
first to learn how to log in.
"""

from __future__ import annotations

from typing import Any

from grpc import aio

from aerodrome.auth.guard import after_call, before_call
from aerodrome.auth.policy import PUBLIC_SERVICES
from aerodrome.auth.resolver import Authenticator
from aerodrome.transport.grpc.interceptors import Handler, WrappingInterceptor


class AuthInterceptor(WrappingInterceptor):
    """Wraps each unary handler of a non-public service with identify → authorize → call → filter."""

    def __init__(self, authenticator: Authenticator) -> None:
        super().__init__()
        self.authenticator = authenticator

    def wrap(self, full_name: str, behavior: Handler) -> Handler | None:
        service, _, method = full_name.lstrip("/").rpartition("/")
        return None if service in PUBLIC_SERVICES else self._guard(method, behavior)

    def _guard(self, method: str, behavior: Handler) -> Handler:
        async def guarded(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
            metadata = {k.lower(): v for k, v in context.invocation_metadata() or () if isinstance(v, str)}
            identity = await self.authenticator.identify(metadata)
            before_call(identity, method, request)
            return after_call(identity, method, await behavior(request, context))

        return guarded
