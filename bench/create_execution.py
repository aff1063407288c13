"""CreateExecution throughput: flytekit's ``SynchronousFlyteClient`` creating executions of a workflow that
only waits on a sleep gate (no task process), with 1, 8 and 16 client threads for 10 s each, against an
in-memory flyteidl AdminService (the floor, ``_floor.py``) measured in the same run, on SQLite and (when
``AERODROME_TEST_DATABASE_URL`` is set) PostgreSQL, with 1,000 executions already waiting on gates.

Run: ``.venv/bin/python bench/create_execution.py`` (``--seconds``, ``--waiting``, ``--clients 1 8 16``;
``--before-src DIR`` runs a server of another revision's sources beside it, the two taking turns).
Targets: ≥ 0.3 of the floor with 1 client and ≥ 500/s with 8 clients on SQLite, 0 errors at 16 clients.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from flytekit.clients.friendly import SynchronousFlyteClient
from flytekit.configuration import PlatformConfig
from flytekit.models import execution as execution_models
from flytekit.models import literals
from flytekit.models.core import identifier as id_models

sys.path.insert(0, str(Path(__file__).parent))
from _harness import aerodrome_process, cpu_seconds, percentile

HERE = Path(__file__).parent
PYFLYTE = str(Path(sys.executable).with_name("pyflyte"))
PROJECT, DOMAIN = "flytesnacks", "development"


@contextmanager
def floor_server() -> Iterator[str]:
    proc = subprocess.Popen([sys.executable, str(HERE / "_floor.py")], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    try:
        port = proc.stdout.readline().split()[1]
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def spec_for(version: str) -> execution_models.ExecutionSpec:
    lp = id_models.Identifier(id_models.ResourceType.LAUNCH_PLAN, PROJECT, DOMAIN, "workflows.gates.waits", version)
    return execution_models.ExecutionSpec(
        launch_plan=lp, metadata=execution_models.ExecutionMetadata(mode=0, principal="bench", nesting=0)
    )


def hammer(address: str, spec: execution_models.ExecutionSpec, clients: int, seconds: float) -> dict[str, float]:
    """``clients`` threads, each with its own client, creating executions for ``seconds``."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def work() -> None:
        client = SynchronousFlyteClient(PlatformConfig.for_endpoint(address, insecure=True))
        mine: list[float] = []
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            try:
                client.create_execution(PROJECT, DOMAIN, None, spec, literals.LiteralMap({}))
            except Exception as exc:  # counted, not raised: the figure is how many fail
                with lock:
                    errors.append(str(exc)[:200])
                continue
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=work) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    if errors:
        print(f"    {len(errors)} errors, first: {errors[0]}", file=sys.stderr)
    return {
        "rate": len(latencies) / wall,
        "p50": percentile(latencies, 0.5) * 1000 if latencies else float("nan"),
        "p99": percentile(latencies, 0.99) * 1000 if latencies else float("nan"),
        "errors": len(errors),
        "count": len(latencies),
    }


def register(address: str, tmp: Path) -> str:
    config = tmp / "config.yaml"
    config.write_text(f"admin:\n  endpoint: dns:///{address}\n  insecure: true\n")
    version = f"b{uuid.uuid4().hex[:8]}"
    app = tmp / "app" / "workflows"
    app.mkdir(parents=True)
    for name in ("__init__.py", "gates.py"):
        (app / name).write_text((HERE / "workflows" / name).read_text())
    subprocess.run(
        [PYFLYTE, "-c", str(config), "register", "--version", version, "workflows"],
        cwd=app.parent,
        check=True,
        capture_output=True,
    )
    return version


def fresh_postgres() -> tuple[str, str] | None:
    base = os.environ.get("AERODROME_TEST_DATABASE_URL", "")
    if not base:
        return None
    sys.path.insert(0, str(HERE.parent))
    from tests.support.postgres import _execute

    name = f"aerodrome_bench_{uuid.uuid4().hex[:8]}"
    asyncio.run(_execute(base, f'CREATE DATABASE "{name}"'))
    return base, name


