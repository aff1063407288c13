"""Scale-out: throughput of short executions with 1, 2 and 3 aerodrome processes on one PostgreSQL.

For each process count a fresh database, that many ``aerodrome start`` processes (shared blob directory
and signing key), the bench workflows registered, then a burst of executions created round-robin through
the processes with raw CreateExecution calls from 8 client threads (cheap for the client, which shares the
CPUs) and timed from the first create until the database shows every one terminal. Two workloads: ``one``
(one task each, warm task processes) and ``gates`` (five sleep gates, no task process: the control
plane's own scaling). CPU per execution is read from /proc: the servers themselves, and the servers with
their task processes.

Run: ``.venv/bin/python bench/scale_out.py --db-url postgresql+asyncpg://postgres@127.0.0.1:5432/postgres``
(``--count N`` executions per burst, ``--processes 1 2 3``). Target: gates throughput ≥ 1.6 times from 1 to 2.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import grpc
from flyteidl.admin import execution_pb2
from flyteidl.core import identifier_pb2, literals_pb2
from flyteidl.service import admin_pb2_grpc
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).parent))
from _harness import aerodrome_server, median

HERE = Path(__file__).parent
PYFLYTE = str(Path(sys.executable).with_name("pyflyte"))
TERMINAL = ("SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT")
CLK = os.sysconf("SC_CLK_TCK")
CLIENTS = 8


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _sql(url: str, statement: str) -> object:
    import asyncpg

    conn = await asyncpg.connect(_dsn(url))
    try:
        return await conn.fetchval(statement)
    finally:
        await conn.close()


@contextmanager
def fresh_database(base: str) -> Iterator[str]:
    name = f"aerodrome_bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(_sql(base, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_sql(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def server(home: Path, url: str, shared: Path) -> Iterator[tuple[str, int]]:
    """One of the processes: its own home, the shared blob directory and signing key."""
    env = {"AERODROME_BLOB_URL": str(shared / "blobs"), "AERODROME_BLOB_SIGNING_KEY": "bench"}
    with aerodrome_server(home, url, env) as started:
        yield started.grpc, started.pid


def _tree_cpu(pid: int) -> tuple[float, float]:
    """(CPU seconds of the process itself, of it and every descendant incl. reaped ones) from /proc."""
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stats[int(entry.name)] = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
    own = lambda f: (int(f[11]) + int(f[12])) / CLK  # noqa: E731 - utime + stime
    reaped = lambda f: (int(f[13]) + int(f[14])) / CLK  # noqa: E731 - cutime + cstime
    tree, frontier = {pid}, {pid}
    while frontier:
        frontier = {p for p, f in stats.items() if int(f[1]) in frontier} - tree
        tree |= frontier
    if pid not in stats:
        return 0.0, 0.0
    return own(stats[pid]), sum(own(stats[p]) + reaped(stats[p]) for p in tree if p in stats)


def _errors(url: str, names: list[str]) -> list[str]:
    """The error messages of the executions that did not succeed (read from their stored closures)."""

    async def read() -> list[str]:
        import asyncpg

        conn = await asyncpg.connect(_dsn(url))
        try:
            query = (
                "SELECT execution_name, closure FROM executions WHERE execution_name = ANY($1) AND phase != 'SUCCEEDED'"
            )
            rows = await conn.fetch(query, names)
        finally:
            await conn.close()
        return [f"{r[0]}: {execution_pb2.ExecutionClosure.FromString(r[1]).error.message}" for r in rows]

    return asyncio.run(read())


def burst(url: str, grpcs: list[str], version: str, workflow: str, count: int) -> float:
    """Create ``count`` executions round-robin; seconds until all are terminal."""
    channels = [grpc.insecure_channel(address) for address in grpcs]
    stubs = [admin_pb2_grpc.AdminServiceStub(c) for c in channels]
    lp = identifier_pb2.Identifier(
        resource_type=identifier_pb2.LAUNCH_PLAN,
        project="flytesnacks",
        domain="development",
        name=workflow,
        version=version,
    )
    inputs = literals_pb2.LiteralMap()
    if workflow.endswith(".one"):
        inputs.literals["x"].scalar.primitive.integer = 0
    names = [f"b{uuid.uuid4().hex[:12]}" for _ in range(count)]
    spec = execution_pb2.ExecutionSpec(launch_plan=lp, metadata=execution_pb2.ExecutionMetadata(mode=0))

    def create(i: int) -> None:
        request = execution_pb2.ExecutionCreateRequest(
            project="flytesnacks", domain="development", name=names[i], spec=spec, inputs=inputs
        )
        stubs[i % len(stubs)].CreateExecution(request, timeout=60)

    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:  # several callers, so creation does not bound the figure
        list(pool.map(create, range(count)))
    in_list = ",".join(f"'{n}'" for n in names)
    done_sql = f"SELECT count(*) FROM executions WHERE execution_name IN ({in_list}) AND phase IN {TERMINAL}"
    ok_sql = f"SELECT count(*) FROM executions WHERE execution_name IN ({in_list}) AND phase = 'SUCCEEDED'"
    while asyncio.run(_sql(url, done_sql)) != count:
        time.sleep(0.1)
    elapsed = time.perf_counter() - started
    succeeded = asyncio.run(_sql(url, ok_sql))
    if succeeded != count:
        raise RuntimeError(f"{workflow}: only {succeeded} of {count} executions succeeded: {_errors(url, names)}")
    for c in channels:
        c.close()
    return elapsed


def measure(base: str, processes: int, count: int, repeat: int) -> dict[str, tuple[float, float, float]]:
    """Per workload: (executions per second, server CPU s per execution, server+task CPU s per execution)."""
    results: dict[str, tuple[float, float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp, fresh_database(base) as url, ExitStack() as stack:
        root = Path(tmp)
        started = [stack.enter_context(server(root / f"p{i}", url, root)) for i in range(processes)]
        grpcs, pids = [g for g, _ in started], [p for _, p in started]
        app = root / "app"
        shutil.copytree(HERE / "workflows", app / "workflows", ignore=shutil.ignore_patterns("__pycache__"))
        config = root / "config.yaml"
        config.write_text(f"admin:\n  endpoint: dns:///{grpcs[0]}\n  insecure: true\n")
        version = f"b{uuid.uuid4().hex[:8]}"
        register = [PYFLYTE, "-c", str(config), "register", "--version", version, "workflows"]
        subprocess.run(register, cwd=app, check=True, capture_output=True)
        for workflow in ("workflows.shapes.one", "workflows.scale.gates"):
            burst(url, grpcs, version, workflow, max(3, count // 10))  # warm up: zygotes, caches, pools
            rates, own_cpu, all_cpu = [], [], []
            for _ in range(repeat):
                before = [_tree_cpu(p) for p in pids]
                seconds = burst(url, grpcs, version, workflow, count)
                after = [_tree_cpu(p) for p in pids]
                rates.append(count / seconds)
                own_cpu.append(sum(a[0] - b[0] for a, b in zip(after, before, strict=True)) / count)
                all_cpu.append(sum(a[1] - b[1] for a, b in zip(after, before, strict=True)) / count)
            results[workflow.rsplit(".", 1)[1]] = (median(rates), median(own_cpu), median(all_cpu))
    return results


def main(base: str, counts: list[int], count: int, repeat: int) -> None:
    table = {n: measure(base, n, count, repeat) for n in counts}
    load = os.getloadavg()
    print(f"{count} executions per burst, median of {repeat}; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"{'workload':>8} {'procs':>5} {'exec/s':>7} {'ratio':>8} {'server CPU ms/exec':>19} {'+ tasks ms/exec':>16}")
    for workload in ("one", "gates"):
        first = table[counts[0]][workload][0]
        for n in counts:
            rate, own, everything = table[n][workload]
            print(
                f"{workload:>8} {n:>5} {rate:>7.2f} {rate / first:>8.2f} {own * 1000:>19.0f} {everything * 1000:>16.0f}"
            )
    print(f"cores: {os.cpu_count()}; target: gates throughput ≥ 1.6 times from 1 to 2 processes")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db-url", default=os.environ.get("AERODROME_TEST_DATABASE_URL", ""))
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--count", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=1)
    arguments = parser.parse_args()
    if not arguments.db_url.startswith("postgresql"):
        parser.error("scale-out needs PostgreSQL: --db-url postgresql+asyncpg://…")
    main(arguments.db_url, arguments.processes, arguments.count, arguments.repeat)
