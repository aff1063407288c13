"""The blob store: one async interface over a local directory (the default) and any S3-compatible store.

Everything addresses blobs by their *native URL*: a plain absolute path for the local store (flytekit
mishandles ``file://`` for file inputs, see ARCHITECTURE decision 6) or ``s3://bucket/key`` for S3. Keys
(relative paths built by ``layout``) become native URLs with ``url(key)``, and ``key_of(url)`` refuses any
URL outside the root, so nothing can be read or written beside the store through this interface.

Writes are atomic: a reader sees the old object or the whole new one, never a part. Locally that is a
temporary file under ``<root>/.staging`` renamed into place; on S3 the object appears when its single PUT
or multipart upload completes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from google.protobuf.message import Message

from aerodrome.blobstore.staging import StagingWriter
from aerodrome.errors import InvalidArgument, NotFound, ResourceExhausted

if TYPE_CHECKING:
    from aerodrome.settings import Settings

M = TypeVar("M", bound=Message)
CHUNK = 1024 * 1024
SMALL_WRITE = 256 * 1024  # objects up to this size are written in one worker-thread hop
STAGING = ".staging"


class BlobNotFound(NotFound):
    """The addressed object does not exist."""


class TooLarge(ResourceExhausted):
    """A streamed write exceeded its size limit (nothing was stored)."""


class DigestMismatch(InvalidArgument):
    """A streamed write's md5 differs from the one promised (nothing was stored)."""


@dataclass(frozen=True)
class Written:
    """What a completed streamed write stored."""

    size: int
    md5: bytes


