"""Turns a call's metadata (gRPC) or headers and cookies (HTTP) into an Identity, in every mode.

The gRPC interceptor and the HTTP middleware both call ``Authenticator.identify``; nothing else in the
server reads credentials.
"""

from __future__ import annotations

from collections.abc import Mapping

from aerodrome.auth.errors import Unauthenticated
from aerodrome.auth.identity import ANONYMOUS, Identity, parse_grants
from aerodrome.auth.oidc import OidcVerifier
from aerodrome.auth.tokens import TokenService

HEADER_KEYS = ("flyte-authorization", "authorization")
SESSION_COOKIE = "aerodrome_session"


def bearer(headers: Mapping[str, str]) -> str:
    """The bearer token of a request ('' if none)."""
    for key in HEADER_KEYS:
        value = headers.get(key, "")
        scheme, _, token = value.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    return ""


class Authenticator:
    """Resolves identities; in mode ``none`` everyone is the anonymous server admin."""

    def __init__(self, mode: str, tokens: TokenService | None = None, oidc: OidcVerifier | None = None) -> None:
        self.mode = mode
        self.tokens = tokens
        self.oidc = oidc

    @property
    def enabled(self) -> bool:
        return self.mode != "none"

    async def identify(self, headers: Mapping[str, str], session: str = "") -> Identity:
        """The caller's identity from a bearer token, else from a console session; Unauthenticated if neither."""
        if not self.enabled:
            return ANONYMOUS
        token = bearer(headers)
        if token:
            if self.oidc is not None:
                return await self.oidc.identity(token)
            assert self.tokens is not None
            return self.tokens.identity(token)
        if session and self.tokens is not None:
            claims = self.tokens.claims(session, "session")
            return Identity(str(claims["sub"]), "user", parse_grants(claims.get("grants", "")))
        raise Unauthenticated("authentication required: send an access token (flytekit: set admin.authType)")
