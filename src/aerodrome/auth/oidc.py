"""oidc mode: access tokens from an external OpenID Connect issuer, checked against its published JWKS.

The issuer's discovery document gives the JWKS address; the key set is fetched on first use and again
(at most once a minute) when a token names a key id it does not hold, so issuer key rotation just works.
The caller's roles come from the local user named by ``oidc_user_claim``.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
import urllib.request
from typing import Any

from joserfc.jwk import KeySet

from aerodrome.auth.errors import Unauthenticated
from aerodrome.auth.identity import Identity, parse_grants
from aerodrome.auth.store import AuthStore
from aerodrome.auth.tokens import verify_jwt
from aerodrome.errors import Unavailable
from aerodrome.settings import AuthSettings

_USER_TTL = 30.0


class OidcVerifier:
    """Verifies issuer tokens and maps them to local users."""

    def __init__(self, settings: AuthSettings, store: AuthStore) -> None:
        self.settings = settings
        self.store = store
        self.issuer = settings.oidc_issuer.rstrip("/")
        self._keys: KeySet | None = None
        self._discovery: dict[str, Any] | None = None
        self._fetched_at = 0.0
        self._users: dict[str, tuple[Identity, float]] = {}

    def _get(self, url: str) -> dict[str, Any]:
        context = ssl.create_default_context(cafile=self.settings.oidc_ca_file or None)
        with urllib.request.urlopen(url, timeout=10, context=context if url.startswith("https") else None) as resp:
            return json.loads(resp.read())  # type: ignore[no-any-return]

    def _fetch_keys(self) -> KeySet:
        document = self._discovery or self._get(f"{self.issuer}/.well-known/openid-configuration")
        self._discovery = document
        return KeySet.import_key_set(self._get(document["jwks_uri"]))  # type: ignore[arg-type]

    async def discovery(self) -> dict[str, Any]:
        """The issuer's discovery document (fetched once): its token, device and authorize endpoints are
        what flytekit is told to use."""
        if self._discovery is None:
            url = f"{self.issuer}/.well-known/openid-configuration"
            try:
                self._discovery = await asyncio.to_thread(self._get, url)
            except (OSError, ValueError) as exc:
                raise Unavailable(f"cannot reach the OIDC issuer at {url}: {exc}") from None
        return self._discovery

    async def _key_set(self, refresh: bool = False) -> KeySet:
        if self._keys is None or (refresh and time.monotonic() - self._fetched_at > 60):
            try:
                self._keys = await asyncio.to_thread(self._fetch_keys)
            except (OSError, ValueError, KeyError) as exc:
                raise Unauthenticated(
                    f"cannot reach the OIDC issuer {self.issuer} to verify the token: {exc}"
                ) from None
            self._fetched_at = time.monotonic()
        return self._keys

    async def identity(self, token: str) -> Identity:
        keys = await self._key_set()
        try:
            claims = verify_jwt(token, keys, issuer=self.issuer, audience=self.settings.oidc_audience)
        except Unauthenticated:
            claims = verify_jwt(
                token, await self._key_set(refresh=True), issuer=self.issuer, audience=self.settings.oidc_audience
            )
        subject = str(claims.get(self.settings.oidc_user_claim) or "")
        if not subject:
            raise Unauthenticated(f"access token has no {self.settings.oidc_user_claim} claim")
        return await self._user(subject)

    async def _user(self, name: str) -> Identity:
        cached = self._users.get(name)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        row = await self.store.find_user(name)
        grants = parse_grants(row.grants) if row is not None and not row.disabled else {}
        identity = Identity(name, "user", grants)
        self._users[name] = (identity, time.monotonic() + _USER_TTL)
        return identity
