"""EventManager over a real SQLite database: the single write path for phases."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flyteidl.admin import event_pb2 as admin_event
from flyteidl.admin import execution_pb2, node_execution_pb2, task_execution_pb2
from flyteidl.core import execution_pb2 as core_exec
from flyteidl.core import identifier_pb2, literals_pb2
from flyteidl.event import event_pb2
from google.protobuf import timestamp_pb2

from aerodrome.blobstore.store import LocalStore
from aerodrome.db import migrate
from aerodrome.db.engine import Database
from aerodrome.db.models import ExecutionRow
from aerodrome.errors import AlreadyExists, AlreadyInTerminalState, FailedPrecondition, NotFound, ResourceExhausted
from aerodrome.managers.events import EventManager

EXEC = identifier_pb2.WorkflowExecutionIdentifier(project="p", domain="development", name="abc")
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def ts(seconds: float) -> timestamp_pb2.Timestamp:
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(T0 + timedelta(seconds=seconds))
    return out


@pytest.fixture
def manager(tmp_path: Path) -> EventManager:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'events.db'}")

    async def setup() -> None:
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

    asyncio.run(setup())
    return EventManager(db, LocalStore(tmp_path / "blobs", fsync=False), max_inline_bytes=1024)


def wf_event(phase: int, at: float, **kw: object) -> admin_event.WorkflowExecutionEventRequest:
    return admin_event.WorkflowExecutionEventRequest(
        event=event_pb2.WorkflowExecutionEvent(execution_id=EXEC, phase=phase, occurred_at=ts(at), **kw)
    )


async def closure(manager: EventManager) -> tuple[ExecutionRow, execution_pb2.ExecutionClosure]:
    async with manager.db.transaction() as uow:
        row = await uow.executions.get(EXEC)
    return row, execution_pb2.ExecutionClosure.FromString(row.closure)


def test_workflow_lifecycle_durations_and_outputs(manager: EventManager) -> None:
    WF = core_exec.WorkflowExecution

    async def scenario() -> None:
        await manager.record_workflow_event(wf_event(WF.QUEUED, 0))
        await manager.record_workflow_event(wf_event(WF.QUEUED, 0.5))  # QUEUED may repeat
        await manager.record_workflow_event(wf_event(WF.RUNNING, 1))
        with pytest.raises(AlreadyExists):
            await manager.record_workflow_event(wf_event(WF.RUNNING, 1.5))
        with pytest.raises(FailedPrecondition, match="Cannot go from RUNNING to QUEUED"):
            await manager.record_workflow_event(wf_event(WF.QUEUED, 2))
        outputs = literals_pb2.LiteralMap(
            literals={
                "o0": literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(integer=7)))
            }
        )
        await manager.record_workflow_event(wf_event(WF.SUCCEEDED, 4, output_data=outputs))
        row, c = await closure(manager)
        assert row.phase == "SUCCEEDED" and c.phase == WF.SUCCEEDED
        assert row.duration == 3 * 10**9 and c.duration.seconds == 3
        assert literals_pb2.LiteralMap.FromString(Path(c.outputs.uri).read_bytes()) == outputs
        with pytest.raises(AlreadyInTerminalState) as err:
            await manager.record_workflow_event(wf_event(WF.RUNNING, 5))
        assert err.value.details.already_in_terminal_state.current_phase == "SUCCEEDED"  # type: ignore[union-attr]
        async with manager.db.transaction() as uow:
            events = await uow.events.for_execution(EXEC.project, EXEC.domain, EXEC.name)
        assert [e.phase for e in events] == ["QUEUED", "QUEUED", "RUNNING", "SUCCEEDED"]

    asyncio.run(scenario())


def test_oversized_inline_outputs_are_refused(manager: EventManager) -> None:
    big = literals_pb2.LiteralMap(
        literals={
            "o0": literals_pb2.Literal(
                scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(string_value="x" * 5000))
            )
        }
    )
    with pytest.raises(ResourceExhausted, match="exceeds platform configured threshold"):
        asyncio.run(manager.record_workflow_event(wf_event(core_exec.WorkflowExecution.SUCCEEDED, 1, output_data=big)))


def test_node_and_task_events(manager: EventManager) -> None:
    NODE, TASK = core_exec.NodeExecution, core_exec.TaskExecution
    node_id = identifier_pb2.NodeExecutionIdentifier(node_id="n0", execution_id=EXEC)
    task_id = identifier_pb2.Identifier(
        resource_type=identifier_pb2.TASK, project="p", domain="development", name="t", version="v1"
    )

    def node_event(phase: int, at: float, **kw: object) -> admin_event.NodeExecutionEventRequest:
        return admin_event.NodeExecutionEventRequest(
            event=event_pb2.NodeExecutionEvent(id=node_id, phase=phase, occurred_at=ts(at), spec_node_id="n0", **kw)
        )

    def task_event(
        phase: int, at: float, attempt: int = 0, version: int = 0, **kw: object
    ) -> admin_event.TaskExecutionEventRequest:
        return admin_event.TaskExecutionEventRequest(
            event=event_pb2.TaskExecutionEvent(
                task_id=task_id,
                parent_node_execution_id=node_id,
                retry_attempt=attempt,
                phase=phase,
                phase_version=version,
                occurred_at=ts(at),
                **kw,
            )
        )

    async def scenario() -> None:
        with pytest.raises(NotFound):
            await manager.record_task_event(task_event(TASK.RUNNING, 0))
        await manager.record_node_event(node_event(NODE.RUNNING, 1, input_uri="/in.pb"))
        with pytest.raises(AlreadyExists):
            await manager.record_node_event(node_event(NODE.RUNNING, 1))
        await manager.record_task_event(task_event(TASK.RUNNING, 1, logs=[core_exec.TaskLog(name="a", uri="u1")]))
        await manager.record_task_event(
            task_event(TASK.RUNNING, 2, version=1, logs=[core_exec.TaskLog(name="b", uri="u2")])
        )
        with pytest.raises(AlreadyExists):
            await manager.record_task_event(task_event(TASK.RUNNING, 2, version=1))
        await manager.record_task_event(
            task_event(TASK.FAILED, 3, error=core_exec.ExecutionError(code="USER", message="boom"))
        )
        await manager.record_task_event(task_event(TASK.RUNNING, 3, attempt=1))
        await manager.record_task_event(task_event(TASK.SUCCEEDED, 5, attempt=1, output_uri="/out.pb"))
        await manager.record_node_event(node_event(NODE.SUCCEEDED, 6, output_uri="/out.pb"))
        with pytest.raises(AlreadyInTerminalState):
            await manager.record_node_event(node_event(NODE.RUNNING, 7))
        async with manager.db.transaction() as uow:
            node = await uow.node_executions.find(EXEC, "n0")
            assert node is not None
            tasks = await uow.task_executions.for_node_executions([node.id])
        nc = node_execution_pb2.NodeExecutionClosure.FromString(node.closure)
        assert node.input_uri == "/in.pb" and nc.output_uri == "/out.pb" and nc.duration.seconds == 5
        assert node_execution_pb2.NodeExecutionMetaData.FromString(node.node_execution_metadata).spec_node_id == "n0"
        assert [(t.retry_attempt, t.phase) for t in tasks] == [(0, "FAILED"), (1, "SUCCEEDED")]
        first = task_execution_pb2.TaskExecutionClosure.FromString(tasks[0].closure)
        assert [log.name for log in first.logs] == ["b", "a"]
        assert first.error.message == "boom" and first.duration.seconds == 2

    asyncio.run(scenario())
