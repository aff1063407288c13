"""The execution page's server-sent events: the re-rendered parts of the page after each burst of events.

The stream sends the current parts at once (nothing committed between the page load and the subscription
is missed), then again after every wake-up from the hub, at most every ``MIN_GAP`` seconds; it says
``done`` and ends when the execution is in a terminal phase, so the browser stops listening.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from flyteidl.core import identifier_pb2
from starlette.requests import Request
from starlette.responses import StreamingResponse

from aerodrome.errors import AdminError
from aerodrome.transport.http.console.deps import Deps
from aerodrome.transport.http.console.execution_view import PARTS, execution_context
from aerodrome.transport.http.console.formatting import TERMINAL
from aerodrome.transport.http.console.render import ENV

MIN_GAP = 0.25
HEARTBEAT = 15.0


def render_parts(request: Request, context: dict[str, Any]) -> dict[str, str]:
    full = {"request": request, "viewer": request.state.viewer, **context}
    return {name: ENV.get_template(f"parts/{name}.html").render(full) for name in PARTS}


def _event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"


async def stream(deps: Deps, request: Request, ident: identifier_pb2.WorkflowExecutionIdentifier) -> StreamingResponse:
    key = (ident.project, ident.domain, ident.name)
    sub = deps.hub.subscribe(key)  # before the first read: no event can fall between the two
    try:
        context = await execution_context(deps, ident)  # an unknown execution is a 404 before the stream starts
    except BaseException:
        deps.hub.unsubscribe(key, sub)
        raise

    async def body() -> AsyncIterator[str]:
        nonlocal context
        try:
            yield _event("update", {"phase": context["phase"], "parts": render_parts(request, context)})
            if context["phase"] in TERMINAL:
                yield _event("done", {"phase": context["phase"]})
                return
            async for changed in sub.changes(HEARTBEAT):
                if not changed:
                    yield ": keep-alive\n\n"
                    continue
                await asyncio.sleep(MIN_GAP)  # let a burst of events land, then render once
                try:
                    context = await execution_context(deps, ident)
                except AdminError as exc:  # e.g. the workflow became unreadable: say so and stop listening
                    yield _event("done", {"phase": context["phase"], "error": str(exc)})
                    return
                yield _event("update", {"phase": context["phase"], "parts": render_parts(request, context)})
                if context["phase"] in TERMINAL:
                    yield _event("done", {"phase": context["phase"]})
                    return
        finally:
            deps.hub.unsubscribe(key, sub)

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(body(), media_type="text/event-stream", headers=headers)
