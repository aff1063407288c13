"""A 200 MB upload through a signed URL of the local store, next to a plain file copy on the same disk.

Run: ``.venv/bin/python bench/upload.py`` (``--size-mb``, ``--repeat``, ``--dir`` for the disk to use,
``--client`` to pick the sender, ``--grpc HOST:PORT`` to use a running server whose blob store is on the
same disk).

The default client sends the request head and then the file with ``socket.sendfile``, so the client costs
next to no CPU and is not what is measured (on a 2-core machine it shares the CPUs with the server);
``--client http.client`` streams 1 MiB writes, ``--client requests`` sends exactly as flytekit does.

Each round asks a real ``aerodrome start`` for an upload location over gRPC (CreateUploadLocation with the
file's md5, as ``pyflyte register`` does) and PUTs the file to the signed URL; the server streams it to a
temporary file, checks the md5, fsyncs and renames it into place. The baseline copies the same file on the
same disk in the same run, with the same guarantee (written, fsynced, renamed into place), so the ratio does
not depend on the machine. The copy without fsync is printed too. Figures are medians of ``--repeat`` rounds.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.client
import os
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit

import grpc
from flyteidl.service import dataproxy_pb2, dataproxy_pb2_grpc

sys.path.insert(0, str(Path(__file__).parent))
from _harness import aerodrome, median

BLOCK = 1024 * 1024


def make_source(path: Path, size_mb: int) -> bytes:
    """A file of random bytes; returns its md5."""
    digest = hashlib.md5()
    with path.open("wb") as out:
        for _ in range(size_mb):
            block = os.urandom(BLOCK)
            digest.update(block)
            out.write(block)
    return digest.digest()


def put_sendfile(url: str, source: Path, md5: bytes) -> None:
    """The request head, then the file with ``socket.sendfile`` (no copies in the client): the default, so
    that on a small machine the client takes as little CPU as possible from the server being measured."""
    parts = urlsplit(url)
    size = source.stat().st_size
    head = (
        f"PUT {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Length: {size}\r\n"
        f"Content-MD5: {base64.b64encode(md5).decode()}\r\nConnection: close\r\n\r\n"
    )
    with socket.create_connection((parts.hostname, parts.port), timeout=600) as sock, source.open("rb") as body:
        sock.sendall(head.encode())
        sock.sendfile(body)
        response = http.client.HTTPResponse(sock)
        response.begin()
        text = response.read()
    if response.status != 200:
        raise RuntimeError(f"upload failed: {response.status} {text!r}")


def put_http_client(url: str, source: Path, md5: bytes) -> None:
    """Stream the file with 1 MiB writes (so the client is not what is measured)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.netloc, blocksize=BLOCK, timeout=600)
    headers = {"Content-Length": str(source.stat().st_size), "Content-MD5": base64.b64encode(md5).decode()}
    with source.open("rb") as body:
        conn.request("PUT", f"{parts.path}?{parts.query}", body=body, headers=headers)
    response = conn.getresponse()
    text = response.read()
    conn.close()
    if response.status != 200:
        raise RuntimeError(f"upload failed: {response.status} {text!r}")


def put_requests(url: str, source: Path, md5: bytes) -> None:
    """Exactly what ``FlyteRemote.upload_file`` does."""
    import requests

    headers = {"Content-Length": str(source.stat().st_size), "Content-MD5": base64.b64encode(md5).decode()}
    with source.open("rb") as body:
        response = requests.put(url, data=body, headers=headers, timeout=600)
    if response.status_code != 200:
        raise RuntimeError(f"upload failed: {response.status_code} {response.text}")


def copy_durably(source: Path, target: Path) -> None:
    """The baseline: copy to a temporary name, fsync, rename into place."""
    temp = target.with_name(target.name + ".part")
    shutil.copyfile(source, temp)
    fd = os.open(temp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temp, target)


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5, help="rounds (at least 3); figures are their medians")
    parser.add_argument("--dir", type=Path, default=None, help="where the source, copies and blob store live")
    parser.add_argument("--client", choices=sorted(CLIENTS), default="sendfile")
    parser.add_argument("--grpc", default="", help="use this running server instead of starting one")
    args = parser.parse_args()
    if args.repeat < 3:
        parser.error("--repeat must be at least 3: the figures are medians")
    put = CLIENTS[args.client]
    load_before = os.getloadavg()

    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(dir=args.dir, prefix="aerodrome-upload-")))
        source = work / "source.bin"
        md5 = make_source(source, args.size_mb)
        address = args.grpc or stack.enter_context(aerodrome(work / "home"))
        stub = dataproxy_pb2_grpc.DataProxyServiceStub(stack.enter_context(grpc.insecure_channel(address)))

        uploads: list[float] = []
        copies: list[float] = []
        plain: list[float] = []
        for round_ in range(args.repeat):
            request = dataproxy_pb2.CreateUploadLocationRequest(
                project="flytesnacks", domain="development", filename=f"bench-{round_}-{time.time_ns()}.bin",
                content_md5=md5, add_content_md5_metadata=True,
            )  # fmt: skip

            def upload(request: dataproxy_pb2.CreateUploadLocationRequest = request) -> str:
                location = stub.CreateUploadLocation(request)
                put(location.signed_url, source, md5)
                return str(location.native_url)

            started = time.perf_counter()
            native = upload()
            uploads.append(time.perf_counter() - started)
            stored = Path(native.removeprefix("local://"))  # the embedded store answers local://<path>
            if stored.exists():  # a local store on this machine: check and free the space
                with stored.open("rb") as handle:
                    if hashlib.file_digest(handle, "md5").digest() != md5:
                        raise RuntimeError("the uploaded object differs from the source")
                stored.unlink()
            target = work / f"copy-{round_}.bin"
            copies.append(timed(lambda target=target: copy_durably(source, target)))
            target.unlink()
            plain.append(timed(lambda target=target: shutil.copyfile(source, target)))
            target.unlink()
            print(
                f"  round {round_ + 1}: upload {uploads[-1]:.3f} s, copy+fsync {copies[-1]:.3f} s, "
                f"ratio {copies[-1] / uploads[-1]:.2f}",
                flush=True,
            )

    size = args.size_mb
    up, cp, pl = median(uploads), median(copies), median(plain)
    print(f"upload of {size} MB through a signed URL ({args.client}), median of {args.repeat}:")
    print(f"  signed-URL upload     {up:7.3f} s  {size / up:7.0f} MB/s")
    print(f"  copy + fsync (base)   {cp:7.3f} s  {size / cp:7.0f} MB/s")
    print(f"  copy, no fsync        {pl:7.3f} s  {size / pl:7.0f} MB/s")
    print(f"  ratio (upload throughput / copy+fsync throughput) = {cp / up:.2f}  (target >= 0.5)")
    print(f"  ratio against the copy without fsync            = {pl / up:.2f}")
    load = ", ".join(f"{a:.2f}/{b:.2f}" for a, b in zip(load_before, os.getloadavg(), strict=True))
    print(f"  load average (1/5/15 min) before/after: {load} on {os.cpu_count()} CPUs")


CLIENTS: dict[str, Callable[[str, Path, bytes], None]] = {
    "sendfile": put_sendfile,
    "http.client": put_http_client,
    "requests": put_requests,
}


if __name__ == "__main__":
    main()
