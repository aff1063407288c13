"""An event batch over several executions, on SQLite and PostgreSQL: every event is recorded; on PostgreSQL
the batch locks its executions once, up front, in row-id order (as the lease heartbeat does, so the two
cannot deadlock); an execution or node already read in the batch is not selected again."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flyteidl.admin import event_pb2 as admin_event
from flyteidl.admin import execution_pb2
from flyteidl.core import execution_pb2 as core_exec
from flyteidl.core import identifier_pb2
from flyteidl.event import event_pb2
from google.protobuf import timestamp_pb2
from sqlalchemy import event as sa_event
from sqlalchemy import func, select
from tests.support.postgres import fresh_database

from aerodrome.blobstore.store import LocalStore
from aerodrome.db import migrate
from aerodrome.db.engine import Database
from aerodrome.db.models import EventRow, ExecutionRow
from aerodrome.managers.events import EventManager

NODE = core_exec.NodeExecution
T0 = datetime(2026, 1, 1, tzinfo=UTC)
NAMES = ["c", "a", "b"]  # inserted in this order, so row-id order differs from name order


def _execution(name: str) -> ExecutionRow:
    return ExecutionRow(
        execution_project="p",
        execution_domain="development",
        execution_name=name,
        phase="RUNNING",
        closure=execution_pb2.ExecutionClosure().SerializeToString(),
        spec=b"",
        execution_created_at=T0,
        execution_updated_at=T0,
    )


def _node(name: str, node_id: str, phase: int) -> admin_event.NodeExecutionEventRequest:
    ident = identifier_pb2.NodeExecutionIdentifier(
        node_id=node_id,
        execution_id=identifier_pb2.WorkflowExecutionIdentifier(project="p", domain="development", name=name),
    )
    at = timestamp_pb2.Timestamp()
    at.FromDatetime(T0)
    return admin_event.NodeExecutionEventRequest(
        event=event_pb2.NodeExecutionEvent(id=ident, phase=phase, occurred_at=at, spec_node_id=node_id)
    )


async def _scenario(url: str, tmp_path: Path) -> None:
    db = Database(url)
    await migrate.upgrade(db)
    async with db.transaction(write=True) as uow:
        await uow.add_all([_execution(name) for name in NAMES])
    engine = db._sync_writer.engine if db._sync_writer is not None else db._write_engine.sync_engine
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(" ".join(statement.split()))

    sa_event.listen(engine, "before_cursor_execute", seen)
    manager = EventManager(db, LocalStore(tmp_path / "blobs", fsync=False))
    # Queued before the writer runs, so they share one transaction: per execution a node's RUNNING and
    # its SUCCEEDED, in an order that is neither name nor id order.
    requests = [_node(name, "n0", phase) for phase in (NODE.RUNNING, NODE.SUCCEEDED) for name in ["b", "c", "a"]]
    outcomes = await asyncio.gather(*(manager.record_node_event(r) for r in requests), return_exceptions=True)
    assert all(not isinstance(o, BaseException) for o in outcomes), outcomes
    async with db.transaction() as uow:
        logged = (await uow.session.execute(select(func.count()).select_from(EventRow))).scalar_one()
    assert logged == 6
    execution_reads = [s for s in statements if s.startswith("SELECT") and "FROM executions" in s]
    node_reads = [s for s in statements if s.startswith("SELECT") and "FROM node_executions" in s]
    if db.is_sqlite:
        assert len(execution_reads) == 3  # once per execution, not once per event
    else:
        assert len(execution_reads) == 1 and "ORDER BY executions.id" in execution_reads[0]
        assert execution_reads[0].endswith("FOR UPDATE")
    assert len(node_reads) == 3  # the SUCCEEDED events find the node their RUNNING created in the batch
    await db.dispose()


def test_a_batch_over_several_executions(tmp_path: Path) -> None:
    asyncio.run(_scenario(f"sqlite+aiosqlite:///{tmp_path / 'events.db'}", tmp_path))
    if os.environ.get("AERODROME_TEST_DATABASE_URL"):
        with fresh_database() as url:
            asyncio.run(_scenario(url, tmp_path))
