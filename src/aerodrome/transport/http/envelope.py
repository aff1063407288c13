"""The JSON envelope of aerodrome's own registries (providers, product workflows).

Every answer is ``{"code": 0, "message": "success", "data": …}``. A failure keeps the envelope with a
non-zero ``code`` (the gRPC status number of the error: 3 invalid argument, 5 not found, 9 failed
precondition, 13 internal) and a message saying what is wrong, and the HTTP status grpc-gateway would
give that code (400, 404, 400, 500), so both scripts reading ``code`` and HTTP clients see the failure.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from starlette.requests import Request
from starlette.responses import JSONResponse

from aerodrome.errors import InvalidArgument
from aerodrome.transport.errors import failure_from
from aerodrome.transport.http.bodies import BodyTooLarge, parse_json, read_body
from aerodrome.transport.http.gateway import HTTP_STATUS

JSON_BODY_LIMIT = 4 * 1024 * 1024  # registry bodies are small documents (a provider, a start request)

Handler = Callable[[Request], Awaitable[Any]]


def success(data: Any) -> JSONResponse:
    return JSONResponse({"code": 0, "message": "success", "data": data})


def failure(exc: BaseException, operation: str) -> JSONResponse:
    found = failure_from(exc, operation)
    code: grpc.StatusCode = found.code
    body = {"code": code.value[0], "message": found.message, "data": None}
    return JSONResponse(body, status_code=413 if isinstance(exc, BodyTooLarge) else HTTP_STATUS.get(code, 500))


async def json_body(request: Request) -> Any:
    """The parsed request body; an empty body is an empty object."""
    raw = await read_body(request, JSON_BODY_LIMIT)
    if not raw.strip():
        return {}
    return parse_json(raw)


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
