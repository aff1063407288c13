"""Rendering for every console page: one Jinja2 environment (autoescape on), one identity check, one error page.

Every handler is wrapped by ``page``: it asks ``viewer(request)`` who is looking (the signed-in identity the
auth middleware resolved; ``anonymous`` when auth is off), renders the template the handler names, and turns the
managers' errors into a page with the right status and a way back, never a stack trace.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from aerodrome.auth.web import identity_of
from aerodrome.errors import AdminError, AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from aerodrome.transport.http.console import formatting

log = logging.getLogger("aerodrome.console")
TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class Viewer:
    """Who is looking at the console: the signed-in user or client, ``anonymous`` when auth is off."""

    name: str = "anonymous"


def viewer(request: Request) -> Viewer:
    """The one place every console request passes to find its identity. The auth middleware has already
    checked the request's role for the project in its path (viewer to look, runner to act)."""
    return Viewer(identity_of(request).subject)


@dataclass(frozen=True)
class View:
    """What a handler returns: a template and its context (``status`` for e.g. a re-shown form)."""

    template: str
    context: dict[str, Any] = field(default_factory=dict)
    status: int = 200


Handler = Callable[[Request], Awaitable[View | Response]]


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(formatting.FILTERS)
    env.globals.update(formatting.GLOBALS)
    return env


ENV = environment()


def render(request: Request, view: View) -> HTMLResponse:
    context = {"request": request, "viewer": request.state.viewer, "path": request.url.path, **view.context}
    return HTMLResponse(ENV.get_template(view.template).render(context), status_code=view.status)


def _status_of(exc: AdminError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, FailedPrecondition | AlreadyExists):
        return 409
    if isinstance(exc, InvalidArgument):
        return 400
    return 503


def error_view(status: int, message: str, back: str = "/console") -> View:
    titles = {
        404: "Not found",
        400: "Cannot do that",
        409: "Cannot do that now",
        500: "Something went wrong",
        503: "Unavailable",
    }
    return View("error.html", {"title": titles.get(status, "Error"), "message": message, "back": back}, status)


def page(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Identity check, then the handler; manager errors become an error page with the right status."""

    async def endpoint(request: Request) -> Response:
        request.state.viewer = viewer(request)
        try:
            result = await handler(request)
        except AdminError as exc:
            result = error_view(_status_of(exc), str(exc), back=_back(request))
        except Exception:  # a bug: logged with its trace, shown as a page without one
            log.exception("console page %s failed", request.url.path)
            message = "The console could not show this page; the server log has the details."
            result = error_view(500, message, back=_back(request))
        if isinstance(result, View):
            return render(request, result)
        return result

    return endpoint


def _back(request: Request) -> str:
    """The nearest page above this one that is likely to exist (the project-domain dashboard, or the start)."""
    p = request.path_params
    if "project" in p and "domain" in p and "name" in p:
        return f"/console/projects/{p['project']}/domains/{p['domain']}"
    return "/console"


def redirect(url: str) -> RedirectResponse:
    """After a POST: see the result with a GET (303), so a reload does not repeat the action."""
    return RedirectResponse(url, status_code=303)


async def form_of(request: Request) -> dict[str, str]:
    """A posted console form (``application/x-www-form-urlencoded``: the console uploads no files)."""
    body = (await request.body()).decode("utf-8", errors="replace")
    return dict(parse_qsl(body, keep_blank_values=True))
