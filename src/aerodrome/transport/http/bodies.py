"""Reading a request body into memory only when it fits a limit, refusing it otherwise before it is read.

A declared ``Content-Length`` over the limit is refused at once (a 1 GB upload costs the server nothing);
a chunked body is read chunk by chunk and refused as soon as it passes the limit. Either way the answer
is 413 with RESOURCE_EXHAUSTED and a message that names the limit and the setting that raises it.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from aerodrome.errors import InvalidArgument, ResourceExhausted

SETTING = "AERODROME_SERVER_GRPC_MAX_MESSAGE_BYTES"


class BodyTooLarge(ResourceExhausted):
    """A request body over the limit; HTTP answers it with 413 (not grpc-gateway's 429 for the code)."""


def _too_large(size: str, limit: int) -> BodyTooLarge:
    return BodyTooLarge(
        f"the request body ({size}) exceeds the {limit} bytes accepted; send less (upload large data through "
        f"CreateUploadLocation and pass its URI) or raise {SETTING}"
    )


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(f"{int(declared)} bytes", limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(f"more than {limit} bytes", limit)
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(raw: bytes) -> Any:
    """JSON from bytes; not JSON, not UTF-8 (found by fuzzing: an INTERNAL before) or absurdly nested is
    INVALID_ARGUMENT."""
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        reason = "it is nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise InvalidArgument(f"the request body is not valid JSON: {reason}") from None
