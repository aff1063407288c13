"""Token signing keys: RSA keys made on first start, kept in the database (every process signs alike).

The newest active key signs; every active key verifies, so after ``aerodrome auth keys rotate`` tokens
signed by the previous key stay valid until they expire. Signed data-proxy URLs use a different key
(``blob.signing_key``), so a leaked token key cannot forge data links and vice versa.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from joserfc.jwk import KeySet, RSAKey

from aerodrome.auth.store import AuthStore

ALGORITHM = "RS256"


def new_key() -> tuple[str, str]:
    """A fresh (kid, private JWK JSON)."""
    kid = uuid.uuid4().hex[:16]
    key = RSAKey.generate_key(2048, parameters={"kid": kid, "alg": ALGORITHM, "use": "sig"}, private=True)
    return kid, json.dumps(key.as_dict(private=True))


class KeyRing:
    """The signing key and the verification key set, loaded once per process."""

    def __init__(self, signing: RSAKey, verifying: KeySet) -> None:
        self.signing = signing
        self.verifying = verifying

    @classmethod
    async def load(cls, store: AuthStore) -> KeyRing:
        """Load the active keys, creating the first one if there is none."""
        rows = await store.active_keys()
        if not rows:
            kid, jwk = new_key()
            await store.add_key(kid, jwk)
            rows = await store.active_keys()
        keys: list[Any] = [RSAKey.import_key(json.loads(row.private_jwk)) for row in rows]
        return cls(keys[0], KeySet(keys))

    def jwks(self) -> dict[str, object]:
        """The public half of every verifying key (published at /oauth2/jwks)."""
        return dict(self.verifying.as_dict(private=False))
