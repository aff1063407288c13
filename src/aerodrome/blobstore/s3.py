"""The S3-compatible store (AWS, SeaweedFS, MinIO, …) through s3fs, plus presigned URLs from the store.

With S3 the server is not in the data path: clients PUT and GET with URLs the store itself signs, and tasks
read ``s3://`` URLs with their own credentials. Streamed writes go through a multipart upload, so memory
stays bounded by one part and the object appears only when the upload completes (or never, when it is
aborted because it is too large or its md5 differs).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

from s3fs.core import S3FileSystem

from aerodrome.blobstore.store import CHUNK, BlobNotFound, BlobStore, Written, _Sink
from aerodrome.errors import InvalidArgument
from aerodrome.settings import BlobSettings

PART = 8 * 1024 * 1024  # S3's minimum part is 5 MiB
MD5_METADATA = "flytecontentmd5"  # the metadata key flyteadmin's data proxy writes


class S3Store(BlobStore):
    """``s3://bucket[/prefix]`` with endpoint, region and credentials from the blob settings."""

    is_local = False

    def __init__(self, url: str, settings: BlobSettings) -> None:
        self.root = url.rstrip("/")
        self.bucket = self.root[len("s3://") :].split("/", 1)[0]
        if not self.bucket:
            raise ValueError(f"blob store URL {url!r} names no bucket")
        self.settings = settings
        self._fs: Any = None

    def _filesystem(self) -> Any:
        """The s3fs filesystem, made on first use so that it binds to the running event loop."""
        if self._fs is None:
            s = self.settings
            client: dict[str, Any] = {}
            if s.s3_endpoint:
                client["endpoint_url"] = s.s3_endpoint
            if s.s3_region:
                client["region_name"] = s.s3_region
            self._fs = S3FileSystem(
                asynchronous=True,
                skip_instance_cache=True,
                key=s.s3_access_key or None,
                secret=s.s3_secret_key or None,
                client_kwargs=client,
                config_kwargs={"signature_version": "s3v4"},
            )
        return self._fs

    async def _client(self) -> Any:
        return await self._filesystem().set_session()

    def key_of(self, url: str) -> str:
        if not url.startswith(self.root + "/") or len(url) == len(self.root) + 1:
            raise InvalidArgument(f"invalid native url [{url}]: outside the blob store {self.root}")
        key = url[len(self.root) + 1 :]
        if any(part in ("", ".", "..") for part in key.split("/")):
            raise InvalidArgument(f"invalid native url [{url}]: it must not escape its prefix")
        return key

    def _object(self, url: str) -> str:
        """The bucket-relative object key (the store prefix included)."""
        self.key_of(url)
        return url[len("s3://") + len(self.bucket) + 1 :]

    def _path(self, url: str) -> str:
        return f"{self.bucket}/{self._object(url)}"

    async def exists(self, url: str) -> bool:
        try:
            await self.size(url)
        except BlobNotFound:
            return False
        return True

    async def size(self, url: str) -> int:
        try:
            info = await self._filesystem()._info(self._path(url), refresh=True)
        except FileNotFoundError:
            raise BlobNotFound(f"object [{url}] does not exist") from None
        if info.get("type") != "file":
            raise BlobNotFound(f"object [{url}] does not exist")
        return int(info["size"])

    async def read_bytes(self, url: str) -> bytes:
        try:
            data: bytes = await self._filesystem()._cat_file(self._path(url))
        except FileNotFoundError:
            raise BlobNotFound(f"object [{url}] does not exist") from None
        return data

    async def iter_bytes(self, url: str, chunk_size: int = CHUNK) -> AsyncIterator[bytes]:
        total = await self.size(url)
        fs = self._filesystem()
        for start in range(0, total, chunk_size):
            yield await fs._cat_file(self._path(url), start=start, end=min(start + chunk_size, total))

    async def write_stream(
        self, url: str, chunks: AsyncIterable[bytes], *, max_bytes: int | None = None, expected_md5: bytes | None = None
    ) -> Written:
        s3 = await self._client()
        key = self._object(url)
        sink = _Sink(max_bytes)
        buffer = bytearray()
        upload_id = ""
        parts: list[dict[str, Any]] = []
        try:
            async for chunk in chunks:
                sink.take(chunk)
                buffer += chunk
                if len(buffer) >= PART:
                    if not upload_id:
                        upload_id = (await s3.create_multipart_upload(Bucket=self.bucket, Key=key))["UploadId"]
                    part = await s3.upload_part(
                        Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=len(parts) + 1, Body=bytes(buffer)
                    )
                    parts.append({"PartNumber": len(parts) + 1, "ETag": part["ETag"]})
                    buffer.clear()
            written = sink.finish(expected_md5)
            digest = base64.b64encode(written.md5).decode()
            if not upload_id:
                await s3.put_object(
                    Bucket=self.bucket, Key=key, Body=bytes(buffer), ContentMD5=digest, Metadata={MD5_METADATA: digest}
                )
                return written
            if buffer:
                part = await s3.upload_part(
                    Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=len(parts) + 1, Body=bytes(buffer)
                )
                parts.append({"PartNumber": len(parts) + 1, "ETag": part["ETag"]})
            await s3.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
            return written
        except BaseException:
            if upload_id:
                with contextlib.suppress(Exception):
                    await s3.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
            raise

    async def stored_md5(self, url: str) -> bytes | None:
        s3 = await self._client()
        try:
            head = await s3.head_object(Bucket=self.bucket, Key=self._object(url))
        except Exception as exc:
            if _is_not_found(exc):
                return None
            raise
        recorded = head.get("Metadata", {}).get(MD5_METADATA)
        if recorded:
            return base64.b64decode(recorded)
        etag = head.get("ETag", "").strip('"')
        if etag and "-" not in etag:
            return bytes.fromhex(etag)
        digest = hashlib.md5()
        async for chunk in self.iter_bytes(url):
            digest.update(chunk)
        return digest.digest()

    async def delete(self, url: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            await self._filesystem()._rm_file(self._path(url))

    async def presign(
        self, url: str, method: str, expires_in: int, *, content_md5: bytes = b"", add_md5_metadata: bool = False
    ) -> tuple[str, dict[str, str]]:
        """A URL the store itself signs, and the headers the request must then carry."""
        s3 = await self._client()
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": self._object(url)}
        headers: dict[str, str] = {}
        if method == "PUT" and content_md5:
            digest = base64.b64encode(content_md5).decode()
            params["ContentMD5"] = headers["Content-MD5"] = digest
            if add_md5_metadata:
                params["Metadata"] = {MD5_METADATA: digest}
                headers[f"x-amz-meta-{MD5_METADATA}"] = digest
        operation = "put_object" if method == "PUT" else "get_object"
        signed: str = await s3.generate_presigned_url(operation, Params=params, ExpiresIn=expires_in)
        return signed, headers

    async def close(self) -> None:
        if self._fs is not None and self._fs._s3 is not None:
            await self._fs._s3.close()
            self._fs = None


def _is_not_found(exc: Exception) -> bool:
    response = getattr(exc, "response", None)
    code = str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""
    return code in ("404", "NoSuchKey", "NotFound")
