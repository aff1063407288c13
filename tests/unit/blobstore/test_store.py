"""The blob store against a real directory and a real S3 server (SeaweedFS): same behaviour on both."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from flyteidl.core import literals_pb2

from aerodrome.blobstore import layout
from aerodrome.blobstore.s3 import S3Store
from aerodrome.blobstore.store import BlobNotFound, BlobStore, DigestMismatch, LocalStore, TooLarge
from aerodrome.errors import InvalidArgument
from aerodrome.settings import Settings


async def chunks_of(data: bytes, size: int = 256 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]
        await asyncio.sleep(0)


def url_of(store: BlobStore, name: str) -> str:
    return store.url(layout.upload_key("p", "d", "root", name))


async def test_native_urls_are_plain_paths_locally_and_s3_urls_on_s3(store: BlobStore) -> None:
    url = url_of(store, "a.txt")
    if store.is_local:
        assert url.startswith("/") and "://" not in url
    else:
        assert url.startswith("s3://")
    assert store.key_of(url) == "p/d/uploads/root/a.txt"


async def test_bytes_and_protos_round_trip(store: BlobStore) -> None:
    url = url_of(store, "a.bin")
    assert not await store.exists(url)
    written = await store.write_bytes(url, b"hello")
    assert written.size == 5 and written.md5 == hashlib.md5(b"hello").digest()
    assert await store.exists(url)
    assert await store.read_bytes(url) == b"hello"
    assert await store.size(url) == 5
    assert await store.stored_md5(url) == hashlib.md5(b"hello").digest()

    literals = literals_pb2.LiteralMap()
    literals.literals["x"].scalar.primitive.integer = 3
    await store.write_proto(url_of(store, "inputs.pb"), literals)
    assert await store.read_proto(url_of(store, "inputs.pb"), literals_pb2.LiteralMap) == literals


async def test_missing_objects(store: BlobStore) -> None:
    url = url_of(store, "missing")
    with pytest.raises(BlobNotFound):
        await store.read_bytes(url)
    with pytest.raises(BlobNotFound):
        await store.size(url)
    assert await store.stored_md5(url) is None
    await store.delete(url)  # deleting nothing is fine


async def test_streams_in_both_directions(store: BlobStore) -> None:
    data = os.urandom(20 * 1024 * 1024 + 123)  # more than two S3 parts
    url = url_of(store, "big.bin")
    written = await store.write_stream(url, chunks_of(data), expected_md5=hashlib.md5(data).digest())
    assert written.size == len(data)
    received = bytearray()
    async for chunk in store.iter_bytes(url, chunk_size=4 * 1024 * 1024):
        assert len(chunk) <= 4 * 1024 * 1024
        received += chunk
    assert received == data
    assert await store.stored_md5(url) == hashlib.md5(data).digest()


async def test_too_large_and_wrong_md5_store_nothing_and_keep_the_old_object(store: BlobStore) -> None:
    url = url_of(store, "kept.bin")
    await store.write_bytes(url, b"original")
    with pytest.raises(TooLarge):
        await store.write_stream(url, chunks_of(b"x" * 10_000, 1000), max_bytes=9_999)
    with pytest.raises(DigestMismatch):
        await store.write_stream(url, chunks_of(b"other"), expected_md5=hashlib.md5(b"different").digest())
    big = os.urandom(9 * 1024 * 1024)  # a multipart upload that must be aborted
    with pytest.raises(DigestMismatch):
        await store.write_stream(url, chunks_of(big), expected_md5=bytes(16))
    assert await store.read_bytes(url) == b"original"
    fresh = url_of(store, "never.bin")
    with pytest.raises(TooLarge):
        await store.write_stream(fresh, chunks_of(b"x" * 100), max_bytes=10)
    assert not await store.exists(fresh)


async def test_no_partial_object_is_ever_visible(store: BlobStore) -> None:
    url = url_of(store, "partial.bin")
    seen: list[bool] = []

    async def slow() -> AsyncIterator[bytes]:
        yield b"a" * 1000
        seen.append(await store.exists(url))
        yield b"b" * 1000

    await store.write_stream(url, slow())
    assert seen == [False]
    assert await store.read_bytes(url) == b"a" * 1000 + b"b" * 1000


async def test_concurrent_writers_leave_one_whole_object(store: BlobStore) -> None:
    url = url_of(store, "contended.bin")
    bodies = [bytes([i]) * (3 * 1024 * 1024) for i in range(6)]
    await asyncio.gather(*(store.write_stream(url, chunks_of(body, 64 * 1024)) for body in bodies))
    assert await store.read_bytes(url) in bodies


async def test_urls_outside_the_store_are_refused(store: BlobStore) -> None:
    for url in (store.root, store.root + "/../x", store.root + "/p/../../x", store.root + "x/y"):
        with pytest.raises(InvalidArgument):
            store.key_of(url)
    if store.is_local:
        for url in ("/etc/passwd", "relative/path", store.root + "/.staging/x.part"):
            with pytest.raises(InvalidArgument):
                store.key_of(url)


async def test_local_failures_leave_no_temporary_files(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "blobs", fsync=True)
    url = store.url("p/d/uploads/r/f")
    await store.write_bytes(url, b"ok")
    with pytest.raises(TooLarge):
        await store.write_stream(url, chunks_of(b"x" * 100), max_bytes=10)

    async def broken() -> AsyncIterator[bytes]:
        yield b"x"
        raise ConnectionError("client went away")

    with pytest.raises(ConnectionError):
        await store.write_stream(url, broken())
    assert list(store.staging.iterdir()) == []
    assert Path(url).read_bytes() == b"ok"


def test_from_settings_picks_the_store(tmp_path: Path) -> None:
    local = BlobStore.from_settings(Settings(home=tmp_path))
    assert isinstance(local, LocalStore) and local.root == str(tmp_path / "blobs")
    settings = Settings(home=tmp_path)
    settings.blob.url = "s3://bucket/prefix/"
    s3 = BlobStore.from_settings(settings)
    assert isinstance(s3, S3Store) and s3.root == "s3://bucket/prefix" and not s3.is_local
    settings.blob.url = "gs://bucket"
    with pytest.raises(ValueError, match="unsupported"):
        BlobStore.from_settings(settings)


async def test_s3_presigned_urls(s3_store: S3Store) -> None:
    url = s3_store.url("p/d/uploads/r/signed.bin")
    body = b"signed content"
    digest = hashlib.md5(body).digest()
    put_url, headers = await s3_store.presign(url, "PUT", 60, content_md5=digest, add_md5_metadata=True)
    async with httpx.AsyncClient() as client:
        assert (await client.put(put_url, content=b"other content!", headers=headers)).status_code == 400
        assert not await s3_store.exists(url)
        assert (await client.put(put_url + "0", content=body, headers=headers)).status_code == 403
        assert (await client.put(put_url, content=body, headers=headers)).status_code == 200
        get_url, _ = await s3_store.presign(url, "GET", 60)
        response = await client.get(get_url, headers={"Range": "bytes=0-5"})
        assert response.status_code == 206 and response.content == body[:6]
    assert await s3_store.stored_md5(url) == digest
