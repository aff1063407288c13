"""The scaffolding the server interceptors share: wrap each unary-unary handler once, then reuse it.

grpc.aio asks every interceptor for a handler on every call; re-wrapping each time would allocate a
closure per call. A subclass says how to wrap one method's behaviour (``wrap``), or that it leaves
the method alone (None); the result is cached per method name.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from grpc import aio

Handler = Callable[[Any, aio.ServicerContext[Any, Any]], Awaitable[Any]]


def as_async(behavior: Callable[..., Any]) -> Handler:
    """Generated base-class methods are synchronous; make every behaviour awaitable."""

    async def call(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
        result = behavior(request, context)
        if hasattr(result, "__await__"):
            return await result
        return result

    return call


class WrappingInterceptor(aio.ServerInterceptor):  # type: ignore[misc]
    """Base of the error, auth and observation interceptors."""

    def __init__(self) -> None:
        self._wrapped: dict[str, grpc.RpcMethodHandler] = {}

    def wrap(self, full_name: str, behavior: Handler) -> Handler | None:
        """The wrapped behaviour of ``full_name`` (``/package.Service/Method``), or None to leave it as it is."""
        raise NotImplementedError

    def deserializer(self, deserialize: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
        """The request deserializer to use instead of ``deserialize`` (by default, the same)."""
        return deserialize

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        full_name = handler_call_details.method
        cached = self._wrapped.get(full_name)
        if cached is not None:
            return cached
        handler: Any = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler  # type: ignore[no-any-return]
        behavior = self.wrap(full_name, as_async(handler.unary_unary))
        deserialize = self.deserializer(handler.request_deserializer)
        wrapped: grpc.RpcMethodHandler = (
            handler
            if behavior is None and deserialize is handler.request_deserializer
            else grpc.unary_unary_rpc_method_handler(
                behavior or as_async(handler.unary_unary),
                request_deserializer=deserialize,
                response_serializer=handler.response_serializer,
            )
        )
        self._wrapped[full_name] = wrapped
        return wrapped


def method_name(full_name: str) -> str:
    """``/flyteidl.service.AdminService/CreateTask`` → ``CreateTask``."""
    return full_name.rsplit("/", 1)[-1]
