"""The pages people use: login, logout, device-code approval and the PKCE authorize step.

A login sets a session cookie holding a short signed session token (HttpOnly, SameSite=Lax, Secure under
TLS). Every form carries a CSRF token: before login a double-submit cookie, after login the ``csrf``
claim of the session. ``identity_of`` and ``require_role`` are what other pages (the console) call.
"""

from __future__ import annotations

import secrets
import urllib.parse

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from aerodrome.auth.errors import PermissionDenied, Unauthenticated
from aerodrome.auth.grants import AuthorizationServer
from aerodrome.auth.identity import ANONYMOUS, Identity, parse_grants
from aerodrome.auth.resolver import SESSION_COOKIE

CSRF_COOKIE = "aerodrome_csrf"
_templates = Environment(loader=PackageLoader("aerodrome.auth", "templates"), autoescape=select_autoescape())


def identity_of(request: Request) -> Identity:
    """The identity the auth middleware resolved for this request (anonymous admin when auth is off)."""
    identity = getattr(request.state, "identity", None)
    return identity if isinstance(identity, Identity) else ANONYMOUS


def require_role(request: Request, project: str, role: str) -> Identity:
    """The request's identity if it holds ``role`` in ``project``, else PermissionDenied naming both."""
    identity = identity_of(request)
    if not identity.allows(project, role):
        raise PermissionDenied(f"this needs the {role} role in project {project}; {identity.subject} does not have it")
    return identity


def _page(name: str, status: int = 200, **values: object) -> HTMLResponse:
    return HTMLResponse(_templates.get_template(name).render(**values), status_code=status)


def _safe_next(value: str) -> str:
    """Only same-site relative targets (no open redirects)."""
    return value if value.startswith("/") and not value.startswith("//") else "/auth/device"


class LoginPages:
    """Routes under /auth and /oauth2/authorize, bound to the authorization server."""

    def __init__(self, server: AuthorizationServer, secure: bool) -> None:
        self.server = server
        self.secure = secure

    def routes(self) -> list[Route]:
        return [
            Route("/auth/login", self.login_form, methods=["GET"]),
            Route("/auth/login", self.login, methods=["POST"]),
            Route("/auth/logout", self.logout, methods=["POST"]),
            Route("/auth/device", self.device_form, methods=["GET"]),
            Route("/auth/device", self.device_decide, methods=["POST"]),
            Route("/oauth2/authorize", self.authorize, methods=["GET"]),
        ]

    def _session(self, request: Request) -> tuple[Identity, str] | None:
        token = request.cookies.get(SESSION_COOKIE, "")
        if not token:
            return None
        try:
            claims = self.server.tokens.claims(token, "session")
        except Unauthenticated:
            return None
        return Identity(str(claims["sub"]), "user", parse_grants(claims.get("grants", ""))), str(claims["csrf"])

    def _to_login(self, request: Request) -> RedirectResponse:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/auth/login?next={urllib.parse.quote(target, safe='')}", status_code=303)

    async def login_form(self, request: Request, error: str = "", status: int = 200) -> Response:
        csrf = secrets.token_urlsafe(16)
        next_url = _safe_next(request.query_params.get("next", "/auth/device"))
        response = _page("login.html", status, title="Log in", csrf=csrf, next=next_url, error=error)
        response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="strict", secure=self.secure, path="/auth")
        return response

    async def login(self, request: Request) -> Response:
        form = await request.form()
        cookie = request.cookies.get(CSRF_COOKIE, "")
        if not cookie or not secrets.compare_digest(cookie, str(form.get("csrf", ""))):
            return _page("message.html", 403, title="Log in", message="The form expired; reload the page and retry.")
        peer = request.client.host if request.client else "?"
        try:
            identity = await self.server.login(str(form.get("username", "")), str(form.get("password", "")), peer)
        except Unauthenticated as exc:
            return await self.login_form(request, error=exc.message, status=401)
        ttl = self.server.settings.session_ttl_seconds
        session = self.server.tokens.issue(identity, "session", ttl, csrf=secrets.token_urlsafe(16))
        response = RedirectResponse(_safe_next(str(form.get("next", ""))), status_code=303)
        response.set_cookie(
            SESSION_COOKIE, session, max_age=ttl, httponly=True, samesite="lax", secure=self.secure, path="/"
        )
        response.delete_cookie(CSRF_COOKIE, path="/auth")
        return response

    async def logout(self, request: Request) -> Response:
        session = self._session(request)
        form = await request.form()
        if session is not None and not secrets.compare_digest(session[1], str(form.get("csrf", ""))):
            return _page("message.html", 403, title="Log out", message="Invalid form token.")
        response = RedirectResponse("/auth/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    async def device_form(self, request: Request) -> Response:
        session = self._session(request)
        if session is None:
            return self._to_login(request)
        identity, csrf = session
        code = request.query_params.get("user_code", "")
        return _page("device.html", title="Approve a device", subject=identity.subject, csrf=csrf, user_code=code)

    async def device_decide(self, request: Request) -> Response:
        session = self._session(request)
        if session is None:
            return self._to_login(request)
        identity, csrf = session
        form = await request.form()
        if not secrets.compare_digest(csrf, str(form.get("csrf", ""))):
            return _page("message.html", 403, title="Approve a device", message="Invalid form token.")
        code = str(form.get("user_code", ""))
        approve = form.get("action") == "approve"
        if not self.server.decide_device(code, identity, approve):
            return _page(
                "device.html", 400, title="Approve a device", subject=identity.subject, csrf=csrf,
                user_code=code, error="Unknown, expired or already used code.",
            )  # fmt: skip
        message = "Approved: you can close this page." if approve else "Denied."
        return _page("message.html", title="Approve a device", message=message)

    async def authorize(self, request: Request) -> Response:
        """Authorization code + PKCE for the public client, for a logged-in person."""
        q = request.query_params
        settings = self.server.settings
        if q.get("client_id") != settings.public_client_id or q.get("redirect_uri") != settings.redirect_uri:
            return _page("message.html", 400, title="Authorize", message="Unknown client or redirect URI.")
        if q.get("response_type") != "code" or q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            return _page("message.html", 400, title="Authorize", message="Only response_type=code with PKCE S256.")
        session = self._session(request)
        if session is None:
            return self._to_login(request)
        code = self.server.issue_code(
            session[0], settings.public_client_id, settings.redirect_uri, q["code_challenge"], "S256"
        )
        query = urllib.parse.urlencode({"code": code, "state": q.get("state", "")})
        return RedirectResponse(f"{settings.redirect_uri}?{query}", status_code=303)
