"""Secrets and passwords are stored only as argon2id hashes (argon2-cffi's defaults, salted per value)."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def verify_secret(stored_hash: str, secret: str) -> bool:
    """True when ``secret`` matches; any malformed hash or mismatch is simply False."""
    try:
        return _hasher.verify(stored_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


def new_secret() -> str:
    """A fresh client secret: 32 random bytes, URL-safe."""
    return secrets.token_urlsafe(32)
