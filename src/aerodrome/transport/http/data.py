"""Signed upload (PUT) and download (GET, HEAD, Range) endpoints for the local blob store.

These are the URLs CreateUploadLocation and the download calls hand out when the store is a local
directory (with S3 the store's own presigned URLs are used and no route is added). A request is served
only when its URL is exactly as signed and unexpired (else 403). Uploads stream to a temporary file and
are renamed into place only when complete, within the size limit and matching the md5 they promised, so
a reader never sees a partial object and concurrent uploads to one key leave one whole object.
"""

from __future__ import annotations

import base64
import binascii

from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Route

from aerodrome.blobstore.signing import ROUTE_PREFIX, SignatureRejected, UrlSigner
from aerodrome.blobstore.store import BlobStore, DigestMismatch, LocalStore, TooLarge
from aerodrome.errors import InvalidArgument
from aerodrome.settings import Settings


def data_routes(store: BlobStore, signer: UrlSigner, settings: Settings) -> list[Route]:
    """The routes to mount on the HTTP app; none when the store signs its own URLs (S3)."""
    if not isinstance(store, LocalStore):
        return []
    handlers = _Handlers(store, signer, settings.blob.max_upload_bytes)
    path = f"{ROUTE_PREFIX}/{{key:path}}"
    return [
        Route(path, handlers.upload, methods=["PUT"], name="blob_upload"),
        Route(path, handlers.download, methods=["GET", "HEAD"], name="blob_download"),
    ]


def _text(status: int, message: str) -> Response:
    return PlainTextResponse(message + "\n", status_code=status)


class _Handlers:
    def __init__(self, store: LocalStore, signer: UrlSigner, max_bytes: int) -> None:
        self.store = store
        self.signer = signer
        self.max_bytes = max_bytes

    def _url(self, key: str) -> str:
        url = self.store.url(key)
        self.store.key_of(url)  # refuses anything outside the store, whatever was signed
        return url

    async def upload(self, request: Request) -> Response:
        key = request.path_params["key"]
        try:
            grant = self.signer.verify("PUT", key, request.query_params)
            url = self._url(key)
        except SignatureRejected as exc:
            return _text(403, f"forbidden: {exc}")
        except InvalidArgument as exc:
            return _text(400, exc.message)
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            return _text(413, f"the upload exceeds the limit of {self.max_bytes} bytes")
        expected = grant.content_md5 or None
        header = request.headers.get("content-md5")
        if header is not None:
            try:
                claimed = base64.b64decode(header, validate=True)
            except (binascii.Error, ValueError):
                return _text(400, "InvalidDigest: the Content-MD5 header is not base64")
            if len(claimed) != 16:
                return _text(400, "InvalidDigest: the Content-MD5 header is not an md5 digest")
            if expected is not None and claimed != expected:
                return _text(403, "forbidden: the Content-MD5 header differs from the signed md5")
            expected = claimed
        try:
            written = await self.store.write_stream(
                url, request.stream(), max_bytes=self.max_bytes, expected_md5=expected
            )
        except TooLarge as exc:
            return _text(413, exc.message)
        except DigestMismatch as exc:
            return _text(400, f"BadDigest: {exc.message}")
        except ClientDisconnect:
            return _text(400, "the client disconnected before the upload completed; nothing was stored")
        except (IsADirectoryError, NotADirectoryError):
            return _text(409, f"{key} conflicts with a directory of the store; nothing was stored")
        return Response(status_code=200, headers={"ETag": f'"{written.md5.hex()}"'})

    async def download(self, request: Request) -> Response:
        key = request.path_params["key"]
        try:
            self.signer.verify("GET", key, request.query_params)
            path = self.store.path(self._url(key))
        except SignatureRejected as exc:
            return _text(403, f"forbidden: {exc}")
        except InvalidArgument as exc:
            return _text(400, exc.message)
        if not path.is_file():
            return _text(404, f"no object at {key}")
        return FileResponse(path, filename=None, content_disposition_type="inline")
