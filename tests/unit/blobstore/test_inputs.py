"""Inputs stored under their content's key: one object per content, written once, on both kinds of store."""

from __future__ import annotations

import asyncio
from pathlib import Path

from flyteidl.core import literals_pb2

from aerodrome.blobstore.inputs import StoredInputs
from aerodrome.blobstore.store import BlobStore, LocalStore


def _map(value: str) -> literals_pb2.LiteralMap:
    scalar = literals_pb2.Scalar(primitive=literals_pb2.Primitive(string_value=value))
    return literals_pb2.LiteralMap(literals={"name": literals_pb2.Literal(scalar=scalar)})


async def test_the_same_content_is_one_object_and_different_content_another(store: BlobStore) -> None:
    inputs = StoredInputs(store)
    first, again = await inputs.put("p", "d", _map("a")), await inputs.put("p", "d", _map("a"))
    other = await inputs.put("p", "d", _map("b"))
    assert first == again != other
    assert "/p/d/inputs/" in first and first.endswith(".pb")
    assert await store.read_proto(first, literals_pb2.LiteralMap) == _map("a")
    assert await store.read_proto(other, literals_pb2.LiteralMap) == _map("b")
    assert await inputs.put("q", "d", _map("a")) != first  # every project and domain keeps its own objects


async def test_an_empty_map_is_stored_too(store: BlobStore) -> None:
    url = await StoredInputs(store).put("p", "d", literals_pb2.LiteralMap())
    assert await store.read_proto(url, literals_pb2.LiteralMap) == literals_pb2.LiteralMap()


async def test_known_content_is_not_written_again(tmp_path: Path) -> None:
    """Once stored, later puts of the same content write nothing, in this process (it remembers) and in a
    new one (the object is found in place, not replaced)."""
    store = LocalStore(tmp_path / "blobs")
    inputs = StoredInputs(store)
    url = await inputs.put("p", "d", _map("a"))
    path = store.path(url)
    inode = path.stat().st_ino
    assert await StoredInputs(store).put("p", "d", _map("a")) == url
    assert path.stat().st_ino == inode  # found, not written again (a write renames a new file into place)
    path.unlink()
    assert await inputs.put("p", "d", _map("a")) == url  # remembered: no file system access at all
    assert not path.exists()


async def test_concurrent_puts_of_new_content_write_it_once(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "blobs")
    inputs = StoredInputs(store)
    urls = await asyncio.gather(*(inputs.put("p", "d", _map("same")) for _ in range(20)))
    assert len(set(urls)) == 1
    assert list((tmp_path / "blobs" / ".staging").iterdir()) == []
    assert [p.name for p in (tmp_path / "blobs" / "p" / "d" / "inputs").rglob("*.pb")] == [Path(urls[0]).name]


async def test_a_failed_write_is_not_remembered(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "blobs")
    inputs = StoredInputs(store)
    (tmp_path / "blobs" / "p" / "d").mkdir(parents=True)
    (tmp_path / "blobs" / "p" / "d" / "inputs").write_text("a file where the directory goes")
    try:
        await inputs.put("p", "d", _map("a"))
    except OSError:
        pass
    else:
        raise AssertionError("the write should have failed")
    (tmp_path / "blobs" / "p" / "d" / "inputs").unlink()
    url = await inputs.put("p", "d", _map("a"))  # written now, not taken as stored
    assert await store.read_proto(url, literals_pb2.LiteralMap) == _map("a")
