"""The HTTP side of authentication: one ASGI middleware resolves the caller, the gateway asks the policy.

Open paths: health, the OAuth2/login pages and discovery documents, and signed blob URLs (the signature
is their credential). Everything else needs a bearer token or a console session cookie; the identity
is left in ``request.state.identity``. Routes outside the generated gateway are checked here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, quote

from google.protobuf.message import Message
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from aerodrome.auth.errors import PermissionDenied, Unauthenticated
from aerodrome.auth.guard import after_call, before_call
from aerodrome.auth.identity import Identity
from aerodrome.auth.policy import PUBLIC_SERVICES
from aerodrome.auth.resolver import SESSION_COOKIE, Authenticator
from aerodrome.auth.web import identity_of
from aerodrome.blobstore.signing import ROUTE_PREFIX

_CONSOLE_PROJECT = re.compile(r"^/console/projects/([^/]+)")
OPEN_PREFIXES = ("/healthz", "/auth/", "/oauth2/", "/.well-known/", "/config/v1/flyte_client", f"{ROUTE_PREFIX}/")


class AuthMiddleware:
    """Pure ASGI (no body buffering, so signed uploads still stream)."""

    def __init__(self, app: ASGIApp, authenticator: Authenticator, open_paths: tuple[str, ...] = ()) -> None:
        self.app = app
        self.authenticator = authenticator
        self.open_paths = frozenset(open_paths)  # exact paths also open (e.g. /metrics, unless it needs auth)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(OPEN_PREFIXES) or scope["path"] in self.open_paths:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        cookies = SimpleCookie(headers.get("cookie", ""))
        session = cookies[SESSION_COOKIE].value if SESSION_COOKIE in cookies else ""
        try:
            identity = await self.authenticator.identify(headers, session)
            _check_route(identity, scope)
        except Unauthenticated as exc:
            if _wants_page(scope, headers):
                await _to_login(scope, send)
            else:
                await _deny(send, exc)
            return
        except PermissionDenied as exc:
            await _deny(send, exc)
            return
        scope.setdefault("state", {})["identity"] = identity
        await self.app(scope, receive, send)


def _console_role(path: str, verb: str) -> tuple[str, str] | None:
    """(project, role) a console page under /console/projects/<project>/… needs: viewer to look, runner to act
    (launch, terminate, relaunch, recover, signal), admin to switch a launch plan's state."""
    match = _CONSOLE_PROJECT.match(path)
    if match is None:
        return None
    if verb in ("GET", "HEAD"):
        return match[1], "viewer"
    return match[1], "admin" if path.endswith("/state") else "runner"


def _check_route(identity: Identity, scope: Scope) -> None:
    """Rules of the hand-written routes (the gateway's are decided per RPC in ``gateway_guard``)."""
    path, verb = scope["path"], scope["method"]
    console = _console_role(path, verb)
    if console is not None and not identity.allows(*console):
        raise PermissionDenied(f"this page needs the {console[1]} role in project {console[0]}")
    if path == "/api/v1/schedules":
        project = parse_qs(scope.get("query_string", b"").decode()).get("project", [""])[0]
        if project and identity.allows(project, "viewer"):
            return
        if not identity.server_admin:
            raise PermissionDenied("listing schedules needs ?project=<one you can view> or the server-wide admin role")
    elif (path.startswith("/api/v1/processes") or path == "/metrics") and not identity.server_admin:
        raise PermissionDenied(f"{path} needs the server-wide admin role")
    elif _is_registry_write(path, verb) and not identity.server_admin:
        raise PermissionDenied(f"{verb} {path} needs the server-wide admin role")


def _wants_page(scope: Scope, headers: dict[str, str]) -> bool:
    """A person's browser asking for a page (not an API client): send it to the login page instead of a 401."""
    return (
        scope["method"] == "GET" and "text/html" in headers.get("accept", "") and not scope["path"].startswith("/api/")
    )


async def _to_login(scope: Scope, send: Send) -> None:
    query = scope.get("query_string", b"").decode()
    target = scope["path"] + (f"?{query}" if query else "")
    location = f"/auth/login?next={quote(target, safe='')}".encode()
    await send(
        {"type": "http.response.start", "status": 303, "headers": [(b"location", location), (b"content-length", b"0")]}
    )
    await send({"type": "http.response.body", "body": b""})


def _is_registry_write(path: str, verb: str) -> bool:
    return path.startswith(("/api/v1/providers", "/api/v1/products")) and verb not in ("GET", "HEAD")


async def _deny(send: Send, exc: Unauthenticated | PermissionDenied) -> None:
    status = 401 if isinstance(exc, Unauthenticated) else 403
    body = json.dumps({"code": exc.code.value[0], "message": exc.message, "details": []}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="aerodrome"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def gateway_guard(request: Request, service: str, method: str, message: Message) -> Callable[[Any], Any]:
    """Authorize a gateway call like its gRPC twin; returns the response filter to apply afterwards."""
    if service in PUBLIC_SERVICES:
        return lambda response: response
    identity = identity_of(request)
    before_call(identity, method, message)
    return lambda response: after_call(identity, method, response)
