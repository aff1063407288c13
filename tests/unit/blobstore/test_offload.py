"""Literal maps come back inline below the limit and as a signed URL with their size above it."""

from __future__ import annotations

from pathlib import Path

import httpx
from flyteidl.core import literals_pb2
from starlette.applications import Starlette

from aerodrome.blobstore.offload import LiteralOffloader
from aerodrome.blobstore.signing import UrlSigner
from aerodrome.blobstore.store import LocalStore
from aerodrome.settings import Settings
from aerodrome.transport.http.data import data_routes


def literal_map(size: int) -> literals_pb2.LiteralMap:
    lm = literals_pb2.LiteralMap()
    lm.literals["s"].scalar.primitive.string_value = "x" * size
    return lm


def offloader(tmp_path: Path, limit: int) -> tuple[LiteralOffloader, Settings]:
    settings = Settings(home=tmp_path)
    settings.blob.inline_limit_bytes = limit
    store = LocalStore(tmp_path / "blobs", fsync=False)
    return LiteralOffloader.from_settings(store, UrlSigner.from_settings(settings), settings), settings


async def test_small_maps_are_inline(tmp_path: Path) -> None:
    off, _ = offloader(tmp_path, 1000)
    url = off.store.url("p/d/executions/e/inputs.pb")
    size = await off.write(url, literal_map(10))
    data = await off.present(url)
    assert data.inline and data.full == literal_map(10)
    assert data.url_blob.bytes == size and data.url_blob.url.startswith("http://")


async def test_large_maps_are_a_signed_url_that_serves_them(tmp_path: Path) -> None:
    off, settings = offloader(tmp_path, 1000)
    url = off.store.url("p/d/executions/e/outputs.pb")
    size = await off.write(url, literal_map(5000))
    data = await off.present(url)
    assert not data.inline and len(data.full.literals) == 0 and data.url_blob.bytes == size
    app = Starlette(routes=data_routes(off.store, off.signer, settings))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
        response = await client.get(data.url_blob.url)
    assert literals_pb2.LiteralMap.FromString(response.content) == literal_map(5000)


async def test_the_limit_is_strict(tmp_path: Path) -> None:
    off, _ = offloader(tmp_path, 0)
    url = off.store.url("p/d/executions/e/inputs.pb")
    size = await off.write(url, literal_map(10))
    off.inline_limit_bytes = size
    assert not (await off.present(url)).inline
    off.inline_limit_bytes = size + 1
    assert (await off.present(url)).inline


async def test_missing_or_unset_data_is_an_empty_map(tmp_path: Path) -> None:
    off, _ = offloader(tmp_path, 1000)
    for url in ("", off.store.url("p/d/executions/e/none.pb")):
        data = await off.present(url)
        assert data.inline and len(data.full.literals) == 0 and data.url_blob.url == ""
