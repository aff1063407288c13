"""Literal maps (inputs, outputs) kept as blobs and handed out inline when small, as a URL when large.

Executions store every literal map in the blob store (flyteadmin's default ``Offload`` policy), so records
stay small and tasks read the same bytes the API serves. Readers (GetExecutionData and its node and task
siblings, GetData) get the full map inline only when the blob is smaller than ``blob.inline_limit_bytes``
(strictly, as flyteadmin compares); above it they get a signed URL and the size, and fetch it themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flyteidl.admin import common_pb2
from flyteidl.core import literals_pb2

from aerodrome.blobstore.signing import UrlSigner, sign_blob_url
from aerodrome.blobstore.store import BlobNotFound, BlobStore
from aerodrome.settings import Settings


@dataclass(frozen=True)
class LiteralData:
    """One literal map as an API returns it: always a URL and size, the map itself only when small."""

    url_blob: common_pb2.UrlBlob = field(default_factory=common_pb2.UrlBlob)
    full: literals_pb2.LiteralMap = field(default_factory=literals_pb2.LiteralMap)
    inline: bool = True  # False when the map is too large and only the URL is given


class LiteralOffloader:
    """Writes literal maps as blobs and presents them inline or as signed URLs."""

    def __init__(self, store: BlobStore, signer: UrlSigner, *, inline_limit_bytes: int, expires_in: int) -> None:
        self.store = store
        self.signer = signer
        self.inline_limit_bytes = inline_limit_bytes
        self.expires_in = expires_in

    @classmethod
    def from_settings(cls, store: BlobStore, signer: UrlSigner, settings: Settings) -> LiteralOffloader:
        return cls(
            store,
            signer,
            inline_limit_bytes=settings.blob.inline_limit_bytes,
            expires_in=settings.blob.upload_expiry_seconds,
        )

    async def write(self, url: str, literal_map: literals_pb2.LiteralMap) -> int:
        """Store a map at ``url`` (atomically); returns its size in bytes."""
        return (await self.store.write_proto(url, literal_map)).size

    async def read(self, url: str) -> literals_pb2.LiteralMap:
        """The map stored at ``url``; ``BlobNotFound`` when absent."""
        return await self.store.read_proto(url, literals_pb2.LiteralMap)

    def fits_inline(self, size: int) -> bool:
        return size < self.inline_limit_bytes

    async def present(self, url: str) -> LiteralData:
        """The map at ``url`` for an API response: signed URL and size, plus the map when it is small.

        An empty or missing URL is an empty map (nothing recorded yet), as flyteadmin swallows read failures.
        """
        if not url:
            return LiteralData()
        try:
            size = await self.store.size(url)
        except BlobNotFound:
            return LiteralData()
        signed = await sign_blob_url(self.store, self.signer, url, "GET", self.expires_in)
        blob = common_pb2.UrlBlob(url=signed.url, bytes=size)
        if not self.fits_inline(size):
            return LiteralData(blob, inline=False)
        try:
            return LiteralData(blob, await self.read(url))
        except BlobNotFound:
            return LiteralData()
