"""DataProxyManager over a real local store: flyteadmin's locations, validation and execution data."""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from flyteidl.core import identifier_pb2, literals_pb2
from flyteidl.service import dataproxy_pb2 as dp
from google.protobuf import duration_pb2
from tests.support.seaweed import Seaweed, seaweed, unique_prefix

from aerodrome.blobstore import layout
from aerodrome.blobstore.s3 import S3Store
from aerodrome.blobstore.signing import UrlSigner
from aerodrome.blobstore.store import LocalStore
from aerodrome.errors import AlreadyExists, InvalidArgument, NotFound
from aerodrome.managers.data import DataProxyManager, ExecutionDataUris
from aerodrome.settings import BlobSettings, Settings

MD5 = hashlib.md5(b"tarball").digest()
NODE = identifier_pb2.NodeExecutionIdentifier(
    node_id="n0",
    execution_id=identifier_pb2.WorkflowExecutionIdentifier(project="p", domain="d", name="abc"),
)


class Recorded:
    """Execution data as the executions work will record it: URLs per node and per attempt."""

    def __init__(self) -> None:
        self.nodes: dict[str, ExecutionDataUris] = {}
        self.attempts: dict[tuple[str, int], ExecutionDataUris] = {}

    async def node_data(self, node: identifier_pb2.NodeExecutionIdentifier) -> ExecutionDataUris:
        if node.node_id not in self.nodes:
            raise NotFound(f"node execution {node.node_id} not found")
        return self.nodes[node.node_id]

    async def task_data(self, node: identifier_pb2.NodeExecutionIdentifier, retry_attempt: int) -> ExecutionDataUris:
        if (node.node_id, retry_attempt) not in self.attempts:
            raise NotFound(f"task execution {node.node_id}/{retry_attempt} not found")
        return self.attempts[(node.node_id, retry_attempt)]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path)


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "blobs", fsync=False)


@pytest.fixture
def manager(store: LocalStore, settings: Settings) -> DataProxyManager:
    return DataProxyManager(store, UrlSigner.from_settings(settings), settings)


def upload(**fields: object) -> dp.CreateUploadLocationRequest:
    base: dict[str, object] = {"project": "p", "domain": "d", "content_md5": MD5, "add_content_md5_metadata": True}
    return dp.CreateUploadLocationRequest(**{**base, **fields})  # type: ignore[arg-type]


async def test_upload_location_like_flyteadmin(manager: DataProxyManager, store: LocalStore) -> None:
    response = await manager.create_upload_location(upload(filename="fastabc.tar.gz"))
    # local:// marks an upload as remote data to flytekit (as s3:// does); the rest is the absolute path.
    assert response.native_url == f"local://{store.root}/p/d/uploads/{layout.md5_root(MD5)}/fastabc.tar.gz"
    assert Path(response.native_url.removeprefix("local://")).name == "fastabc.tar.gz"
    assert response.signed_url.startswith("http://127.0.0.1:8088/blobs/p/d/uploads/")
    assert abs(response.expires_at.seconds - (time.time() + 3600)) < 5
    rooted = await manager.create_upload_location(upload(filename="f.txt", filename_root="myroot"))
    assert rooted.native_url == f"local://{store.root}/p/d/uploads/myroot/f.txt"


