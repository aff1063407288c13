"""The one place where exceptions raised by servicers become gRPC statuses.

Every unary handler is wrapped: ``AdminError`` keeps its code and message; a method the servicer does
not implement is UNIMPLEMENTED; anything else is INTERNAL with a request id that is also logged
(``aerodrome.transport.errors.failure_from``). Servicers therefore never abort by hand, and no call
ever ends UNKNOWN, which flytekit would answer with an OAuth login attempt.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from google.rpc import status_pb2  # type: ignore[import-untyped]
from grpc import aio

from aerodrome.transport.errors import failure_from

log = logging.getLogger("aerodrome.grpc")
Handler = Callable[[Any, aio.ServicerContext[Any, Any]], Awaitable[Any]]


def _wrap(method: str, behavior: Handler) -> Handler:
    async def guarded(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
        started = time.perf_counter()
        try:
            return await behavior(request, context)
        except NotImplementedError:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{method} is not implemented by aerodrome yet")
        except aio.AbortError:
            raise
        except Exception as exc:
            failure = failure_from(exc, method)
            if failure.details is not None:
                status = status_pb2.Status(code=failure.code.value[0], message=failure.message)
                status.details.add().Pack(failure.details)
                context.set_trailing_metadata((("grpc-status-details-bin", status.SerializeToString()),))
            await context.abort(failure.code, failure.message)
        finally:
            log.debug("%s took %.1f ms", method, (time.perf_counter() - started) * 1000)

    return guarded


class ErrorInterceptor(aio.ServerInterceptor):  # type: ignore[misc]
    """Wraps every unary-unary handler with ``_wrap`` (once per method, then cached)."""

    def __init__(self) -> None:
        self._wrapped: dict[str, grpc.RpcMethodHandler] = {}

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
        wrapped: grpc.RpcMethodHandler = grpc.unary_unary_rpc_method_handler(
            _wrap(full_name.rsplit("/", 1)[-1], _as_async(handler.unary_unary)),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
        self._wrapped[full_name] = wrapped
        return wrapped


def _as_async(behavior: Callable[..., Any]) -> Handler:
    """Generated base-class methods are synchronous; make every behaviour awaitable."""

    async def call(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
        result = behavior(request, context)
        if hasattr(result, "__await__"):
            return await result
        return result

    return call
