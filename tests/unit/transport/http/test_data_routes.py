"""Signed PUT and GET on a real Starlette app over real files, driven with httpx."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from flyteidl.service import dataproxy_pb2 as dp
from google.protobuf import duration_pb2
from starlette.applications import Starlette

from aerodrome.blobstore.signing import UrlSigner
from aerodrome.blobstore.store import LocalStore
from aerodrome.managers.data import DataProxyManager
from aerodrome.settings import Settings
from aerodrome.transport.http.data import data_routes


class Env:
    def __init__(self, tmp_path: Path, max_upload_bytes: int = 10 * 1024 * 1024) -> None:
        self.settings = Settings(home=tmp_path)
        self.settings.blob.max_upload_bytes = max_upload_bytes
        self.store = LocalStore(tmp_path / "blobs", fsync=False)
        self.signer = UrlSigner.from_settings(self.settings)
        self.manager = DataProxyManager(self.store, self.signer, self.settings)
        app = Starlette(routes=data_routes(self.store, self.signer, self.settings))
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))

    async def location(self, body: bytes | None, **fields: object) -> dp.CreateUploadLocationResponse:
        md5 = hashlib.md5(body).digest() if body is not None else b""
        base: dict[str, object] = {"project": "p", "domain": "d", "filename": "f.bin", "content_md5": md5}
        if body is None:
            base.update(filename="", filename_root="writer")
        request = dp.CreateUploadLocationRequest(**{**base, **fields})  # type: ignore[arg-type]
        return await self.manager.create_upload_location(request)

    def staged(self) -> list[Path]:
        return list(self.store.staging.iterdir()) if self.store.staging.exists() else []


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    e = Env(tmp_path)
    yield e
    await e.client.aclose()


def md5_header(body: bytes) -> dict[str, str]:
    return {"Content-MD5": base64.b64encode(hashlib.md5(body).digest()).decode()}


async def test_upload_then_download_with_range(env: Env) -> None:
    body = os.urandom(100_000)
    loc = await env.location(body)
    response = await env.client.put(loc.signed_url, content=body, headers=md5_header(body))
    assert response.status_code == 200, response.text
    assert Path(loc.native_url.removeprefix("local://")).read_bytes() == body
    link = await env.manager.create_download_location(dp.CreateDownloadLocationRequest(native_url=loc.native_url))
    got = await env.client.get(link.signed_url)
    assert got.status_code == 200 and got.content == body
    part = await env.client.get(link.signed_url, headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == body[10:20]
    head = await env.client.head(link.signed_url)
    assert head.status_code == 200 and head.headers["content-length"] == str(len(body))


async def test_tampered_expired_and_misused_urls_get_403(env: Env) -> None:
    body = b"payload"
    loc = await env.location(body)
    url = loc.signed_url
    for bad in (
        url.replace("signature=", "signature=0"),
        url.replace("/f.bin?", "/g.bin?"),
        url.split("?")[0],
        url.replace("expires=", "expires=9"),
    ):
        assert (await env.client.put(bad, content=body)).status_code == 403
    assert (await env.client.get(url)).status_code == 403  # a PUT URL does not read
    short = await env.location(body, filename="g.bin", expires_in=duration_pb2.Duration(seconds=1))
    await asyncio.sleep(2.1)
    assert (await env.client.put(short.signed_url, content=body)).status_code == 403
    assert (
        not Path(short.native_url.removeprefix("local://")).exists()
        and not Path(loc.native_url.removeprefix("local://")).exists()
    )


async def test_content_must_match_the_promised_md5(env: Env) -> None:
    body = b"the real content"
    loc = await env.location(body)
    wrong = b"something else!!"
    assert (await env.client.put(loc.signed_url, content=wrong)).status_code == 400
    assert (await env.client.put(loc.signed_url, content=wrong, headers=md5_header(wrong))).status_code == 403
    garbled = {"Content-MD5": "not base64!"}
    assert (await env.client.put(loc.signed_url, content=body, headers=garbled)).status_code == 400
    assert not Path(loc.native_url.removeprefix("local://")).exists() and env.staged() == []
    open_loc = await env.location(None)  # FlyteFS writer: no md5 promised, the header still binds the body
    assert (await env.client.put(open_loc.signed_url, content=wrong, headers=md5_header(body))).status_code == 400
    assert (await env.client.put(open_loc.signed_url, content=wrong)).status_code == 200


async def test_size_limit(tmp_path: Path) -> None:
    env = Env(tmp_path, max_upload_bytes=1000)
    loc = await env.location(None)
    assert (await env.client.put(loc.signed_url, content=b"x" * 1001)).status_code == 413

    async def unsized() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b"y" * 100

    assert (await env.client.put(loc.signed_url, content=unsized())).status_code == 413
    assert not Path(loc.native_url.removeprefix("local://")).exists() and env.staged() == []
    assert (await env.client.put(loc.signed_url, content=b"x" * 1000)).status_code == 200
    await env.client.aclose()


async def test_concurrent_uploads_to_one_key_leave_one_whole_object(env: Env) -> None:
    loc = await env.location(None)
    bodies = [bytes([i]) * 500_000 for i in range(8)]
    results = await asyncio.gather(*(env.client.put(loc.signed_url, content=b) for b in bodies))
    assert all(r.status_code == 200 for r in results)
    assert Path(loc.native_url.removeprefix("local://")).read_bytes() in bodies
    assert env.staged() == []


async def test_missing_objects_and_escapes(env: Env) -> None:
    expires = int(time.time()) + 60
    missing = env.signer.sign("GET", "p/d/uploads/r/none", expires)
    assert (await env.client.get(missing)).status_code == 404
    # even a validly signed key cannot leave the store or reach the staging area
    for key in ("p/../../outside", ".staging/x.part"):
        response = await env.client.get(env.signer.sign("GET", key, expires))
        assert response.status_code in (400, 403, 404)
        assert response.status_code != 200


async def test_a_key_that_is_a_directory_conflicts(env: Env) -> None:
    expires = int(time.time()) + 60
    await env.store.write_bytes(env.store.url("p/d/uploads/r/dir/file"), b"x")
    response = await env.client.put(env.signer.sign("PUT", "p/d/uploads/r/dir", expires), content=b"y")
    assert response.status_code == 409 and env.staged() == []


def test_no_routes_for_an_object_store(tmp_path: Path) -> None:
    from aerodrome.blobstore.s3 import S3Store

    settings = Settings(home=tmp_path)
    store = S3Store("s3://bucket", settings.blob)
    assert data_routes(store, UrlSigner(b"k", "http://h"), settings) == []