async def test_random_filename_when_none_is_given(manager: DataProxyManager) -> None:
    response = await manager.create_upload_location(upload(content_md5=b"", filename_root="writer"))
    name = Path(response.native_url).name
    assert len(name) == 20 and Path(response.native_url).parent.name == "writer"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"project": ""}, "project and domain are required"),
        ({"domain": ""}, "project and domain are required"),
        ({"content_md5": b""}, "content_md5 or filename_root"),
        ({"content_md5": b"short"}, "16 raw bytes"),
        ({"filename": "../../x"}, "escape"),
        ({"filename": "/etc/passwd"}, "absolute"),
        ({"filename": "a/../../../x"}, "escape"),
        ({"filename_root": "../..", "filename": "x"}, "escape"),
        ({"project": "../p"}, "single path segment"),
        ({"expires_in": duration_pb2.Duration(seconds=7200)}, "cannot exceed max allowed expiration"),
        ({"expires_in": duration_pb2.Duration(seconds=-1)}, "must not be negative"),
    ],
)
async def test_invalid_upload_requests(manager: DataProxyManager, fields: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        await manager.create_upload_location(upload(**{"filename": "f", **fields}))


async def test_requested_expiry(manager: DataProxyManager) -> None:
    response = await manager.create_upload_location(upload(filename="f", expires_in=duration_pb2.Duration(seconds=60)))
    assert abs(response.expires_at.seconds - (time.time() + 60)) < 5


async def test_existing_deterministic_location_needs_the_same_md5(manager: DataProxyManager, store: LocalStore) -> None:
    request = upload(filename="f.txt", filename_root="root")
    native = (await manager.create_upload_location(request)).native_url
    await store.write_bytes(native, b"tarball")
    await manager.create_upload_location(request)  # same content: rewriting is allowed
    with pytest.raises(AlreadyExists, match="file already exists"):
        await manager.create_upload_location(upload(filename="f.txt", filename_root="root", content_md5=bytes(16)))
    with pytest.raises(AlreadyExists):
        await manager.create_upload_location(upload(filename="f.txt", filename_root="root", content_md5=b""))


async def test_download_location(manager: DataProxyManager, store: LocalStore) -> None:
    response = await manager.create_download_location(dp.CreateDownloadLocationRequest(native_url=store.url("p/d/x")))
    assert response.signed_url.startswith("http://127.0.0.1:8088/blobs/p/d/x?")
    for outside in ("", "/etc/passwd", store.root + "/../x", "s3://bucket/x"):
        with pytest.raises(InvalidArgument):
            await manager.create_download_location(dp.CreateDownloadLocationRequest(native_url=outside))


async def test_execution_data_without_executions_is_not_found(manager: DataProxyManager) -> None:
    with pytest.raises(NotFound, match="p/d/abc"):
        await manager.create_download_link(
            dp.CreateDownloadLinkRequest(artifact_type=dp.ARTIFACT_TYPE_DECK, node_execution_id=NODE)
        )
    for url in ("flyte://v1/p/d/abc/n0/i", "flyte://v1/p/d/abc/n0/0/o", "flyte://v1/p/d/abc/n0/o/x"):
        with pytest.raises(NotFound, match="p/d/abc"):
            await manager.get_data(dp.GetDataRequest(flyte_url=url))


async def test_invalid_download_link_and_get_data_requests(manager: DataProxyManager) -> None:
    with pytest.raises(InvalidArgument, match="invalid artifact type"):
        await manager.create_download_link(dp.CreateDownloadLinkRequest(node_execution_id=NODE))
    with pytest.raises(InvalidArgument, match="source is required"):
        await manager.create_download_link(dp.CreateDownloadLinkRequest(artifact_type=dp.ARTIFACT_TYPE_DECK))
    for url, message in [
        ("", "correct prefix"),
        ("s3://bucket/x", "correct prefix"),
        ("flyte://v1/p/d/abc", "failed to parse"),
        ("flyte://v1/p/d/abc/n0/x", "failed to parse"),
        ("flyte://v1/p/d/abc/n0/0/d", "deck type cannot be specified with a retry attempt"),
    ]:
        with pytest.raises(InvalidArgument, match=message):
            await manager.get_data(dp.GetDataRequest(flyte_url=url))


def literal_map(**values: int) -> literals_pb2.LiteralMap:
    lm = literals_pb2.LiteralMap()
    for name, value in values.items():
        lm.literals[name].scalar.primitive.integer = value
    return lm


async def test_execution_data_through_the_protocol(
    store: LocalStore, settings: Settings, manager: DataProxyManager
) -> None:
    recorded = Recorded()
    manager.executions = recorded
    prefix = layout.node_key("p", "d", "abc", "n0")
    inputs, outputs, deck = (store.url(f"{prefix}/{name}") for name in ("inputs.pb", "outputs.pb", "deck.html"))
    await store.write_proto(inputs, literal_map(a=1))
    await store.write_proto(outputs, literal_map(o0=2, o1=3))
    recorded.nodes["n0"] = ExecutionDataUris(inputs=inputs, outputs=outputs, deck=deck)
    recorded.attempts[("n0", 0)] = ExecutionDataUris(inputs=inputs, outputs=outputs)

    got = await manager.get_data(dp.GetDataRequest(flyte_url="flyte://v1/p/d/abc/n0/i"))
    assert got.literal_map == literal_map(a=1)
    got = await manager.get_data(dp.GetDataRequest(flyte_url="flyte://v1/p/d/abc/n0/0/o/o1"))
    assert got.literal.scalar.primitive.integer == 3
    with pytest.raises(InvalidArgument, match="name \\[zz\\] not found"):
        await manager.get_data(dp.GetDataRequest(flyte_url="flyte://v1/p/d/abc/n0/o/zz"))
    with pytest.raises(NotFound):
        await manager.get_data(dp.GetDataRequest(flyte_url="flyte://v1/p/d/abc/n9/o"))

    with pytest.raises(NotFound, match="does not exist yet"):
        await manager.get_data(dp.GetDataRequest(flyte_url="flyte://v1/p/d/abc/n0/d"))
    await store.write_bytes(deck, b"<html>deck</html>")
    link = await manager.create_download_link(
        dp.CreateDownloadLinkRequest(artifact_type=dp.ARTIFACT_TYPE_DECK, node_execution_id=NODE)
    )
    assert link.signed_url[0] == link.pre_signed_urls.signed_url[0]
    assert link.signed_url[0].startswith("http://127.0.0.1:8088/blobs/p/d/executions/abc/n0/deck.html?")
    got = await manager.get_data(dp.GetDataRequest(flyte_url="flyte://v1/p/d/abc/n0/d"))
    assert got.pre_signed_urls.signed_url[0].startswith("http://127.0.0.1:8088/blobs/")

    manager.offloader.inline_limit_bytes = 4  # the outputs map is now "large"
    got = await manager.get_data(dp.GetDataRequest(flyte_url="flyte://v1/p/d/abc/n0/o"))
    assert got.WhichOneof("data") == "pre_signed_urls"
    assert "/blobs/p/d/executions/abc/n0/outputs.pb?" in got.pre_signed_urls.signed_url[0]


async def test_org_aware_urls_parse(manager: DataProxyManager) -> None:
    with pytest.raises(NotFound, match="p/d/abc"):
        await manager.get_data(dp.GetDataRequest(flyte_url="flyte://v1/org/o1/p/d/abc/n0/i"))


@pytest.fixture(scope="module")
def weed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seaweed]:
    with seaweed(tmp_path_factory.mktemp("seaweed")) as server:
        yield server


