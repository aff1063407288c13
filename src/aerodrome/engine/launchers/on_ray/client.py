"""The server's side of ``driver.py``: one driver process per Ray cluster, requests matched to replies.

The driver is started on first use and started again if it dies (its requests fail with a system error,
which the engine retries). A request whose caller is cancelled (terminate, timeout) sends ``cancel`` and
waits a few seconds for the driver to report the Ray task or job stopped, so nothing of it is left running
when the attempt is reported ABORTED.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STREAM_LIMIT = 64 << 20
CANCEL_WAIT_SECONDS = 4.5
log = logging.getLogger("aerodrome.engine")


class RayUnavailable(Exception):
    """The cluster cannot be reached, or may not be used as configured."""


class StoreRefused(RayUnavailable):
    """The cluster's nodes cannot reach the blob store (a local directory, nodes elsewhere)."""


@dataclass
class Cluster:
    """What the driver reported when it connected."""

    address: str
    dashboard: str
    nodes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def resources(self) -> list[dict[str, float]]:
        return [node["resources"] for node in self.nodes]


class RayDriver:
    """One running ``driver.py`` and the requests in flight in it."""

    def __init__(self, address: str, log_path: Path, connect_seconds: float) -> None:
        self.address = address
        self.log_path = log_path
        self.connect_seconds = connect_seconds
        self.process: asyncio.subprocess.Process | None = None
        self.cluster: Cluster | None = None
        self._reader: asyncio.Task[None] | None = None
        self._ids = itertools.count()
        self._replies: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._lock = asyncio.Lock()

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None and not (
            self._reader is None or self._reader.done()
        )

    async def connect(self) -> Cluster:
        """Start the driver if it is not running; the cluster it reached."""
        async with self._lock:
            if self.alive and self.cluster is not None:
                return self.cluster
            await self._start()
            assert self.cluster is not None
            return self.cluster

    async def _start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as errors:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "aerodrome.engine.launchers.on_ray.driver",
                self.address,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=errors,
                start_new_session=True,
                limit=STREAM_LIMIT,
            )
        assert process.stdout is not None
        try:
            line = await asyncio.wait_for(process.stdout.readline(), self.connect_seconds)
        except TimeoutError:
            await _end(process)
            raise RayUnavailable(
                f"the Ray cluster at {self.address} did not answer within {self.connect_seconds:g}s "
                f"(see {self.log_path})"
            ) from None
        hello: dict[str, Any] = (
            json.loads(line) if line.strip() else {"error": f"the Ray driver exited (see {self.log_path})"}
        )
        if "error" in hello:
            await _end(process)
            raise RayUnavailable(hello["error"])
        self.process = process
        self.cluster = Cluster(self.address, hello.get("dashboard", ""), hello.get("nodes", []))
        self._reader = asyncio.create_task(self._read(process))

    async def _read(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        while line := await process.stdout.readline():
            message = json.loads(line)
            future = self._replies.pop(message.get("id", -1), None)
            if future is not None and not future.done():
                future.set_result(message)
        failure = {"error": f"the Ray driver of {self.address} exited (see {self.log_path})", "lost": True}
        for future in self._replies.values():
            if not future.done():
                future.set_result(failure)
        self._replies.clear()

    def _send(self, message: dict[str, Any]) -> None:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write((json.dumps(message) + "\n").encode())

    async def call(self, message: dict[str, Any]) -> dict[str, Any]:
        """Send one request and wait for its reply; a cancelled caller cancels the request in Ray."""
        await self.connect()
        ident = next(self._ids)
        reply = self._replies[ident] = asyncio.get_running_loop().create_future()
        try:
            self._send({**message, "id": ident})
            assert self.process is not None and self.process.stdin is not None
            await self.process.stdin.drain()
        except (BrokenPipeError, ConnectionResetError) as exc:
            self._replies.pop(ident, None)
            return {"error": f"the Ray driver of {self.address} is gone: {exc}", "lost": True}
        try:
            return await asyncio.shield(reply)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                self._send({"op": "cancel", "target": ident})
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(reply), CANCEL_WAIT_SECONDS)
            raise

    async def nodes(self) -> list[dict[str, Any]]:
        """The alive nodes now (the cluster may have grown or shrunk since the driver connected)."""
        reply = await self.call({"op": "nodes"})
        nodes: list[dict[str, Any]] = reply.get("result", [])
        if self.cluster is not None and "result" in reply:
            self.cluster.nodes = nodes
        return nodes

    async def close(self) -> None:
        if self.process is not None and self.process.returncode is None:
            assert self.process.stdin is not None
            self.process.stdin.close()  # the driver cancels what it runs and exits
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                await _end(self.process)
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)


async def _end(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    await process.wait()
