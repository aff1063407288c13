"""Signed JWT access tokens: issued in self mode, verified in every mode that authenticates.

Claims: ``iss``, ``sub``, ``iat``, ``exp``, ``jti``, ``typ`` (access, refresh, session or task) and
``grants`` (the caller's ``project:role`` list, so that authorizing a call needs no database read).
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from aerodrome.auth.errors import Unauthenticated
from aerodrome.auth.identity import Identity, format_grants, parse_grants
from aerodrome.auth.keys import ALGORITHM, KeyRing
from aerodrome.auth.store import AuthStore

_CACHE_SIZE = 4096


class TokenService:
    """Issues and verifies this server's own tokens."""

    def __init__(self, issuer: str) -> None:
        self.issuer = issuer
        self._keys: KeyRing | None = None
        self._cache: OrderedDict[str, tuple[Identity, float]] = OrderedDict()

    async def load(self, store: AuthStore) -> None:
        """Load (or create) the signing keys; called once before the listeners open."""
        self._keys = await KeyRing.load(store)

    @property
    def keys(self) -> KeyRing:
        if self._keys is None:
            raise RuntimeError("token keys are not loaded yet")
        return self._keys

    def issue(self, identity: Identity, typ: str, ttl: int, **extra: Any) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": identity.subject,
            "kind": identity.kind,
            "grants": format_grants(identity.grants),
            "typ": typ,
            "iat": now,
            "exp": now + ttl,
            "jti": secrets.token_hex(8),
            **extra,
        }
        header = {"alg": ALGORITHM, "kid": self.keys.signing.kid, "typ": "JWT"}
        return jwt.encode(header, claims, self.keys.signing)

    def claims(self, token: str, typ: str) -> dict[str, Any]:
        """The verified claims of one of our tokens of type ``typ``, or Unauthenticated."""
        return verify_jwt(token, self.keys.verifying, issuer=self.issuer, typ=typ)

    def identity(self, token: str) -> Identity:
        """The identity an access token stands for (verified results are cached until the token expires)."""
        cached = self._cache.get(token)
        if cached is not None and cached[1] > time.time():
            return cached[0]
        claims = self.claims(token, "access")
        identity = Identity(
            str(claims["sub"]), str(claims.get("kind", "client")), parse_grants(claims.get("grants", ""))
        )
        self._cache[token] = (identity, float(claims["exp"]))
        if len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
        return identity


def verify_jwt(token: str, keys: KeySet, *, issuer: str, typ: str | None = None, audience: str = "") -> dict[str, Any]:
    """Signature, expiry, issuer (and audience/type when given); any failure is Unauthenticated."""
    try:
        decoded = jwt.decode(token, keys, algorithms=[ALGORITHM, "ES256", "EdDSA"])
        options: dict[str, Any] = {"exp": {"essential": True}, "iss": {"essential": True, "value": issuer}}
        if audience:
            options["aud"] = {"essential": True, "value": audience}
        registry = jwt.JWTClaimsRegistry(**options)
        registry.validate(decoded.claims)
    except (JoseError, ValueError, KeyError) as exc:
        raise Unauthenticated(f"invalid access token: {_reason(exc)}") from None
    if typ is not None and decoded.claims.get("typ") != typ:
        raise Unauthenticated(f"invalid access token: not a {typ} token")
    return decoded.claims


def _reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return "token has expired" if "expired" in text else text.split(":")[0]