async def test_upload_locations_on_s3_are_presigned_by_the_store(weed: Seaweed, settings: Settings) -> None:
    blob = BlobSettings(**weed.blob_overrides(unique_prefix()))  # type: ignore[arg-type]
    store = S3Store(blob.url, blob)
    manager = DataProxyManager(store, UrlSigner.from_settings(settings), settings)
    try:
        request = upload(filename="fastabc.tar.gz", filename_root="r")
        response = await manager.create_upload_location(request)
        assert response.native_url == f"{blob.url}/p/d/uploads/r/fastabc.tar.gz"
        assert response.signed_url.startswith(weed.endpoint) and "X-Amz-Signature=" in response.signed_url
        assert response.headers["Content-MD5"] == base64.b64encode(MD5).decode()
        async with httpx.AsyncClient() as client:
            put = await client.put(response.signed_url, content=b"tarball", headers=dict(response.headers))
            assert put.status_code == 200, put.text
            await manager.create_upload_location(request)  # same md5 recorded: rewriting is allowed
            with pytest.raises(AlreadyExists):
                await manager.create_upload_location(
                    upload(filename="fastabc.tar.gz", filename_root="r", content_md5=bytes(16))
                )
            link = await manager.create_download_location(
                dp.CreateDownloadLocationRequest(native_url=response.native_url)
            )
            assert (await client.get(link.signed_url)).content == b"tarball"
        with pytest.raises(InvalidArgument):
            await manager.create_download_location(dp.CreateDownloadLocationRequest(native_url="s3://other/x"))
    finally:
        await store.close()
