"""The engine's per-node cost on the database: a task node's two event batches (node RUNNING with its first
attempt's RUNNING; the attempt's SUCCEEDED with the node's), through ``EventManager.record_many`` on a fresh
SQLite database, one node after the other. Prints the wall median per batch and the process CPU per batch
(the figure that least depends on what else runs on the machine). ``--before-src DIR`` runs the same loop on
another revision's sources in a separate process, alternating rounds, for a before/after in one run.

    .venv/bin/python bench/event_batch.py [--nodes 200] [--rounds 3] [--before-src /tmp/before/src]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

T0 = datetime(2026, 1, 1, tzinfo=UTC)


async def _measure(url: str, nodes: int) -> tuple[float, float]:
    from flyteidl.admin import event_pb2 as ae
    from flyteidl.admin import execution_pb2
    from flyteidl.core import execution_pb2 as ce
    from flyteidl.core import identifier_pb2
    from flyteidl.event import event_pb2
    from google.protobuf import timestamp_pb2

    from aerodrome.blobstore.store import LocalStore
    from aerodrome.db import migrate
    from aerodrome.db.engine import Database
    from aerodrome.db.models import ExecutionRow
    from aerodrome.managers.events import EventManager

    node_phase, task_phase = ce.NodeExecution, ce.TaskExecution
    ex = identifier_pb2.WorkflowExecutionIdentifier(project="p", domain="development", name="e")
    task_id = identifier_pb2.Identifier(
        resource_type=identifier_pb2.TASK, project="p", domain="development", name="t", version="v"
    )

    def now() -> timestamp_pb2.Timestamp:
        stamp = timestamp_pb2.Timestamp()
        stamp.GetCurrentTime()
        return stamp

    def node(nid: str, phase: int) -> ae.NodeExecutionEventRequest:
        ident = identifier_pb2.NodeExecutionIdentifier(node_id=nid, execution_id=ex)
        return ae.NodeExecutionEventRequest(
            event=event_pb2.NodeExecutionEvent(id=ident, phase=phase, occurred_at=now(), spec_node_id=nid)
        )

    def task(nid: str, phase: int) -> ae.TaskExecutionEventRequest:
        ident = identifier_pb2.NodeExecutionIdentifier(node_id=nid, execution_id=ex)
        return ae.TaskExecutionEventRequest(
            event=event_pb2.TaskExecutionEvent(
                task_id=task_id, parent_node_execution_id=ident, phase=phase, occurred_at=now()
            )
        )

    db = Database(url)
    await migrate.upgrade(db)
    async with db.transaction(write=True) as uow:
        uow.session.add(
            ExecutionRow(
                execution_project="p",
                execution_domain="development",
                execution_name="e",
                phase="RUNNING",
                closure=execution_pb2.ExecutionClosure().SerializeToString(),
                spec=b"x" * 4000,
                execution_created_at=T0,
                execution_updated_at=T0,
            )
        )
    manager = EventManager(db, LocalStore(Path(tempfile.mkdtemp()), fsync=False))
    walls: list[float] = []
    cpu = time.process_time()
    for i in range(nodes):
        n = f"n{i}"
        for batch in (
            [node(n, node_phase.RUNNING), task(n, task_phase.RUNNING)],
            [task(n, task_phase.SUCCEEDED), node(n, node_phase.SUCCEEDED)],
        ):
            started = time.perf_counter()
            outcomes = await manager.record_many(batch)
            walls.append(time.perf_counter() - started)
            assert outcomes == [None, None], outcomes
    cpu = time.process_time() - cpu
    await db.dispose()
    return statistics.median(walls) * 1000, cpu / len(walls) * 1000


def _round(src: str | None, nodes: int) -> tuple[float, float]:
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = src
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/events.db"
        out = subprocess.run(
            [sys.executable, __file__, "--child", url, str(nodes)], env=env, check=True, capture_output=True, text=True
        ).stdout.split()
    return float(out[0]), float(out[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before-src", default="")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        wall, cpu = asyncio.run(_measure(args.child[0], int(args.child[1])))
        print(wall, cpu)
        return
    modes = [("before", args.before_src), ("this checkout", None)] if args.before_src else [("this checkout", None)]
    results: dict[str, list[tuple[float, float]]] = {label: [] for label, _ in modes}
    for _ in range(args.rounds):
        for label, src in modes:
            results[label].append(_round(src, args.nodes))
    print(f"load average {os.getloadavg()[0]:.1f} (2 cores); {args.nodes} nodes x 2 batches per round")
    for label, rounds in results.items():
        wall = statistics.median(w for w, _ in rounds)
        cpu = statistics.median(c for _, c in rounds)
        print(f"  {label:14} wall median {wall:6.2f} ms per batch   CPU {cpu:5.2f} ms per batch (median of rounds)")


if __name__ == "__main__":
    main()
