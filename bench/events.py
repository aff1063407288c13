"""The event stream's cost: executions per second with CloudEvents published to NATS JetStream and without,
in the same run, and the delivery lag (event time → a JetStream consumer receives it) at a paced rate.

Run: ``.venv/bin/python bench/events.py [--executions N] [--concurrency C] [--rate R] [--seconds S]``.
Each round starts a fresh server; the 1-task workflow ``one`` of bench/workflows runs as real task processes.
Targets: the stream costs ≤ 15% of throughput; delivery lag p99 < 500 ms at 50 executions/s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

import grpc
import nats
import nats.js.errors
from flyteidl.admin import execution_pb2
from flyteidl.core import execution_pb2 as core_exec
from flyteidl.core import identifier_pb2, literals_pb2
from flyteidl.service import admin_pb2_grpc
from nats.js.api import DeliverPolicy

sys.path.insert(0, str(Path(__file__).parent))
from _harness import aerodrome, free_port, median, percentile

HERE = Path(__file__).parent
PYFLYTE = str(Path(sys.executable).with_name("pyflyte"))
TERMINAL = {core_exec.WorkflowExecution.SUCCEEDED, core_exec.WorkflowExecution.FAILED}


def start_nats(store: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    binary = str(Path(sys.executable).with_name("nats-server"))
    proc = subprocess.Popen(
        [binary, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(store)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    return proc, f"nats://127.0.0.1:{port}"


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far (Linux /proc): robust to the load other processes put on the
    machine, unlike wall-clock throughput."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_pid() -> int:
    """The ``aerodrome start`` child of this process (one runs at a time here)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and b"aerodrome\x00start" in cmdline:
            return int(stat.parent.name)
    raise RuntimeError("aerodrome server process not found")


def register(grpc_address: str, tmp: Path) -> str:
    app = tmp / f"app-{uuid.uuid4().hex[:6]}"
    shutil.copytree(HERE / "workflows", app / "workflows", ignore=shutil.ignore_patterns("__pycache__"))
    config = tmp / "config.yaml"
    config.write_text(f"admin:\n  endpoint: dns:///{grpc_address}\n  insecure: true\n")
    version = f"b{uuid.uuid4().hex[:8]}"
    command = [PYFLYTE, "-c", str(config), "register", "--version", version, "workflows"]
    subprocess.run(command, cwd=app, check=True, capture_output=True)
    return version


def _request(version: str) -> execution_pb2.ExecutionCreateRequest:
    lp = identifier_pb2.Identifier(
        resource_type=identifier_pb2.LAUNCH_PLAN,
        project="flytesnacks",
        domain="development",
        name="workflows.shapes.one",
        version=version,
    )
    spec = execution_pb2.ExecutionSpec(launch_plan=lp, metadata=execution_pb2.ExecutionMetadata(principal="bench"))
    return execution_pb2.ExecutionCreateRequest(
        project="flytesnacks",
        domain="development",
        name=f"e{uuid.uuid4().hex[:16]}",
        spec=spec,
        inputs=literals_pb2.LiteralMap(),
    )


async def one_execution(stub: admin_pb2_grpc.AdminServiceStub, version: str) -> None:
    request = _request(version)
    await stub.CreateExecution(request)
    ident = identifier_pb2.WorkflowExecutionIdentifier(project="flytesnacks", domain="development", name=request.name)
    while True:
        got = await stub.GetExecution(execution_pb2.WorkflowExecutionGetRequest(id=ident))
        if got.closure.phase in TERMINAL:
            return
        await asyncio.sleep(0.2)  # as FlyteRemote.wait polls


async def throughput(address: str, version: str, executions: int, concurrency: int) -> float:
    """Closed loop: ``concurrency`` clients each create an execution and wait for it; executions per second."""
    async with grpc.aio.insecure_channel(address) as channel:
        stub = admin_pb2_grpc.AdminServiceStub(channel)
        remaining = list(range(executions))

        async def worker() -> None:
            while remaining:
                remaining.pop()
                await one_execution(stub, version)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return executions / (time.perf_counter() - started)


async def paced_lag(
    address: str, version: str, nats_url: str, rate: float, seconds: float
) -> tuple[list[float], float]:
    """Open loop at ``rate`` executions/s for ``seconds``; lag of every event seen by a JetStream consumer."""
    client = await nats.connect(nats_url)
    lags: list[float] = []
    workflows_done = 0
    target = int(rate * seconds)
    all_done = asyncio.Event()

    async def on_message(msg: nats.aio.msg.Msg) -> None:
        nonlocal workflows_done
        event = json.loads(msg.data)
        lags.append(time.time() - datetime.fromisoformat(event["time"].replace("Z", "+00:00")).timestamp())
        if event["type"].endswith("WorkflowExecution") and event["executionphase"] in ("SUCCEEDED", "FAILED"):
            workflows_done += 1
            if workflows_done >= target:
                all_done.set()

    js = client.jetstream()
    with contextlib.suppress(nats.js.errors.BadRequestError):  # the server creates it on first publish; we need it now
        await js.add_stream(name="AERODROME_EVENTS", subjects=["aerodrome.events.>"])
    sub = await js.subscribe(  # only new events: earlier rounds' are in the stream too
        "aerodrome.events.>",
        stream="AERODROME_EVENTS",
        cb=on_message,
        ordered_consumer=True,
        deliver_policy=DeliverPolicy.NEW,
    )
    async with grpc.aio.insecure_channel(address) as channel:
        stub = admin_pb2_grpc.AdminServiceStub(channel)
        started = time.perf_counter()
        tasks = []
        for index in range(target):
            delay = started + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.ensure_future(stub.CreateExecution(_request(version))))
        await asyncio.gather(*tasks)
        await asyncio.wait_for(all_done.wait(), timeout=300)
        achieved = target / (time.perf_counter() - started)
    await sub.unsubscribe()
    await client.close()
    return lags, achieved


