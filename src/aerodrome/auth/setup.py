"""Builds the auth parts from the settings for the composition root (nothing at all in mode ``none``)."""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass, field
from typing import Any

from starlette.routing import BaseRoute

from aerodrome.auth.grants import AuthorizationServer
from aerodrome.auth.oidc import OidcVerifier
from aerodrome.auth.resolver import Authenticator
from aerodrome.auth.server import METADATA_KEYS, OAuthEndpoints, oauth2_metadata
from aerodrome.auth.store import AuthStore
from aerodrome.auth.tokens import TokenService
from aerodrome.auth.web import LoginPages
from aerodrome.db.engine import Database
from aerodrome.settings import Settings

log = logging.getLogger("aerodrome.auth")


class AuthConfigError(ValueError):
    """The auth settings would leave the server open or cannot work."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class AuthParts:
    """The authenticator every transport uses, plus the HTTP routes of the login and OAuth2 endpoints."""

    authenticator: Authenticator
    store: AuthStore
    tokens: TokenService | None = None
    server: AuthorizationServer | None = None
    routes: list[BaseRoute] = field(default_factory=list)

    async def load(self) -> None:
        if self.tokens is not None:
            await self.tokens.load(self.store)

    async def metadata(self) -> dict[str, Any]:
        """What flytekit is told about the authorization server: ours, or the OIDC issuer's own document."""
        if self.authenticator.oidc is not None:
            document = await self.authenticator.oidc.discovery()
            return {k: v for k, v in document.items() if k in METADATA_KEYS}
        assert self.server is not None
        return oauth2_metadata(self.server.settings, self.server.base_url)


def build_auth(settings: Settings, db: Database) -> AuthParts:
    """Check the mode against the bind address and assemble what the mode needs."""
    auth = settings.auth
    store = AuthStore(db)
    if auth.mode == "none":
        if not is_loopback(settings.server.host):
            if not auth.allow_none_on_public_address:
                raise AuthConfigError(
                    f"refusing to serve without authentication on {settings.server.host}: set "
                    "AERODROME_AUTH_MODE=self (or oidc), bind to 127.0.0.1, or force it with "
                    "AERODROME_AUTH_ALLOW_NONE_ON_PUBLIC_ADDRESS=true"
                )
            log.warning(
                "serving WITHOUT authentication on %s: anyone who can reach it can run code", settings.server.host
            )
        return AuthParts(Authenticator("none"), store)
    if bool(auth.tls_cert_file) != bool(auth.tls_key_file):
        raise AuthConfigError("set both auth.tls_cert_file and auth.tls_key_file, or neither")
    base = settings.http_base_url
    tokens = TokenService(base)
    server = AuthorizationServer(auth, store, tokens, base)
    secure = base.startswith("https")
    if auth.mode == "oidc" and not auth.oidc_issuer:
        raise AuthConfigError("auth.mode oidc needs auth.oidc_issuer")
    oidc = OidcVerifier(auth, store) if auth.mode == "oidc" else None
    parts = AuthParts(Authenticator(auth.mode, tokens, oidc), store, tokens, server)
    parts.routes = [*OAuthEndpoints(server, parts.metadata).routes(), *LoginPages(server, secure).routes()]
    return parts
