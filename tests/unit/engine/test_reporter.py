"""The engine's Reporter on a real EventManager and SQLite: a node's end held for its successor goes, with
the attempt's end held before it, in the same transaction as the next node's first events; and alone when
the graph loop says no node follows (``flush_next``)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flyteidl.admin import execution_pb2
from flyteidl.core import execution_pb2 as core_exec
from flyteidl.core import identifier_pb2
from sqlalchemy import select

from aerodrome.blobstore.store import LocalStore
from aerodrome.db import migrate
from aerodrome.db.engine import Database
from aerodrome.db.models import EventRow, ExecutionRow
from aerodrome.engine.events import NEXT, Reporter
from aerodrome.managers.events import EventManager, EventRequest

NODE, TASK = core_exec.NodeExecution, core_exec.TaskExecution
T0 = datetime(2026, 1, 1, tzinfo=UTC)
EXECUTION = identifier_pb2.WorkflowExecutionIdentifier(project="p", domain="development", name="e")
TASK_ID = identifier_pb2.Identifier(resource_type=identifier_pb2.TASK, project="p", domain="development", name="t")


class CountingEvents(EventManager):
    """The real manager, noting the phases of each batch it records."""

    batches: list[list[str]]

    async def record_many(self, requests: list[EventRequest], *args: Any, **kwargs: Any) -> list[Exception | None]:
        self.batches.append([f"{type(r.event).__name__[:4]}:{r.event.phase}" for r in requests])
        return await super().record_many(requests, *args, **kwargs)


async def _database(tmp_path: Path) -> tuple[Database, CountingEvents]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'events.db'}")
    await migrate.upgrade(db)
    async with db.transaction(write=True) as uow:
        await uow.add_all(
            [
                ExecutionRow(
                    execution_project="p",
                    execution_domain="development",
                    execution_name="e",
                    phase="RUNNING",
                    closure=execution_pb2.ExecutionClosure().SerializeToString(),
                    spec=b"",
                    execution_created_at=T0,
                    execution_updated_at=T0,
                )
            ]
        )
    events = CountingEvents(db, LocalStore(tmp_path / "blobs", fsync=False))
    events.batches = []
    return db, events


async def _scenario(tmp_path: Path) -> None:
    db, events = await _database(tmp_path)
    report = Reporter(events, EXECUTION)
    await report.node("n0", NODE.RUNNING, hold=True)
    await report.task("n0", TASK_ID, 0, TASK.RUNNING)
    await report.task("n0", TASK_ID, 0, TASK.SUCCEEDED, hold=True)
    await report.node("n0", NODE.SUCCEEDED, hold=NEXT)
    assert len(events.batches) == 1  # n0's ends wait for the next node's first events
    await report.node("n1", NODE.RUNNING, hold=True)
    await report.task("n1", TASK_ID, 0, TASK.RUNNING)
    ends = [f"Task:{TASK.SUCCEEDED}", f"Node:{NODE.SUCCEEDED}"]
    starts = [f"Node:{NODE.RUNNING}", f"Task:{TASK.RUNNING}"]
    assert events.batches[1] == ends + starts
    await report.task("n1", TASK_ID, 0, TASK.SUCCEEDED, hold=True)
    await report.node("n1", NODE.SUCCEEDED, hold=NEXT)
    await report.flush_next()  # no node follows: sent alone
    assert events.batches[2] == ends
    await report.flush_next()  # nothing held: no transaction
    assert len(events.batches) == 3
    async with db.transaction() as uow:
        logged = (await uow.session.execute(select(EventRow))).scalars().all()
    assert len(logged) == 8
    await db.dispose()


def test_a_node_end_goes_with_the_next_node_start(tmp_path: Path) -> None:
    asyncio.run(_scenario(tmp_path))


async def _aborted_scenario(tmp_path: Path) -> None:
    db, events = await _database(tmp_path)
    report = Reporter(events, EXECUTION)
    await report.node("g", NODE.RUNNING)
    await report.workflow(core_exec.WorkflowExecution.SUCCEEDED, hold=True)  # (as if held; dropped at an abort)
    await report.node("g", NODE.SUCCEEDED, hold=NEXT)  # its successor will never start: the execution is aborted
    await report.settle_ends()
    assert events.batches[-1] == [f"Node:{NODE.SUCCEEDED}"]
    await report.settle_ends()  # nothing held any more
    assert len(events.batches) == 2
    async with db.transaction() as uow:
        node = await uow.node_executions.find(EXECUTION, "g")
    assert node is not None and node.phase == "SUCCEEDED"
    await db.dispose()


def test_a_node_end_held_at_an_abort_is_recorded_alone(tmp_path: Path) -> None:
    """The race of test_races.py::test_terminate_racing_completion: a gate completed just before the abort
    must not stay RUNNING in an ABORTED execution."""
    asyncio.run(_aborted_scenario(tmp_path))