class _Sink:
    """Counts and hashes a stream as it passes, enforcing the size limit before a byte too many is kept."""

    def __init__(self, max_bytes: int | None) -> None:
        self.size = 0
        self.md5 = hashlib.md5()
        self.max_bytes = max_bytes

    def count(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.max_bytes is not None and self.size > self.max_bytes:
            raise TooLarge(f"the upload exceeds the limit of {self.max_bytes} bytes")

    def take(self, chunk: bytes) -> None:
        self.count(chunk)
        self.md5.update(chunk)

    def finish(self, expected_md5: bytes | None) -> Written:
        digest = self.md5.digest()
        if expected_md5 is not None and digest != expected_md5:
            raise DigestMismatch("the content md5 does not match the uploaded data")
        return Written(self.size, digest)


class BlobStore(ABC):
    """Async blob access by native URL; see the module docstring."""

    root: str
    is_local: bool

    @staticmethod
    def from_settings(settings: Settings) -> BlobStore:
        """The store the settings describe: ``s3://bucket[/prefix]`` or a local directory (the default)."""
        url = settings.blob_url
        if url.startswith("s3://"):
            from aerodrome.blobstore.s3 import S3Store

            return S3Store(url, settings.blob)
        if url.startswith("file://"):
            url = url[len("file://") :]
        if "://" in url:
            raise ValueError(f"unsupported blob store URL {url!r}: use an absolute path or s3://bucket/prefix")
        return LocalStore(Path(url).expanduser(), fsync=settings.blob.fsync)

    def url(self, key: str) -> str:
        """The native URL of a key (a relative path from ``layout``)."""
        return f"{self.root}/{key.lstrip('/')}"

    @abstractmethod
    def key_of(self, url: str) -> str:
        """The key of a native URL; INVALID_ARGUMENT when the URL is not inside this store."""

    @abstractmethod
    async def exists(self, url: str) -> bool: ...

    @abstractmethod
    async def size(self, url: str) -> int:
        """Size in bytes; ``BlobNotFound`` when absent."""

    @abstractmethod
    async def read_bytes(self, url: str) -> bytes: ...

    @abstractmethod
    def iter_bytes(self, url: str, chunk_size: int = CHUNK) -> AsyncIterator[bytes]:
        """Stream an object in chunks (downloads never hold a whole object in memory)."""

    @abstractmethod
    async def write_stream(
        self, url: str, chunks: AsyncIterable[bytes], *, max_bytes: int | None = None, expected_md5: bytes | None = None
    ) -> Written:
        """Store a stream atomically; nothing is stored when it is too large or its md5 differs."""

    @abstractmethod
    async def stored_md5(self, url: str) -> bytes | None:
        """The raw md5 of a stored object when the store knows or can compute it; None when absent."""

    @abstractmethod
    async def delete(self, url: str) -> None: ...

    async def presign(
        self, url: str, method: str, expires_in: int, *, content_md5: bytes = b"", add_md5_metadata: bool = False
    ) -> tuple[str, dict[str, str]]:
        """A URL signed by the store itself and the headers its request must carry (object stores only)."""
        raise NotImplementedError("the local store is signed with the server's key, see blobstore.signing")

    async def write_bytes(self, url: str, data: bytes, *, durable: bool = True) -> Written:
        """``durable=False``: the object may be lost in a power cut (never torn) because whoever needs it
        writes it again (a node's inputs are derived from its upstream's outputs on every run)."""

        async def one() -> AsyncIterator[bytes]:
            yield data

        return await self.write_stream(url, one())

    async def write_once(self, url: str, data: bytes) -> None:
        """An immutable object named by its content: written (durably) unless it is already stored."""
        if not await self.exists(url):
            await self.write_bytes(url, data)

    async def read_proto(self, url: str, cls: type[M]) -> M:
        message = cls()
        message.ParseFromString(await self.read_bytes(url))
        return message

    async def write_proto(self, url: str, message: Message, *, durable: bool = True) -> Written:
        return await self.write_bytes(url, message.SerializeToString(deterministic=True), durable=durable)

    async def close(self) -> None:  # noqa: B027 - optional hook, a no-op for the local store
        """Release connections."""


class LocalStore(BlobStore):
    """A directory on the server's filesystem, shared with tasks and clients as plain absolute paths."""

    is_local = True

    def __init__(self, root: Path, *, fsync: bool = True) -> None:
        self.base = Path(os.path.abspath(root))
        self.root = str(self.base)
        self.fsync = fsync
        self.staging = self.base / STAGING

    def key_of(self, url: str) -> str:
        path = url
        for scheme in ("file://", "local://"):  # local:// names user uploads (see fsspec_local.py)
            if path.startswith(scheme):
                path = path[len(scheme) :]
        if not os.path.isabs(path):
            raise InvalidArgument(f"invalid native url [{url}]: not an absolute path in the blob store")
        normal = os.path.normpath(path)
        if os.path.commonpath([normal, self.root]) != self.root or normal == self.root:
            raise InvalidArgument(f"invalid native url [{url}]: outside the blob store {self.root}")
        key = os.path.relpath(normal, self.root)
        if key.split(os.sep)[0] == STAGING:
            raise InvalidArgument(f"invalid native url [{url}]: not a stored object")
        return key.replace(os.sep, "/")

    def path(self, url: str) -> Path:
        """The file behind a native URL (checked to be inside the store)."""
        return self.base / self.key_of(url)

    async def exists(self, url: str) -> bool:
        return await asyncio.to_thread(self.path(url).is_file)

    async def size(self, url: str) -> int:
        try:
            return (await asyncio.to_thread(self.path(url).stat)).st_size
        except FileNotFoundError:
            raise BlobNotFound(f"object [{url}] does not exist") from None

    async def read_bytes(self, url: str) -> bytes:
        try:
            return await asyncio.to_thread(self.path(url).read_bytes)
        except (FileNotFoundError, IsADirectoryError):
            raise BlobNotFound(f"object [{url}] does not exist") from None

    async def iter_bytes(self, url: str, chunk_size: int = CHUNK) -> AsyncIterator[bytes]:
        try:
            handle = await asyncio.to_thread(self.path(url).open, "rb")
        except (FileNotFoundError, IsADirectoryError):
            raise BlobNotFound(f"object [{url}] does not exist") from None
        try:
            while chunk := await asyncio.to_thread(handle.read, chunk_size):
                yield chunk
        finally:
            handle.close()

    async def write_stream(
        self, url: str, chunks: AsyncIterable[bytes], *, max_bytes: int | None = None, expected_md5: bytes | None = None
    ) -> Written:
        target = self.path(url)
        self.staging.mkdir(parents=True, exist_ok=True)
        temp = self.staging / f"{uuid.uuid4().hex}.part"
        sink = _Sink(max_bytes)
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            writer = StagingWriter(fd, sink.md5, durable=self.fsync)
            try:
                async for chunk in chunks:
                    sink.count(chunk)  # the size limit holds before the chunk is kept
                    await writer.add(chunk)
                await writer.finish()
                written = sink.finish(expected_md5)
            finally:
                writer.settle()  # never close the fd under a running write or flush, even when cancelled
                os.close(fd)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temp, target)  # atomic: concurrent writers each replace with a whole file
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
            raise
        return written

    async def write_bytes(self, url: str, data: bytes, *, durable: bool = True) -> Written:
        """Small objects (the protos of inputs and outputs every node writes) in ONE hop to a worker thread:
        write, fsync and rename there, instead of a hop per step (each hop waits for a thread and then for
        the GIL on a busy machine). Larger ones stream."""
        if len(data) > SMALL_WRITE:
            return await super().write_bytes(url, data)
        return await asyncio.to_thread(self._write_small, self.path(url), data, durable and self.fsync)

    async def write_once(self, url: str, data: bytes) -> None:
        """The check and the write in one hop (content-named objects are never large)."""
        target = self.path(url)
        await asyncio.to_thread(lambda: target.is_file() or self._write_small(target, data, self.fsync))

    def _write_small(self, target: Path, data: bytes, fsync: bool) -> Written:
        self.staging.mkdir(parents=True, exist_ok=True)
        temp = self.staging / f"{uuid.uuid4().hex}.part"
        try:
            with temp.open("xb") as handle:
                handle.write(data)
                handle.flush()
                if fsync:
                    os.fsync(handle.fileno())
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temp, target)  # atomic, as for streamed writes
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
            raise
        return Written(len(data), hashlib.md5(data).digest())

    async def stored_md5(self, url: str) -> bytes | None:
        def digest() -> bytes | None:
            try:
                with self.path(url).open("rb") as handle:
                    return hashlib.file_digest(handle, "md5").digest()
            except (FileNotFoundError, IsADirectoryError):
                return None

        return await asyncio.to_thread(digest)

    async def delete(self, url: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread(self.path(url).unlink)
