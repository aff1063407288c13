"""The JSON envelope of aerodrome's own registries (providers, product workflows).

Every answer is ``{"code": 0, "message": "success", "data": …}``. A failure keeps the envelope with a
non-zero ``code`` (the gRPC status number of the error: 3 invalid argument, 5 not found, 9 failed
precondition, 13 internal) and a message saying what is wrong, and the HTTP status grpc-gateway would
give that code (400, 404, 400, 500), so both scripts reading ``code`` and HTTP clients see the failure.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from starlette.requests import Request
from starlette.responses import JSONResponse

from aerodrome.errors import InvalidArgument
from aerodrome.transport.errors import failure_from
from aerodrome.transport.http.gateway import HTTP_STATUS

Handler = Callable[[Request], Awaitable[Any]]


def success(data: Any) -> JSONResponse:
    return JSONResponse({"code": 0, "message": "success", "data": data})


def failure(exc: BaseException, operation: str) -> JSONResponse:
    found = failure_from(exc, operation)
    code: grpc.StatusCode = found.code
    body = {"code": code.value[0], "message": found.message, "data": None}
    return JSONResponse(body, status_code=HTTP_STATUS.get(code, 500))


async def json_body(request: Request) -> Any:
    """The parsed request body; an empty body is an empty object."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidArgument(f"the request body is not valid JSON: {exc}") from None


def flag(request: Request, name: str) -> bool:
    """A boolean query parameter (true/false/1/0, absent is false)."""
    raw = request.query_params.get(name, "false").lower()
    if raw not in {"true", "false", "1", "0"}:
        raise InvalidArgument(f"query parameter {name} must be true or false, not {raw!r}")
    return raw in {"true", "1"}


def enveloped(operation: str, handler: Handler) -> Callable[[Request], Awaitable[JSONResponse]]:
    """An endpoint answering ``handler``'s result (or failure) in the envelope."""

    async def endpoint(request: Request) -> JSONResponse:
        try:
            return success(await handler(request))
        except Exception as exc:
            return failure(exc, operation)

    return endpoint