def drop_postgres(base: str, name: str) -> None:
    from tests.support.postgres import _execute

    asyncio.run(_execute(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def backend(label: str, db_urls: dict[str, str], args: argparse.Namespace, floor: dict[int, dict[str, float]]) -> None:
    """One server per revision (``db_urls``: revision -> database), each with its own waiting executions; for
    each client count the revisions take turns, so a change in the machine's load hits them alike."""
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        specs = {}
        for rev, db_url in db_urls.items():
            env = {"AERODROME_LEASES_MAX_EXECUTIONS": str(args.max_executions or args.waiting + 500)}
            if rev == "before":
                env["PYTHONPATH"] = args.before_src
            home = Path(tmp) / rev
            address, pid = stack.enter_context(aerodrome_process(home / "home", db_url, env))
            spec = spec_for(register(address, home))
            fill = hammer_count(address, spec, args.waiting)
            print(f"  {label} {rev}: {args.waiting} waiting executions created in {fill:.1f} s")
            specs[rev] = (address, spec, pid)
        time.sleep(2)  # let the engines claim them and start waiting
        for clients in args.clients:
            for rev, (address, spec, pid) in specs.items():
                load, cpu = os.getloadavg()[0], cpu_seconds(pid)
                got = hammer(address, spec, clients, args.seconds)
                # Server CPU per creation, the engine's start of each included: the figure that least depends
                # on what else runs on the machine (what is still starting at the end falls into the next window).
                cpu_ms = (cpu_seconds(pid) - cpu) / max(1, got["count"]) * 1000
                ratio = got["rate"] / floor[clients]["rate"]
                name = f"{label} {rev}" if len(specs) > 1 else label
                print(
                    f"  {name:>16} {clients:>3} clients: {got['rate']:7.0f}/s  p50 {got['p50']:6.1f} ms  "
                    f"p99 {got['p99']:6.1f} ms  errors {got['errors']:.0f}  ÷ floor {ratio:.2f}  "
                    f"server CPU {cpu_ms:5.1f} ms/creation  load {load:.1f}"
                )


def hammer_count(address: str, spec: execution_models.ExecutionSpec, count: int) -> float:
    """Create ``count`` executions with 8 clients; returns the seconds it took."""
    remaining = [count]
    lock = threading.Lock()

    def work() -> None:
        client = SynchronousFlyteClient(PlatformConfig.for_endpoint(address, insecure=True))
        while True:
            with lock:
                if remaining[0] <= 0:
                    return
                remaining[0] -= 1
            client.create_execution(PROJECT, DOMAIN, None, spec, literals.LiteralMap({}))

    started = time.perf_counter()
    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started


def main(args: argparse.Namespace) -> None:
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    floor: dict[int, dict[str, float]] = {}
    with floor_server() as address:
        spec = spec_for("v1")
        for clients in args.clients:
            floor[clients] = got = hammer(address, spec, clients, args.seconds)
            print(
                f"  {'floor':>10} {clients:>3} clients: {got['rate']:7.0f}/s  p50 {got['p50']:6.1f} ms  "
                f"p99 {got['p99']:6.1f} ms  errors {got['errors']:.0f}  load {os.getloadavg()[0]:.1f}"
            )
    revs = ["before", "after"] if args.before_src else ["after"]
    if "sqlite" in args.backends:
        backend("sqlite", dict.fromkeys(revs, ""), args, floor)
    pgs = {rev: fresh_postgres() for rev in revs} if "postgres" in args.backends else {}
    if pgs and all(pgs.values()):
        from sqlalchemy.engine import make_url

        urls = {}
        for rev, pg in pgs.items():
            assert pg is not None
            urls[rev] = make_url(pg[0]).set(database=pg[1]).render_as_string(hide_password=False)
        try:
            backend("postgres", urls, args, floor)
        finally:
            for pg in pgs.values():
                assert pg is not None
                drop_postgres(*pg)
    print("targets: ≥ 0.3 of the floor with 1 client, ≥ 500/s with 8 clients (SQLite), 0 errors at 16 clients")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--waiting", type=int, default=1000)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 16])
    parser.add_argument("--max-executions", type=int, default=0, help="engine capacity (default: all)")
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--before-src", default="", help="also run a server from this src directory, taking turns")
    main(parser.parse_args())
