"""The one place where exceptions raised by servicers become gRPC statuses.

Every unary handler is wrapped: ``AdminError`` keeps its code and message; a method the servicer does
not implement is UNIMPLEMENTED; anything else is INTERNAL with a request id that is also logged
(``aerodrome.transport.errors.failure_from``). Servicers therefore never abort by hand, and no call
ever ends UNKNOWN, which flytekit would answer with an OAuth login attempt.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
from google.rpc import status_pb2  # type: ignore[import-untyped]
from grpc import aio

from aerodrome.errors import InvalidArgument
from aerodrome.transport.errors import failure_from
from aerodrome.transport.grpc.interceptors import Handler, WrappingInterceptor, method_name

log = logging.getLogger("aerodrome.grpc")


@dataclass(frozen=True)
class Undecodable:
    """A request whose bytes protobuf refused (e.g. nested deeper than its 100 levels); handed to the
    handler so the refusal becomes INVALID_ARGUMENT: grpc answers a deserializer's exception with UNKNOWN,
    which flytekit takes for an expired login."""

    error: str


def _lenient(deserialize: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    def parse(raw: bytes) -> Any:
        try:
            return deserialize(raw)
        except Exception as exc:
            return Undecodable(str(exc))

    return parse


def _wrap(method: str, behavior: Handler) -> Handler:
    async def guarded(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
        started = time.perf_counter()
        try:
            if isinstance(request, Undecodable):
                hint = "; messages nest at most 100 levels deep" if "Depth" in request.error else ""
                raise InvalidArgument(f"the {method} request cannot be decoded ({request.error}){hint}")
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


class ErrorInterceptor(WrappingInterceptor):
    """Wraps every unary-unary handler with ``_wrap``."""

    def wrap(self, full_name: str, behavior: Handler) -> Handler:
        return _wrap(method_name(full_name), behavior)

    def deserializer(self, deserialize: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
        return _lenient(deserialize) if deserialize is not None else None
