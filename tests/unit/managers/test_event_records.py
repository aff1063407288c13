"""The event path's records on Core statements (``EventRecords``), on SQLite and PostgreSQL: what the ORM reads
back is what the events applied (row timestamps bumped on change as the models' ``onupdate`` did), a node's
first attempt in the node's own batch costs no lookup, and a batch whose writes fail when it ends is written
event by event."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flyteidl.admin import event_pb2 as admin_event
from flyteidl.admin import execution_pb2, node_execution_pb2, task_execution_pb2
from flyteidl.core import execution_pb2 as core_exec
from flyteidl.core import identifier_pb2
from flyteidl.event import event_pb2
from google.protobuf import timestamp_pb2
from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from tests.support.postgres import fresh_database

from aerodrome.blobstore.store import LocalStore
from aerodrome.db import migrate
from aerodrome.db.engine import Database
from aerodrome.db.models import EventRow, ExecutionRow
from aerodrome.db.repositories.event_records import EventRecords
from aerodrome.managers.event_writer import EventWriter
from aerodrome.managers.events import EventManager

NODE, TASK, WF = core_exec.NodeExecution, core_exec.TaskExecution, core_exec.WorkflowExecution
EXEC = identifier_pb2.WorkflowExecutionIdentifier(project="p", domain="development", name="e")
TASK_ID = identifier_pb2.Identifier(resource_type=identifier_pb2.TASK, project="p", domain="development", name="t")
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def ts(seconds: float) -> timestamp_pb2.Timestamp:
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(T0 + timedelta(seconds=seconds))
    return out


def node(phase: int, at: float) -> admin_event.NodeExecutionEventRequest:
    ident = identifier_pb2.NodeExecutionIdentifier(node_id="n0", execution_id=EXEC)
    return admin_event.NodeExecutionEventRequest(
        event=event_pb2.NodeExecutionEvent(id=ident, phase=phase, occurred_at=ts(at), spec_node_id="n0")
    )


def task(phase: int, at: float, attempt: int = 0) -> admin_event.TaskExecutionEventRequest:
    ident = identifier_pb2.NodeExecutionIdentifier(node_id="n0", execution_id=EXEC)
    event = event_pb2.TaskExecutionEvent(
        task_id=TASK_ID, parent_node_execution_id=ident, phase=phase, occurred_at=ts(at), retry_attempt=attempt
    )
    return admin_event.TaskExecutionEventRequest(event=event)


async def _setup(url: str) -> Database:
    db = Database(url)
    await migrate.upgrade(db)
    row = ExecutionRow(
        execution_project=EXEC.project,
        execution_domain=EXEC.domain,
        execution_name=EXEC.name,
        phase="UNDEFINED",
        closure=execution_pb2.ExecutionClosure().SerializeToString(),
        spec=execution_pb2.ExecutionSpec().SerializeToString(),
        execution_created_at=T0,
        execution_updated_at=T0,
    )
    async with db.transaction(write=True) as uow:
        await uow.add_all([row])
    return db


def _statements(db: Database) -> list[str]:
    engine = db._sync_writer.engine if db._sync_writer is not None else db._write_engine.sync_engine
    seen: list[str] = []
    sa_event.listen(engine, "before_cursor_execute", lambda _c, _k, sql, *_: seen.append(" ".join(sql.split())))
    return seen


async def _recorded(url: str, tmp_path: Path) -> None:
    db = await _setup(url)
    manager = EventManager(db, LocalStore(tmp_path / "blobs", fsync=False))
    assert await manager.record_many([node(NODE.RUNNING, 1)]) == [None]
    seen = _statements(db)
    assert await manager.record_many([task(TASK.RUNNING, 1), task(TASK.FAILED, 2)]) == [None, None]
    # An attempt of a node recorded earlier is looked up; once recorded it is not selected again.
    assert sum(s.startswith("SELECT") and "FROM task_executions" in s for s in seen) == 1
    seen.clear()
    outcomes = await manager.record_many([node(NODE.SUCCEEDED, 3)])
    assert outcomes == [None]
    async with db.transaction() as uow:
        row = await uow.node_executions.find(EXEC, "n0")
        assert row is not None
        first = await uow.task_executions.attempt(row.id, 0)
    assert row.phase == "SUCCEEDED" and row.started_at == T0 + timedelta(seconds=1)
    assert row.duration == 2 * 10**9 and row.updated_at > row.created_at
    closure = node_execution_pb2.NodeExecutionClosure.FromString(row.closure)
    assert closure.phase == NODE.SUCCEEDED and closure.started_at == ts(1) and closure.updated_at == ts(3)
    assert first is not None and first.phase == "FAILED" and first.started_at == T0 + timedelta(seconds=1)
    task_closure = task_execution_pb2.TaskExecutionClosure.FromString(first.closure)
    assert task_closure.phase == TASK.FAILED and task_closure.created_at == ts(1)
    await db.dispose()


async def _first_attempt_with_its_node(url: str, tmp_path: Path) -> None:
    db = await _setup(url)
    manager = EventManager(db, LocalStore(tmp_path / "blobs", fsync=False))
    seen = _statements(db)
    assert await manager.record_many([node(NODE.RUNNING, 1), task(TASK.RUNNING, 1)]) == [None, None]
    assert not [s for s in seen if s.startswith("SELECT") and "FROM task_executions" in s]
    assert await manager.record_many([task(TASK.SUCCEEDED, 2), node(NODE.SUCCEEDED, 2)]) == [None, None]
    async with db.transaction() as uow:
        row = await uow.node_executions.find(EXEC, "n0")
        assert row is not None and row.phase == "SUCCEEDED"
        attempt = await uow.task_executions.attempt(row.id, 0)
        assert attempt is not None and attempt.phase == "SUCCEEDED"
    await db.dispose()


async def _failing_at_the_end(url: str) -> None:
    """A row that the database refuses only when the batch's rows are written (after every unit ran) fails
    the batch; each unit is then written alone and only the bad one gets the error."""
    db = await _setup(url)
    writer: EventWriter[str] = EventWriter(db, lambda _: None)

    def unit(name: str, *, bad: bool = False) -> Any:
        def apply(records: EventRecords) -> str:
            values: dict[str, Any] = {
                "kind": "node",
                "execution_project": "p",
                "execution_domain": "d",
                "execution_name": "e",
                "node_id": name,
                "retry_attempt": 0,
                "phase": "RUNNING",
                "occurred_at": T0,
                "payload": None if bad else b"",  # NOT NULL
            }
            records.add_new(EventRow, values)
            return name

        return apply

    results = await asyncio.gather(*writer.submit([unit("a"), unit("b", bad=True), unit("c")]), return_exceptions=True)
    assert results[0] == "a" and results[2] == "c" and isinstance(results[1], IntegrityError)
    async with db.transaction() as uow:
        logged = (await uow.session.execute(select(EventRow.node_id).order_by(EventRow.node_id))).scalars().all()
    assert logged == ["a", "c"]
    await db.dispose()


def test_records_read_back_through_the_orm(tmp_path: Path) -> None:
    asyncio.run(_recorded(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}", tmp_path))
    asyncio.run(_first_attempt_with_its_node(f"sqlite+aiosqlite:///{tmp_path / 'b.db'}", tmp_path))
    asyncio.run(_failing_at_the_end(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}"))
    if os.environ.get("AERODROME_TEST_DATABASE_URL"):
        for scenario in (_recorded, _first_attempt_with_its_node):
            with fresh_database() as url:
                asyncio.run(scenario(url, tmp_path))
        with fresh_database() as url:
            asyncio.run(_failing_at_the_end(url))
