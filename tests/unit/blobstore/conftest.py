"""Stores for the blob store tests: a local directory, and a bucket prefix on a real SeaweedFS."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from tests.support.seaweed import Seaweed, seaweed, unique_prefix

from aerodrome.blobstore.s3 import S3Store
from aerodrome.blobstore.store import BlobStore, LocalStore
from aerodrome.settings import BlobSettings


@pytest.fixture(scope="session")
def weed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seaweed]:
    """One SeaweedFS for the session (skips when the binary is absent)."""
    with seaweed(tmp_path_factory.mktemp("seaweed")) as server:
        yield server


def _s3(server: Seaweed) -> S3Store:
    settings = BlobSettings(**server.blob_overrides(unique_prefix()))  # type: ignore[arg-type]
    return S3Store(settings.url, settings)


@pytest.fixture
async def s3_store(weed: Seaweed) -> AsyncIterator[S3Store]:
    """A fresh prefix of the SeaweedFS bucket."""
    store = _s3(weed)
    yield store
    await store.close()


@pytest.fixture(params=["local", "s3"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BlobStore]:
    """Each store test runs against both kinds of store."""
    if request.param == "local":
        yield LocalStore(tmp_path / "blobs", fsync=False)
        return
    s3 = _s3(request.getfixturevalue("weed"))
    yield s3
    await s3.close()
