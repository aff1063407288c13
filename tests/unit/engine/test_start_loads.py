"""Drives that start together share one read of their records (``engine/starts.py``), on SQLite and
PostgreSQL: each gets its own execution, nodes and attempts; an unknown row is NotFound for its drive only."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest
from flyteidl.admin import event_pb2 as admin_event
from flyteidl.core import execution_pb2 as core_exec
from flyteidl.core import identifier_pb2
from flyteidl.event import event_pb2
from sqlalchemy import event as sa_event

from aerodrome.blobstore.store import LocalStore
from aerodrome.db import migrate
from aerodrome.db.engine import Database
from aerodrome.engine.starts import StartLoads
from aerodrome.errors import NotFound
from aerodrome.managers.events import EventManager
from tests.support.postgres import fresh_database
from tests.unit.managers.test_event_batches import NAMES, T0, _execution, _node


def _attempt(name: str, node_id: str) -> admin_event.TaskExecutionEventRequest:
    execution = identifier_pb2.WorkflowExecutionIdentifier(project="p", domain="development", name=name)
    task = identifier_pb2.Identifier(
        resource_type=identifier_pb2.TASK, project="p", domain="development", name="t", version="1"
    )
    event = event_pb2.TaskExecutionEvent(
        task_id=task,
        parent_node_execution_id=identifier_pb2.NodeExecutionIdentifier(node_id=node_id, execution_id=execution),
        phase=core_exec.TaskExecution.RUNNING,
        producer_id="test",
    )
    event.occurred_at.FromDatetime(T0)
    return admin_event.TaskExecutionEventRequest(event=event)


async def _scenario(url: str, tmp_path: Path) -> None:
    db = Database(url)
    await migrate.upgrade(db)
    async with db.transaction(write=True) as uow:
        await uow.add_all([_execution(name) for name in NAMES])
    events = EventManager(db, LocalStore(tmp_path / "blobs", fsync=False))
    for node_id in ("n0", "n1"):  # execution "a" was driven before: two nodes, an attempt of n1
        await events.record_node_event(_node("a", node_id, core_exec.NodeExecution.RUNNING))
    await events.record_task_event(_attempt("a", "n1"))
    async with db.transaction() as uow:
        ids = {name: (await uow.executions.find("p", "development", name)).id for name in NAMES}  # type: ignore[union-attr]
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    sa_event.listen(db.engine.sync_engine, "before_cursor_execute", seen)
    loads = StartLoads(db)
    wanted = [ids["a"], ids["b"], ids["c"], ids["a"], 999_999]
    got = await asyncio.gather(*(loads.load(row_id) for row_id in wanted), return_exceptions=True)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 3, selects  # executions, their nodes, the nodes' attempts: for all five drives at once
    a, b, c, a_again, unknown = got
    assert isinstance(unknown, NotFound)
    for stored, name in ((a, "a"), (b, "b"), (c, "c"), (a_again, "a")):
        assert not isinstance(stored, BaseException)
        assert stored.row.execution_name == name
    assert not isinstance(a, BaseException) and not isinstance(b, BaseException)
    assert [n.node_id for n in a.nodes] == ["n0", "n1"] and [t.node_id for t in a.tasks] == ["n1"]
    assert b.nodes == [] and b.tasks == []
    await db.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_drives_starting_together_share_one_read(tmp_path: Path, backend: str) -> None:
    if backend == "sqlite":
        asyncio.run(_scenario(f"sqlite+aiosqlite:///{tmp_path / 'starts.db'}", tmp_path))
        return
    if not os.environ.get("AERODROME_TEST_DATABASE_URL"):
        pytest.skip("PostgreSQL tests need AERODROME_TEST_DATABASE_URL")
    with fresh_database() as url:
        asyncio.run(_scenario(url, tmp_path))
