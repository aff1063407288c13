"""Per-call observation on the gRPC side: a request id for the logs, latency and error counts for /metrics.

Installed outside the ErrorInterceptor, so it sees the status every call really ended with (an
exception has become an abort by then).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import grpc
from grpc import aio

from aerodrome.observability.logs import request_id
from aerodrome.observability.metrics import Metrics
from aerodrome.transport.grpc.interceptors import Handler, WrappingInterceptor, method_name


def _code_name(code: Any) -> str:
    return code.name if isinstance(code, grpc.StatusCode) else "UNKNOWN"


class ObserveInterceptor(WrappingInterceptor):
    """Times every unary call and counts the ones that did not end OK, by status code."""

    def __init__(self, metrics: Metrics) -> None:
        super().__init__()
        self.metrics = metrics

    def wrap(self, full_name: str, behavior: Handler) -> Handler:
        method = method_name(full_name)
        observe = self.metrics.observe_call

        async def observed(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
            metadata = dict(context.invocation_metadata() or ())
            request_id.set(str(metadata.get("x-request-id") or uuid.uuid4().hex[:16]))
            started = time.perf_counter()
            error: str | None = "UNKNOWN"
            try:
                result = await behavior(request, context)
                code = context.code()
                error = None if code in (None, grpc.StatusCode.OK) else _code_name(code)
                return result
            except aio.AbortError:
                error = _code_name(context.code())
                raise
            finally:
                observe("grpc", method, time.perf_counter() - started, error)

        return observed
