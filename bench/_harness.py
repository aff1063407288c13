"""Shared benchmark plumbing: start servers as subprocesses, drive them with concurrent gRPC clients."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

READY = re.compile(r"aerodrome ready: gRPC (\S+)\s+HTTP (\S+)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Started:
    """A running ``aerodrome start`` subprocess: its addresses and PID (to read its CPU time)."""

    grpc: str
    http: str
    pid: int


@contextmanager
def aerodrome_server(home: Path, db_url: str = "", env_extra: dict[str, str] | None = None) -> Iterator[Started]:
    """A real ``aerodrome start`` subprocess on free ports; stopped by PID afterwards."""
    env = {**os.environ, "AERODROME_HOME": str(home), **(env_extra or {})}
    cmd = [sys.executable, "-m", "aerodrome", "start", "--grpc-port", "0", "--http-port", "0", "--log-level", "ERROR"]
    if db_url:
        cmd += ["--db-url", db_url]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            match = READY.search(line)
            if match:
                yield Started(match.group(1), match.group(2), proc.pid)
                break
        else:
            raise RuntimeError("aerodrome did not start")
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:  # a bench run must not end with a server left behind
            print(f"aerodrome (pid {proc.pid}) did not stop within 60 s of SIGTERM: killed", file=sys.stderr)
            proc.kill()
            proc.wait()


@contextmanager
def aerodrome(home: Path, db_url: str = "", env: dict[str, str] | None = None) -> Iterator[str]:
    """A real ``aerodrome start`` subprocess; yields its gRPC address."""
    with aerodrome_server(home, db_url, env) as started:
        yield started.grpc


@contextmanager
def aerodrome_process(
    home: Path, db_url: str = "", env_extra: dict[str, str] | None = None
) -> Iterator[tuple[str, int]]:
    """Like ``aerodrome`` but also yields the server's PID (to read its CPU time)."""
    with aerodrome_server(home, db_url, env_extra) as started:
        yield started.grpc, started.pid


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process (all its threads) has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def echo_server() -> Iterator[str]:
    """The baseline: a bare grpc.aio server in its own process that answers every call with an empty message."""
    port = free_port()
    code = (
        "import asyncio, grpc\n"
        "from grpc import aio\n"
        "async def call(request, context):\n"
        "    return b''\n"
        "async def main():\n"
        "    server = aio.server()\n"
        "    handler = grpc.method_handlers_generic_handler('bench.Echo', {'Call': grpc.unary_unary_rpc_method_handler("
        "call, request_deserializer=None, response_serializer=None)})\n"
        "    server.add_generic_rpc_handlers((handler,))\n"
        f"    server.add_insecure_port('127.0.0.1:{port}')\n"
        "    await server.start()\n"
        "    print('ready', flush=True)\n"
        "    await server.wait_for_termination()\n"
        "asyncio.run(main())\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    proc.stdout.readline()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def run_concurrently(
    calls: Sequence[Callable[[], Awaitable[Any]]], concurrency: int
) -> tuple[float, list[float]]:
    """Run the calls with ``concurrency`` workers; returns (wall seconds, per-call latencies)."""
    queue = list(reversed(calls))
    latencies: list[float] = []

    async def worker() -> None:
        while queue:
            call = queue.pop()
            started = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started, latencies


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)
