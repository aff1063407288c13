"""Signed URLs: HMAC-signed links to aerodrome's own HTTP endpoint for the local store, presigned URLs
from the store itself for S3.

Only the holder of a signed URL may write (or read) the one object it names, with the one method it
names, until it expires; when an md5 was promised at signing time, only that content is accepted. The
signature covers method, key, expiry and md5, so changing any of them (or the signature) gets a 403.

The key is ``blob.signing_key`` when set, else a random key created once in the home directory, so URLs
survive restarts and several processes sharing a home agree on it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, urlencode

from aerodrome.blobstore.store import BlobStore
from aerodrome.keyfiles import load_or_create
from aerodrome.settings import Settings

ROUTE_PREFIX = "/blobs"
KEY_FILE = "blob-signing.key"


class SignatureRejected(Exception):
    """The URL's signature is missing, wrong, or expired (answered with 403)."""


@dataclass(frozen=True)
class Grant:
    """What a verified signed URL allows."""

    method: str
    key: str
    expires_at: int
    content_md5: bytes


@dataclass(frozen=True)
class SignedUrl:
    """A URL to hand to a client, the headers its request must carry, and when it stops working."""

    url: str
    expires_at: datetime
    headers: dict[str, str] = field(default_factory=dict)


def load_signing_key(settings: Settings) -> bytes:
    """The configured key, or the one kept in ``<home>/blob-signing.key`` (created on first use, mode 0600)."""
    if settings.blob.signing_key:
        return settings.blob.signing_key.encode()
    return load_or_create(Path(settings.home) / KEY_FILE, lambda: secrets.token_hex(32).encode())


class UrlSigner:
    """Signs and verifies URLs of the local store's HTTP endpoint (``<base>/blobs/<key>?…``)."""

    def __init__(self, key: bytes, base_url: str) -> None:
        if not key:
            raise ValueError("the signing key must not be empty")
        self._key = key
        self.base_url = base_url.rstrip("/")

    @classmethod
    def from_settings(cls, settings: Settings) -> UrlSigner:
        return cls(load_signing_key(settings), settings.http_base_url)

    def _mac(self, method: str, key: str, expires_at: int, content_md5: bytes) -> str:
        message = f"{method}\n{key}\n{expires_at}\n{content_md5.hex()}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def sign(self, method: str, key: str, expires_at: int, content_md5: bytes = b"") -> str:
        """A URL allowing ``method`` (PUT or GET) on ``key`` until ``expires_at`` (unix seconds)."""
        query = {"expires": str(expires_at)}
        if content_md5:
            query["md5"] = base64.urlsafe_b64encode(content_md5).decode()
        query["signature"] = self._mac(method, key, expires_at, content_md5)
        return f"{self.base_url}{ROUTE_PREFIX}/{quote(key, safe='/')}?{urlencode(query)}"

    def verify(self, method: str, key: str, query: Mapping[str, str], now: float | None = None) -> Grant:
        """The grant of a signed URL; ``SignatureRejected`` when it is not exactly as signed or has expired."""
        try:
            expires_at = int(query["expires"])
            content_md5 = base64.urlsafe_b64decode(query["md5"]) if "md5" in query else b""
            signature = query["signature"]
        except (KeyError, ValueError, binascii.Error):
            raise SignatureRejected("the URL is not signed") from None
        if not hmac.compare_digest(signature, self._mac(method, key, expires_at, content_md5)):
            raise SignatureRejected("the URL signature does not match")
        if (time.time() if now is None else now) > expires_at:
            raise SignatureRejected("the URL has expired")
        return Grant(method, key, expires_at, content_md5)


async def sign_blob_url(
    store: BlobStore,
    signer: UrlSigner,
    native_url: str,
    method: str,
    expires_in: int,
    *,
    content_md5: bytes = b"",
    add_md5_metadata: bool = False,
) -> SignedUrl:
    """A signed ``method`` URL for a native URL of ``store``, whichever kind of store it is."""
    expires_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=expires_in)
    if store.is_local:
        key = store.key_of(native_url)
        return SignedUrl(signer.sign(method, key, int(expires_at.timestamp()), content_md5), expires_at)
    url, headers = await store.presign(
        native_url, method, expires_in, content_md5=content_md5, add_md5_metadata=add_md5_metadata
    )
    return SignedUrl(url, expires_at, headers)