async def outbox_lags(home: Path) -> list[float]:
    """Commit → marked delivered, per outbox row (kept for the retention period): the outbox's own share of
    the lag, without the time an overloaded engine takes between an event's ``occurred_at`` and its commit."""
    from sqlalchemy import select

    from aerodrome.db.engine import Database
    from aerodrome.db.models import OutboxRow

    db = Database(f"sqlite+aiosqlite:///{home / 'aerodrome.db'}")
    try:
        async with db.transaction() as uow:
            query = select(OutboxRow.created_at, OutboxRow.delivered_at).where(OutboxRow.status == "delivered")
            return [(done - made).total_seconds() for made, done in (await uow.session.execute(query)).all()]
    finally:
        await db.dispose()


def main(executions: int, concurrency: int, rates: list[float], seconds: float, repeat: int) -> None:
    results: dict[str, list[float]] = {"off": [], "on": []}
    cpu: dict[str, list[float]] = {"off": [], "on": [], "nats": []}
    lag_report = ""
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        nats_proc, nats_url = start_nats(tmp / "nats")
        try:
            for round_ in range(repeat):
                for mode in ("off", "on"):
                    env = {"AERODROME_EVENTS_NATS_URL": nats_url} if mode == "on" else {}
                    with aerodrome(tmp / f"home-{mode}-{round_}", env=env) as address:
                        version = register(address, tmp)
                        asyncio.run(throughput(address, version, max(4, executions // 10), concurrency))  # warm-up
                        pid = server_pid()
                        before, nats_before = cpu_seconds(pid), cpu_seconds(nats_proc.pid)
                        results[mode].append(asyncio.run(throughput(address, version, executions, concurrency)))
                        cpu[mode].append((cpu_seconds(pid) - before) / executions)
                        if mode == "on":
                            cpu["nats"].append((cpu_seconds(nats_proc.pid) - nats_before) / executions)
                        print(
                            f"round {round_ + 1} stream {mode:>3}: {results[mode][-1]:6.1f} executions/s, "
                            f"server CPU {cpu[mode][-1] * 1000:.1f} ms per execution",
                            flush=True,
                        )
            for index, paced in enumerate(rates):
                home = tmp / f"home-lag-{index}"
                with aerodrome(home, env={"AERODROME_EVENTS_NATS_URL": nats_url}) as address:
                    version = register(address, tmp)
                    lags, achieved = asyncio.run(paced_lag(address, version, nats_url, paced, seconds))
                own = asyncio.run(outbox_lags(home))
                lag_report += (
                    f"delivery lag at {paced:.0f}/s offered ({achieved:.1f}/s completed), {len(lags)} events: "
                    f"p50 {percentile(lags, 0.5) * 1000:.0f} ms, p99 {percentile(lags, 0.99) * 1000:.0f} ms "
                    f"(target p99 < 500 ms at 50/s); commit → delivery recorded (bounds the outbox share): "
                    f"p50 {percentile(own, 0.5) * 1000:.0f} ms, p99 {percentile(own, 0.99) * 1000:.0f} ms\n"
                )
        finally:
            os.kill(nats_proc.pid, signal.SIGTERM)
            nats_proc.wait(timeout=10)
    off, on = median(results["off"]), median(results["on"])
    print(f"executions/s, median of {repeat}: stream off {off:.1f}, stream on (NATS) {on:.1f}, ratio {on / off:.2f}")
    print(f"stream cost: {(1 - on / off) * 100:.1f}% of throughput (target ≤ 15%)")
    cpu_off, cpu_on, cpu_nats = (median(cpu[k]) * 1000 for k in ("off", "on", "nats"))
    print(
        f"control-plane CPU per execution (server process, tasks excluded): off {cpu_off:.1f} ms, on {cpu_on:.1f} ms "
        f"(+{(cpu_on / cpu_off - 1) * 100:.0f}%), plus nats-server {cpu_nats:.1f} ms"
    )
    print(lag_report, end="")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rate", type=float, action="append", help="Paced rate(s) of the lag run (default 50 and 5).")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--repeat", type=int, default=3)
    arguments = parser.parse_args()
    main(
        arguments.executions, arguments.concurrency, arguments.rate or [50.0, 5.0], arguments.seconds, arguments.repeat
    )
