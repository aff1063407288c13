"""The OAuth2 HTTP endpoints of self mode and the metadata flytekit reads (gRPC and HTTP share it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from aerodrome.auth.grants import AuthorizationServer, OAuthError
from aerodrome.settings import AuthSettings

METADATA_KEYS = frozenset(
    {
        "issuer",
        "authorization_endpoint",
        "token_endpoint",
        "device_authorization_endpoint",
        "jwks_uri",
        "response_types_supported",
        "grant_types_supported",
        "scopes_supported",
        "code_challenge_methods_supported",
        "token_endpoint_auth_methods_supported",
    }
)
GRANT_TYPES = [
    "client_credentials",
    "urn:ietf:params:oauth:grant-type:device_code",
    "authorization_code",
    "refresh_token",
]


def oauth2_metadata(settings: AuthSettings, base_url: str) -> dict[str, Any]:
    """RFC 8414 metadata of the authorization server (self mode) or of the OIDC issuer (oidc mode)."""
    issuer = settings.oidc_issuer.rstrip("/") if settings.mode == "oidc" else base_url
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oauth2/authorize",
        "token_endpoint": f"{issuer}/oauth2/token",
        "device_authorization_endpoint": f"{issuer}/oauth2/device/code",
        "jwks_uri": f"{issuer}/oauth2/jwks",
        "response_types_supported": ["code"],
        "grant_types_supported": GRANT_TYPES,
        "scopes_supported": settings.scopes,
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }


def public_client_config(settings: AuthSettings) -> dict[str, Any]:
    """What flytekit's GetPublicClientConfig expects: the public client, its redirect, scopes, header key."""
    return {
        "client_id": settings.public_client_id,
        "redirect_uri": settings.redirect_uri,
        "scopes": settings.scopes,
        "authorization_metadata_key": "flyte-authorization",
        "service_http_endpoint": "",
        "audience": "",
    }


class OAuthEndpoints:
    """Token, device authorization, JWKS and discovery documents."""

    def __init__(self, server: AuthorizationServer, metadata: Callable[[], Awaitable[dict[str, Any]]]) -> None:
        self.server = server
        self._metadata = metadata

    def routes(self) -> list[Route]:
        return [
            Route("/.well-known/oauth-authorization-server", self.metadata, methods=["GET"]),
            Route("/.well-known/openid-configuration", self.metadata, methods=["GET"]),
            Route("/oauth2/jwks", self.jwks, methods=["GET"]),
            Route("/oauth2/token", self.token, methods=["POST"]),
            Route("/oauth2/device/code", self.device_code, methods=["POST"]),
        ]

    async def metadata(self, request: Request) -> JSONResponse:
        return JSONResponse(await self._metadata())

    async def jwks(self, request: Request) -> JSONResponse:
        return JSONResponse(self.server.tokens.keys.jwks())

    async def token(self, request: Request) -> JSONResponse:
        form = {k: str(v) for k, v in (await request.form()).items()}
        try:
            body = await self.server.token(form, request.headers.get("authorization", ""))
        except OAuthError as exc:
            return _error(exc)
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    async def device_code(self, request: Request) -> JSONResponse:
        form = await request.form()
        client_id = str(form.get("client_id", ""))
        if client_id != self.server.settings.public_client_id:
            return _error(OAuthError(400, "invalid_client", f"unknown public client {client_id!r}"))
        return JSONResponse(self.server.start_device(client_id), headers={"Cache-Control": "no-store"})


def _error(exc: OAuthError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Basic"} if exc.status == 401 else {}
    return JSONResponse({"error": exc.error, "error_description": exc.description}, exc.status, headers=headers)
