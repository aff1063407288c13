"""``aerodrome start`` with wall-clock spans around the steps of dispatching a node (bench only).

Run as ``python bench/_traced_server.py OUT.json start …``: wraps the engine's steps (the claim, the
drive's load, each node, event writes, read and write transactions, blob reads and writes, the launch of an
attempt, the warm fork-and-wait, the reading of an attempt's results) in timers, runs the server, and on
SIGUSR1 writes ``{span: [seconds, …]}`` to OUT.json. Spans nest (a node contains its events), so they are read
per span, not summed. Written to work on older revisions too: a name that does not exist is skipped.
"""

from __future__ import annotations

import functools
import importlib
import json
import runpy
import signal
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

SPANS: dict[str, list[float]] = defaultdict(list)
TARGETS = [
    ("claim", "aerodrome.engine.leases", "LeaseKeeper", "claim"),
    ("drive: load", "aerodrome.engine.runner", "Engine", "_load"),
    ("node (whole)", "aerodrome.engine.graph", "GraphRunner", "run_node"),
    ("events: record_many", "aerodrome.managers.events", "EventManager", "record_many"),
    ("events: workflow", "aerodrome.managers.events", "EventManager", "record_workflow_event"),
    ("events: node", "aerodrome.managers.events", "EventManager", "record_node_event"),
    ("events: task", "aerodrome.managers.events", "EventManager", "record_task_event"),
    ("db: event batch (sync body)", "aerodrome.db.engine", "Database", "write_sync"),  # before write_conn
    ("db: event batch (sync body)", "aerodrome.db.engine", "Database", "write_conn"),
    ("provider read", "aerodrome.engine.graph", "GraphRunner", "provider_runtime"),
    ("blob read", "aerodrome.blobstore.store", "LocalStore", "read_bytes"),
    ("blob write", "aerodrome.blobstore.store", "LocalStore", "write_bytes"),
    ("blob exists", "aerodrome.blobstore.store", "LocalStore", "exists"),
    ("launcher: attempt (whole)", "aerodrome.engine.launchers.local", "LocalLauncher", "run"),
    ("launcher: command+env", "aerodrome.engine.launchers.local", "LocalLauncher", "_direct"),
    ("launcher: warm fork → exit", "aerodrome.engine.launchers.warm", "Zygote", "run"),  # before Forker
    ("launcher: warm fork → exit", "aerodrome.engine.launchers.warm", "Forker", "run"),
    ("launcher: of which from a code zygote", "aerodrome.engine.launchers.code_zygotes", "CodeZygote", "run"),
    ("launcher: fresh process → exit", "aerodrome.engine.launchers.local", "LocalLauncher", "_subprocess"),
    ("launcher: results (log, outputs)", "aerodrome.engine.launchers.local", "LocalLauncher", "_finish"),
]


def _timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await fn(*args, **kwargs)
        finally:
            SPANS[name].append(time.perf_counter() - started)

    return wrapper


def _timed_transactions(cls: Any) -> None:
    original = cls.transaction

    @asynccontextmanager
    async def transaction(self: Any, *, write: bool = False) -> Any:
        started = time.perf_counter()
        try:
            async with original(self, write=write) as uow:
                yield uow
        finally:
            if write:
                SPANS["db: write transaction"].append(time.perf_counter() - started)

    cls.transaction = transaction


def _child_cpu(cls: Any) -> None:
    """The attempt process's own CPU (from its rusage, as the launcher reports it): the child's figure that
    depends least on what else runs on the machine. Recorded as a span (seconds)."""
    original = cls._finish

    @functools.wraps(original)
    async def _finish(self: Any, attempt: Any, timed_out: bool, code: Any, log_path: Any, usage: Any) -> Any:
        SPANS["launcher: child CPU (its rusage)"].append(float(usage.get("cpu_seconds", 0.0)))
        return await original(self, attempt, timed_out, code, log_path, usage)

    cls._finish = _finish


def install() -> None:
    for name, module, cls_name, attr in TARGETS:
        try:
            cls = getattr(importlib.import_module(module), cls_name)
        except (ImportError, AttributeError):
            continue
        if attr in vars(cls):  # its own (an inherited one is timed where it is defined)
            setattr(cls, attr, _timed(name, getattr(cls, attr)))
    from aerodrome.db.engine import Database

    _timed_transactions(Database)  # write transactions only: reads are mostly the client's GetExecution polls
    from aerodrome.engine.launchers.local import LocalLauncher

    _child_cpu(LocalLauncher)


def main() -> None:
    out = sys.argv[1]
    # SIGUSR1 writes the spans (the bench asks before it stops the server, whose stop may take a while).
    signal.signal(signal.SIGUSR1, lambda *_: Path(out).write_text(json.dumps(SPANS)))
    install()
    sys.argv = ["aerodrome", *sys.argv[2:]]
    runpy.run_module("aerodrome", run_name="__main__")


if __name__ == "__main__":
    main()
