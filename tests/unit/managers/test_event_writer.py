"""Group commit of events over a real SQLite database: concurrent events share transactions, yet each caller
gets exactly its own outcome, is answered only once its event is durable, and watchers hear only of
committed events."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flyteidl.admin import event_pb2 as admin_event
from flyteidl.admin import execution_pb2
from flyteidl.core import execution_pb2 as core_exec
from flyteidl.core import identifier_pb2
from flyteidl.event import event_pb2
from google.protobuf import timestamp_pb2
from sqlalchemy import event as sa_event
from sqlalchemy import func, select

from aerodrome.blobstore.store import LocalStore
from aerodrome.db import migrate
from aerodrome.db.engine import Database
from aerodrome.db.models import EventRow, ExecutionRow
from aerodrome.db.repositories.event_records import EventRecords
from aerodrome.errors import AlreadyExists, FailedPrecondition, NotFound
from aerodrome.managers.event_writer import EventWriter
from aerodrome.managers.events import EventManager, Recorded

NODE, TASK = core_exec.NodeExecution, core_exec.TaskExecution
EXEC = identifier_pb2.WorkflowExecutionIdentifier(project="p", domain="development", name="abc")
T0 = datetime(2026, 1, 1, tzinfo=UTC)
TASK_ID = identifier_pb2.Identifier(
    resource_type=identifier_pb2.TASK, project="p", domain="development", name="t", version="v1"
)


async def _database(tmp_path: Path) -> Database:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'events.db'}")
    await migrate.upgrade(db)
    async with db.transaction(write=True) as uow:
        uow.session.add(
            ExecutionRow(
                execution_project=EXEC.project,
                execution_domain=EXEC.domain,
                execution_name=EXEC.name,
                phase="UNDEFINED",
                closure=execution_pb2.ExecutionClosure().SerializeToString(),
                spec=b"",
                execution_created_at=T0,
                execution_updated_at=T0,
            )
        )
    return db


def ts(seconds: float) -> timestamp_pb2.Timestamp:
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(T0 + timedelta(seconds=seconds))
    return out


def _count_commits(db: Database) -> list[int]:
    commits = [0]

    def count(*_: Any) -> None:
        commits[0] += 1

    # Event batches commit on the sync writer of SQLite (``db/sync_writes.py``).
    assert db._sync_writer is not None
    sa_event.listen(db._sync_writer.engine, "commit", count)
    return commits


def node(node_id: str, phase: int, at: float = 1) -> admin_event.NodeExecutionEventRequest:
    ident = identifier_pb2.NodeExecutionIdentifier(node_id=node_id, execution_id=EXEC)
    return admin_event.NodeExecutionEventRequest(
        event=event_pb2.NodeExecutionEvent(id=ident, phase=phase, occurred_at=ts(at), spec_node_id=node_id)
    )


def task(node_id: str, phase: int, at: float = 1) -> admin_event.TaskExecutionEventRequest:
    ident = identifier_pb2.NodeExecutionIdentifier(node_id=node_id, execution_id=EXEC)
    return admin_event.TaskExecutionEventRequest(
        event=event_pb2.TaskExecutionEvent(
            task_id=TASK_ID, parent_node_execution_id=ident, phase=phase, occurred_at=ts(at)
        )
    )


async def _logged(db: Database) -> int:
    async with db.transaction() as uow:
        return int((await uow.session.execute(select(func.count()).select_from(EventRow))).scalar_one())


def test_concurrent_events_share_transactions_and_each_gets_its_own_outcome(tmp_path: Path) -> None:
    async def main() -> None:
        db = await _database(tmp_path)
        manager = EventManager(db, LocalStore(tmp_path / "blobs", fsync=False))
        told: list[tuple[str, str]] = []
        manager.watch(lambda r: told.append((r.node_id, r.phase)))
        await manager.record_node_event(node("n0", NODE.RUNNING))
        await manager.record_node_event(node("n0", NODE.SUCCEEDED))
        commits = _count_commits(db)
        calls = [manager.record_node_event(node(f"n{i}", NODE.RUNNING)) for i in range(1, 40)]
        calls.append(manager.record_node_event(node("n0", NODE.RUNNING)))  # refused: n0 is terminal
        calls.append(manager.record_node_event(node("n0", NODE.SUCCEEDED)))  # a duplicate
        calls.append(manager.record_task_event(task("missing", TASK.RUNNING)))  # no such node
        outcomes = await asyncio.gather(*calls, return_exceptions=True)
        assert all(not isinstance(o, BaseException) for o in outcomes[:39])
        assert isinstance(outcomes[39], FailedPrecondition)
        assert isinstance(outcomes[40], AlreadyExists)
        assert isinstance(outcomes[41], NotFound)
        assert 0 < commits[0] < 10, f"42 concurrent events took {commits[0]} commits"
        assert await _logged(db) == 41  # n0's two events and the 39 accepted ones, nothing of the refused
        expected = [("n0", "RUNNING"), ("n0", "SUCCEEDED")] + [(f"n{i}", "RUNNING") for i in range(1, 40)]
        assert sorted(told) == sorted(expected)
        await db.dispose()

    asyncio.run(main())


def test_node_and_its_first_attempt_in_one_transaction(tmp_path: Path) -> None:
    async def main() -> None:
        db = await _database(tmp_path)
        manager = EventManager(db, LocalStore(tmp_path / "blobs", fsync=False))
        commits = _count_commits(db)
        outcomes = await manager.record_many([node("n0", NODE.RUNNING), task("n0", TASK.RUNNING)])
        assert outcomes == [None, None] and commits[0] == 1
        outcomes = await manager.record_many([task("n0", TASK.SUCCEEDED, 2), node("n0", NODE.SUCCEEDED, 2)])
        assert outcomes == [None, None] and commits[0] == 2
        again = await manager.record_many([node("n0", NODE.RUNNING, 3), node("n1", NODE.RUNNING)])
        assert isinstance(again[0], FailedPrecondition) and again[1] is None  # n0 is terminal; n1 still recorded
        async with db.transaction() as uow:
            row = await uow.node_executions.find(EXEC, "n0")
        assert row is not None and row.phase == "SUCCEEDED"
        await db.dispose()

    asyncio.run(main())


def test_a_failing_batch_is_written_unit_by_unit(tmp_path: Path) -> None:
    """A unit failing in a way that is not a rule (here a bug) rolls its batch back; the others are then
    written alone and only the failing one gets the error. Watchers hear only of what committed."""

    async def main() -> None:
        db = await _database(tmp_path)
        told: list[str] = []
        writer: EventWriter[str] = EventWriter(db, told.append)

        def unit(name: str, *, broken: bool = False) -> Any:
            def apply(records: EventRecords) -> str:
                records.session.add(
                    EventRow(
                        kind="node",
                        execution_project="p",
                        execution_domain="d",
                        execution_name="e",
                        node_id=name,
                        retry_attempt=0,
                        phase="RUNNING",
                        occurred_at=T0,
                        payload=b"",
                    )
                )
                if broken:
                    raise RuntimeError("a bug in the unit")
                return name

            return apply

        futures = writer.submit([unit("a"), unit("b", broken=True), unit("c")])
        results = await asyncio.gather(*futures, return_exceptions=True)
        assert results[0] == "a" and results[2] == "c" and isinstance(results[1], RuntimeError)
        assert told == ["a", "c"]
        assert await _logged(db) == 2
        await db.dispose()

    asyncio.run(main())


def test_the_caller_resumes_only_after_the_commit(tmp_path: Path) -> None:
    """What a watcher or an answered caller sees is readable by any other connection (durable)."""

    async def main() -> None:
        db = await _database(tmp_path)
        manager = EventManager(db, LocalStore(tmp_path / "blobs", fsync=False))
        seen: list[Recorded] = []
        manager.watch(seen.append)
        await asyncio.gather(*(manager.record_node_event(node(f"n{i}", NODE.RUNNING)) for i in range(5)))
        assert len(seen) == 5 and await _logged(db) == 5
        await db.dispose()

    asyncio.run(main())


@pytest.mark.parametrize("count", [1, 3])
def test_cancelled_callers_do_not_stop_the_writer(tmp_path: Path, count: int) -> None:
    async def main() -> None:
        db = await _database(tmp_path)
        manager = EventManager(db, LocalStore(tmp_path / "blobs", fsync=False))
        calls = [asyncio.create_task(manager.record_node_event(node(f"n{i}", NODE.RUNNING))) for i in range(count)]
        await asyncio.sleep(0)
        calls[0].cancel()
        await asyncio.gather(*calls, return_exceptions=True)
        await manager.record_node_event(node("after", NODE.RUNNING))
        assert await _logged(db) == count + 1  # a cancelled caller's event is written as a moment later
        await db.dispose()

    asyncio.run(main())
