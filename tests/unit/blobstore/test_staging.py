"""The staging writer on real files: order, hash and flushes hold however the stream is cut into chunks."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from aerodrome.blobstore import staging
from aerodrome.blobstore.staging import StagingWriter


async def write_file(path: Path, chunks: list[bytes], *, durable: bool) -> bytes:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    digest = hashlib.md5()
    writer = StagingWriter(fd, digest, durable=durable)
    try:
        for chunk in chunks:
            await writer.add(chunk)
        await writer.finish()
    finally:
        writer.settle()
        os.close(fd)
    return digest.digest()


@pytest.mark.parametrize("durable", [True, False])
async def test_many_batches_and_flushes_keep_order_and_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, durable: bool
) -> None:
    monkeypatch.setattr(staging, "BATCH", 64 * 1024)
    monkeypatch.setattr(staging, "FLUSH_EVERY", 256 * 1024)  # many background flushes
    data = os.urandom(3 * 1024 * 1024 + 17)
    chunks = [data[i : i + 10_000] for i in range(0, len(data), 10_000)]
    digest = await write_file(tmp_path / "out", chunks, durable=durable)
    assert (tmp_path / "out").read_bytes() == data
    assert digest == hashlib.md5(data).digest()


async def test_more_tiny_chunks_in_a_batch_than_writev_takes(tmp_path: Path) -> None:
    data = os.urandom(5000)
    chunks = [data[i : i + 1] for i in range(len(data))] + [b""]
    digest = await write_file(tmp_path / "out", chunks, durable=True)
    assert (tmp_path / "out").read_bytes() == data
    assert digest == hashlib.md5(data).digest()


async def test_a_failed_write_is_raised_and_settle_returns(tmp_path: Path) -> None:
    fd = os.open(tmp_path / "ro", os.O_RDONLY | os.O_CREAT, 0o644)  # writes to it fail with EBADF
    writer = StagingWriter(fd, hashlib.md5(), durable=True)
    try:
        await writer.add(b"x" * 100)
        with pytest.raises(OSError):
            await writer.finish()
    finally:
        writer.settle()
        os.close(fd)
