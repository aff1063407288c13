"""Where the time of one CreateExecution and of one task node goes: the server runs under cProfile while
this script creates executions of a gate-only workflow (the request path, no task process) and then runs a
1-task workflow one execution at a time (engine loop, events, blob reads and writes, fork, the child);
the profile's own time is grouped by layer, next to the timings the records themselves give (the task
attempt's RUNNING → SUCCEEDED is the child's time; the rest of the execution is the engine's).

Run: ``.venv/bin/python bench/profile_dispatch.py`` (``--creates N --runs N --top N``; ``--keep FILE`` saves
the raw profile for ``python -m pstats`` or snakeviz). The server's main thread is profiled: database calls
on SQLite run in aiosqlite's thread and show as the main thread waiting (event-loop idle), so the
"wall minus profiled busy time" line is where the main thread waited on the database, the child or a sleep.
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import datetime
from pathlib import Path

from flytekit.clients.friendly import SynchronousFlyteClient
from flytekit.configuration import Config, PlatformConfig
from flytekit.models import literals
from flytekit.remote import FlyteRemote

sys.path.insert(0, str(Path(__file__).parent))
from _harness import READY, median
from create_execution import DOMAIN, PROJECT, spec_for

HERE = Path(__file__).parent
TERMINAL = (4, 6, 7, 8)  # SUCCEEDED, FAILED, ABORTED, TIMED_OUT
PYFLYTE = str(Path(sys.executable).with_name("pyflyte"))
LAYERS = [
    ("database", ("sqlalchemy", "aiosqlite", "asyncpg", "sqlite3")),
    ("blob store", ("aerodrome/blobstore", "fsspec")),
    ("grpc transport", ("grpc", "aerodrome/transport")),
    ("protobuf", ("google/protobuf", "flyteidl")),
    ("task launch (fork, pipes)", ("aerodrome/engine/launchers", "subprocess", "multiprocessing")),
    ("engine", ("aerodrome/engine",)),
    ("managers", ("aerodrome/managers", "aerodrome/compiler", "aerodrome/values", "aerodrome/phases")),
    ("event loop", ("asyncio", "selectors", "uvloop")),
]


def layer(filename: str) -> str:
    for name, needles in LAYERS:
        if any(n in filename for n in needles):
            return name
    return "other"


def breakdown(path: Path, top: int) -> None:
    stats = pstats.Stats(str(path))
    totals: dict[str, float] = defaultdict(float)
    raw = stats.stats  # type: ignore[attr-defined]
    for (filename, _line, _fn), (_cc, _nc, tottime, _ct, _callers) in raw.items():
        totals[layer(filename)] += tottime
    busy = sum(totals.values())
    print(f"  profiled busy time of the server's main thread: {busy:.2f} s")
    for name, seconds in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"    {name:<28} {seconds:7.2f} s  {seconds / busy:6.1%}")
    print(f"  top {top} functions by cumulative time:")
    stats.sort_stats("cumulative").print_stats(top)


def timeline(db: Path, name: str) -> None:
    """The recorded events of one execution, in ms after its creation (engine-side timestamps)."""
    with sqlite3.connect(db) as conn:
        created = conn.execute(
            "SELECT execution_created_at FROM executions WHERE execution_name = ?", (name,)
        ).fetchone()[0]
        rows = conn.execute(
            "SELECT kind, node_id, phase, occurred_at FROM events WHERE execution_name = ? ORDER BY id", (name,)
        ).fetchall()
    start = datetime.fromisoformat(str(created))
    print(f"  timeline of execution {name} (ms after CreateExecution stored it):")
    for kind, node, phase, at in rows:
        offset = (datetime.fromisoformat(str(at)) - start).total_seconds() * 1000
        print(f"    {offset:7.1f}  {kind:<8} {node or '-':<12} {phase}")


def profiled_server(home: Path, out: Path) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "AERODROME_HOME": str(home)}
    cmd = [sys.executable, "-m", "cProfile", "-o", str(out), "-m", "aerodrome", "start"]
    cmd += ["--grpc-port", "0", "--http-port", "0", "--log-level", "ERROR"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        match = READY.search(line)
        if match:
            return proc, match.group(1)
    raise RuntimeError("aerodrome did not start")


def register(address: str, tmp: Path) -> str:
    config = tmp / "config.yaml"
    config.write_text(f"admin:\n  endpoint: dns:///{address}\n  insecure: true\n")
    version = f"p{uuid.uuid4().hex[:8]}"
    shutil.copytree(HERE / "workflows", tmp / "app" / "workflows", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [PYFLYTE, "-c", str(config), "register", "--version", version, "workflows"],
        cwd=tmp / "app",
        check=True,
        capture_output=True,
    )
    return version


def run_profile(kind: str, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        out = tmp / f"{kind}.prof"
        proc, address = profiled_server(tmp / "home", out)
        try:
            version = register(address, tmp)
            started = time.perf_counter()
            if kind == "create":
                client = SynchronousFlyteClient(PlatformConfig.for_endpoint(address, insecure=True))
                spec = spec_for(version)
                for _ in range(args.creates):
                    client.create_execution(PROJECT, DOMAIN, None, spec, literals.LiteralMap({}))
                wall = time.perf_counter() - started
                print(f"\n== CreateExecution x {args.creates}: {wall / args.creates * 1000:.1f} ms each (wall)")
            else:
                remote = FlyteRemote(
                    Config.for_endpoint(address, insecure=True), default_project=PROJECT, default_domain=DOMAIN
                )
                workflow = args.workflow
                lp = remote.fetch_launch_plan(name=f"workflows.shapes.{workflow}", version=version)
                walls, child = [], []
                for _ in range(args.runs):
                    begun = time.perf_counter()
                    done = wait_terminal(remote.client, remote.execute(lp, inputs={"x": 0}).id)
                    walls.append(time.perf_counter() - begun)
                    done = remote.sync_execution(remote.fetch_execution(name=done.id.name), sync_nodes=True)
                    for node in done.node_executions.values():
                        for attempt in node.task_executions or []:
                            child.append(attempt.closure.duration.total_seconds())
                wall = time.perf_counter() - started
                if workflow == "one":
                    timeline(tmp / "home" / "aerodrome.db", done.id.name)
                print(
                    f"\n== {workflow} x {args.runs}: median {median(walls) * 1000:.0f} ms CreateExecution → "
                    f"SUCCEEDED (GetExecution every 5 ms); task attempt RUNNING → SUCCEEDED (the child) median "
                    f"{median(child) * 1000:.0f} ms; the rest is engine, database and dispatch"
                )
        finally:
            os.kill(proc.pid, signal.SIGTERM)
            proc.wait(timeout=60)
        print(f"  wall of the measured part: {wall:.2f} s  load {os.getloadavg()[0]:.1f}")
        breakdown(out, args.top)
        if args.keep:
            shutil.copy(out, f"{args.keep}.{kind}")


def traced_server(home: Path, out: Path, src: str) -> tuple[subprocess.Popen[str], str]:
    """The server under ``_traced_server.py``; ``src`` runs another checkout's ``src`` (before/after)."""
    env = {**os.environ, "AERODROME_HOME": str(home)}
    if src:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
    cmd = [sys.executable, str(HERE / "_traced_server.py"), str(out), "start"]
    cmd += ["--grpc-port", "0", "--http-port", "0", "--log-level", "ERROR"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        match = READY.search(line)
        if match:
            return proc, match.group(1)
    raise RuntimeError("aerodrome did not start")


def wait_terminal(client: SynchronousFlyteClient, ident: object, poll: float = 0.005) -> object:
    """GetExecution (no node listing) every ``poll`` seconds, or 2% of the time elapsed once that is longer,
    until the execution is terminal."""
    started = time.perf_counter()
    while True:
        execution = client.get_execution(ident)
        if execution.closure.phase in TERMINAL:
            return execution
        time.sleep(max(poll, (time.perf_counter() - started) / 50))


class Traced:
    """One traced server with the bench workflows registered and warmed up (its first task started the
    warm process); ``spans`` are what it recorded since the warm-up."""

    def __init__(self, label: str, src: str, tmp: Path) -> None:
        self.label, self.tmp, self.out = label, tmp, tmp / "spans.json"
        self.proc, address = traced_server(tmp / "home", self.out, src)
        self.remote = FlyteRemote(
            Config.for_endpoint(address, insecure=True), default_project=PROJECT, default_domain=DOMAIN
        )
        self.lp = self.remote.fetch_launch_plan(name="workflows.shapes.one", version=register(address, tmp))
        self.walls: list[float] = []
        self.last = ""
        self.run()
        self.skip = self.dump()  # what the warm-up recorded is left out
        self.walls.clear()

    def run(self) -> None:
        begun = time.perf_counter()
        execution = self.remote.execute(self.lp, inputs={"x": 0})
        done = wait_terminal(self.remote.client, execution.id)
        self.walls.append(time.perf_counter() - begun)
        assert done.closure.phase == 4, done.closure  # type: ignore[attr-defined]
        self.last = execution.id.name

    def dump(self) -> dict[str, list[float]]:
        self.out.unlink(missing_ok=True)
        os.kill(self.proc.pid, signal.SIGUSR1)
        while not self.out.exists():
            time.sleep(0.05)
        time.sleep(0.3)
        return dict(json.loads(self.out.read_text()))

    def spans(self) -> dict[str, list[float]]:
        return {k: v[len(self.skip.get(k, [])) :] for k, v in self.dump().items()}

    def stop(self) -> None:
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            print(f"  the server did not stop within 60 s; killing PID {self.proc.pid}")
            self.proc.kill()
            self.proc.wait()


def report_spans(traced: Traced, runs: int) -> None:
    spans = traced.spans()
    timeline(traced.tmp / "home" / "aerodrome.db", traced.last)
    print(
        f"== {traced.label}: 1-task workflow x {runs}, CreateExecution → SUCCEEDED median "
        f"{median(traced.walls) * 1000:.0f} ms (GetExecution polled every 5 ms)"
    )
    print(
        f"  {'step (spans nest: a node holds its events)':<36} {'per execution':>13} {'median ms':>10} {'ms/exec':>8}"
    )
    for name, values in sorted(spans.items(), key=lambda kv: -sum(kv[1])):
        if values:
            per = sum(values) / runs * 1000
            print(f"  {name:<36} {len(values) / runs:>13.1f} {median(values) * 1000:>10.1f} {per:>8.1f}")


def run_spans(args: argparse.Namespace) -> None:
    """The 1-task workflow ``--runs`` times, one execution at a time, on a traced server of this checkout and
    (``--before-src``) one of another revision, started side by side and taking turns, so both see the same
    load; per server, how many times each step ran per execution and its median wall time."""
    sources = [("before", args.before_src)] if args.before_src else []
    with tempfile.TemporaryDirectory() as tmp_name:
        servers: list[Traced] = []
        try:
            for i, (label, src) in enumerate([*sources, ("this checkout", "")]):
                (Path(tmp_name) / str(i)).mkdir()
                servers.append(Traced(label, src, Path(tmp_name) / str(i)))
            for _ in range(args.runs):
                for traced in servers:
                    traced.run()
            print(f"\nload average {os.getloadavg()[0]:.1f} (2 cores)")
            for traced in servers:
                report_spans(traced, args.runs)
        finally:
            for traced in servers:
                traced.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--creates", type=int, default=300)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--keep", default="")
    parser.add_argument("--only", choices=["create", "node", "spans"], default=None)
    parser.add_argument("--workflow", default="one", help="node: the workflow of workflows/shapes.py to run")
    parser.add_argument(
        "--before-src", default="", help="spans: also trace a server run from this src directory (an older revision)"
    )
    arguments = parser.parse_args()
    for which in ("create", "node"):
        if arguments.only in (None, which):
            run_profile(which, arguments)
    if arguments.only in (None, "spans"):
        run_spans(arguments)
