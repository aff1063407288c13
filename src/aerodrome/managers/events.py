"""EventManager: the one write path for execution, node-execution and task-execution phases.

It serves CreateWorkflowEvent, CreateNodeEvent and CreateTaskEvent, and the engine calls the same
methods, so the transition rules (``aerodrome.phases``) run once, for everyone. Each event is checked
against the stored record, applied to the record's closure, and appended to the event log, in one
transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from flyteidl.admin import event_pb2 as admin_event_pb2
from flyteidl.admin import execution_pb2, node_execution_pb2, task_execution_pb2
from flyteidl.core import catalog_pb2, identifier_pb2, literals_pb2
from flyteidl.core import execution_pb2 as core_exec
from flyteidl.event import event_pb2
from google.protobuf import timestamp_pb2
from google.protobuf.message import Message

from aerodrome.blobstore import layout
from aerodrome.blobstore.store import BlobStore
from aerodrome.db.engine import Database
from aerodrome.db.models import EventRow, ExecutionRow, NodeExecutionRow, TaskExecutionRow
from aerodrome.db.prototext import compact
from aerodrome.db.unit_of_work import UnitOfWork
from aerodrome.errors import InvalidArgument, NotFound, ResourceExhausted, missing
from aerodrome.managers.validation.enums import name_or_number
from aerodrome.notifications.outbox import Outbox
from aerodrome.phases.policies import NODE_POLICY, TASK_POLICY, WORKFLOW_POLICY, decide
from aerodrome.phases.rules import Transition
from aerodrome.phases.tables import (
    NODE,
    NODE_TERMINAL,
    TASK,
    TASK_TERMINAL,
    WF,
    WORKFLOW_TERMINAL,
    node_phase_name,
    task_phase_name,
    workflow_phase_name,
)

log = logging.getLogger("aerodrome.events")


def _dt(ts: timestamp_pb2.Timestamp) -> datetime:
    return ts.ToDatetime(tzinfo=UTC)


def _log(
    uow: UnitOfWork,
    kind: str,
    execution: identifier_pb2.WorkflowExecutionIdentifier,
    phase: str,
    event: event_pb2.WorkflowExecutionEvent | event_pb2.NodeExecutionEvent | event_pb2.TaskExecutionEvent,
    *,
    node_id: str = "",
    retry_attempt: int = 0,
) -> None:
    """Append an accepted event to the event log, in the same transaction as its effect."""
    uow.session.add(
        EventRow(
            kind=kind,
            execution_project=execution.project,
            execution_domain=execution.domain,
            execution_name=execution.name,
            node_id=node_id,
            retry_attempt=retry_attempt,
            phase=phase,
            occurred_at=_dt(event.occurred_at),
            payload=event.SerializeToString(),
        )
    )


@dataclass(frozen=True)
class Recorded:
    """What one committed event changed; handed to watchers after its transaction commits."""

    kind: str  # "workflow", "node" or "task"
    execution: identifier_pb2.WorkflowExecutionIdentifier
    phase: str
    node_id: str = ""
    retry_attempt: int = 0


Watcher = Callable[[Recorded], None]


def _duration_ns(start: datetime | None, end: datetime) -> int:
    return int((end - start).total_seconds() * 10**9) if start else 0


class EventManager:
    """Records events; ``max_inline_bytes`` bounds inline event data as the reference does (2 MiB)."""

    def __init__(
        self,
        db: Database,
        store: BlobStore,
        *,
        max_inline_bytes: int = 2 * 1024 * 1024,
        outbox: Outbox | None = None,
    ) -> None:
        self.db = db
        self.store = store
        self.max_inline_bytes = max_inline_bytes
        # Messages that must leave the process (event stream, notifications) are written by the outbox in
        # each event's own transaction (design decision 12).
        self.outbox = outbox
        # In-process watchers (live console pages, dispatcher wake-ups) told of each committed event. They
        # must be quick and must not raise: the event is already stored when they run.
        self.watchers: list[Watcher] = []

    def watch(self, watcher: Watcher) -> Callable[[], None]:
        """Call ``watcher`` after every committed event; returns the function that stops it."""
        self.watchers.append(watcher)
        return lambda: self.watchers.remove(watcher)

    def tell(self, recorded: Recorded) -> None:
        """Hand a committed event to the watchers."""
        for watcher in list(self.watchers):
            try:
                watcher(recorded)
            except Exception:  # a watcher's bug must not turn a stored event into an error for its sender
                log.exception("event watcher failed")

    async def offload(self, key: Sequence[str], data: Message) -> str:
        """Inline event data is kept as a blob under the execution's prefix (the reference's Offload policy)."""
        project, domain, name, *rest = key
        url = self.store.url("/".join([layout.execution_key(project, domain, name), *rest]))
        await self.store.write_proto(url, data)
        return url

    def _check_size(self, data: literals_pb2.LiteralMap) -> None:
        size = data.ByteSize()
        if size > self.max_inline_bytes:
            raise ResourceExhausted(
                f"Output data size exceeds platform configured threshold ({size} > {self.max_inline_bytes})"
            )

    # Workflow events -------------------------------------------------------------------------------

    async def record_workflow_event(
        self, request: admin_event_pb2.WorkflowExecutionEventRequest
    ) -> admin_event_pb2.WorkflowExecutionEventResponse:
        if not request.HasField("event"):
            raise InvalidArgument("Workflow event handler was called without event")
        event = request.event
        if not event.HasField("execution_id"):
            raise InvalidArgument(f"Workflow event handler request event doesn't have an execution id - {event}")
        self._check_size(event.output_data)
        ident = event.execution_id
        output_uri = ""
        if event.HasField("output_data"):
            output_uri = await self.offload(
                [ident.project, ident.domain, ident.name, "offloaded_outputs"], event.output_data
            )
        async with self.db.transaction(write=True) as uow:
            row = await uow.executions.get_for_update(ident)
            recorded = self.apply_workflow_event(uow, row, event, output_uri)
        self.tell(recorded)
        return admin_event_pb2.WorkflowExecutionEventResponse()

    def apply_workflow_event(
        self, uow: UnitOfWork, row: ExecutionRow, event: event_pb2.WorkflowExecutionEvent, output_uri: str = ""
    ) -> Recorded:
        """Check one workflow event against the execution row (locked by the caller) and apply it, in the
        caller's transaction, so a caller can change the row and its phase atomically (TerminateExecution).
        The caller passes the result to ``tell`` once its transaction has committed."""
        ident = event.execution_id
        current = WF.Phase.Value(row.phase)
        verdict = decide(WORKFLOW_POLICY, Transition(current, event.phase, compact(ident)))
        if verdict is not None:
            raise verdict.error
        self._apply_workflow(row, event, output_uri)
        _log(uow, "workflow", ident, row.phase, event)
        if self.outbox is not None:
            self.outbox.add_event(uow, "workflow", row, row.phase, event)
            if event.phase in WORKFLOW_TERMINAL:
                self.outbox.add_notifications(uow, row, event.phase)
        return Recorded("workflow", ident, row.phase)

    @staticmethod
    def _apply_workflow(row: ExecutionRow, event: event_pb2.WorkflowExecutionEvent, output_uri: str) -> None:
        closure = execution_pb2.ExecutionClosure.FromString(row.closure)
        occurred = _dt(event.occurred_at)
        row.phase = workflow_phase_name(event.phase)
        closure.phase = event.phase
        closure.updated_at.CopyFrom(event.occurred_at)
        row.execution_updated_at = occurred
        if event.phase == WF.RUNNING:
            row.started_at = occurred
            closure.started_at.CopyFrom(event.occurred_at)
        if event.phase in WORKFLOW_TERMINAL:
            row.duration = _duration_ns(row.started_at, occurred)
            closure.duration.FromNanoseconds(row.duration)
        if event.output_uri or output_uri:
            closure.outputs.uri = event.output_uri or output_uri
        if event.HasField("error"):
            closure.error.CopyFrom(event.error)
            row.error_kind = name_or_number(core_exec.ExecutionError.ErrorKind, event.error.kind)
            row.error_code = event.error.code
        row.closure = closure.SerializeToString()

    # Node events -----------------------------------------------------------------------------------

    async def record_node_event(
        self, request: admin_event_pb2.NodeExecutionEventRequest
    ) -> admin_event_pb2.NodeExecutionEventResponse:
        if not request.HasField("event"):
            raise missing("event")
        event = request.event
        ident = event.id
        exec_id = ident.execution_id
        self._check_size(event.output_data)
        key = [exec_id.project, exec_id.domain, exec_id.name, ident.node_id]
        output_uri = (
            await self.offload([*key, "offloaded_outputs"], event.output_data) if event.HasField("output_data") else ""
        )
        input_uri = (
            await self.offload([*key, "offloaded_inputs"], event.input_data) if event.HasField("input_data") else ""
        )
        dynamic_uri = ""
        if event.task_node_metadata.HasField("dynamic_workflow"):  # the generated workflow, for GetNodeExecutionData
            wf = event.task_node_metadata.dynamic_workflow.id
            name = f"{wf.project}_{wf.domain}_{wf.name}_{wf.version}"
            dynamic_uri = await self.offload([*key, name], event.task_node_metadata.dynamic_workflow)
        async with self.db.transaction(write=True) as uow:
            # NotFound first; the outbox needs its labels. Locked (PostgreSQL) so that copies of one event sent
            # at once are decided one after the other: the first creates the record, the rest see it.
            execution = await uow.executions.get_for_update(exec_id)
            row = await uow.node_executions.find(exec_id, ident.node_id)
            if row is None:
                row = await self._new_node_row(uow, execution, event)
                current = None
            else:
                current = NODE.Phase.Value(row.phase)
            verdict = decide(NODE_POLICY, Transition(current, event.phase, str(row.id or compact(ident))))
            if verdict is not None:
                raise verdict.error
            if event.HasField("workflow_node_metadata"):
                await uow.executions.get(event.workflow_node_metadata.execution_id)
            self._apply_node(row, event, output_uri, input_uri)
            if dynamic_uri:
                row.dynamic_workflow_remote_closure_reference = dynamic_uri
            if row.id is None:
                uow.session.add(row)
            _log(uow, "node", exec_id, row.phase, event, node_id=ident.node_id)
            if self.outbox is not None:
                self.outbox.add_event(uow, "node", execution, row.phase, event, node_id=ident.node_id)
        self.tell(Recorded("node", exec_id, row.phase, node_id=ident.node_id))
        return admin_event_pb2.NodeExecutionEventResponse()

    @staticmethod
    async def _new_node_row(
        uow: UnitOfWork, execution: ExecutionRow, event: event_pb2.NodeExecutionEvent
    ) -> NodeExecutionRow:
        exec_id = event.id.execution_id
        occurred = _dt(event.occurred_at)
        row = NodeExecutionRow(
            execution_id=execution.id,
            execution_project=exec_id.project,
            execution_domain=exec_id.domain,
            execution_name=exec_id.name,
            node_id=event.id.node_id,
            phase="UNDEFINED",
            closure=node_execution_pb2.NodeExecutionClosure(created_at=event.occurred_at).SerializeToString(),
            node_execution_created_at=occurred,
            node_execution_updated_at=occurred,
            node_execution_metadata=node_execution_pb2.NodeExecutionMetaData(
                retry_group=event.retry_group,
                spec_node_id=event.spec_node_id,
                is_parent_node=event.is_parent,
                is_dynamic=event.is_dynamic,
                is_array=event.is_array,
                is_eager=event.is_eager,
            ).SerializeToString(),
        )
        if event.HasField("parent_task_metadata"):
            parent_task = await uow.task_executions.get(event.parent_task_metadata.id)
            row.parent_task_execution_id = parent_task.id
        if event.HasField("parent_node_metadata") and event.parent_node_metadata.node_id:
            parent = await uow.node_executions.find(exec_id, event.parent_node_metadata.node_id)
            if parent is None:
                raise NotFound(
                    f"missing entity of type node execution with identifier node_id:"
                    f'"{event.parent_node_metadata.node_id}" execution_id:{{{compact(exec_id)}}}'
                )
            row.parent_id = parent.id
        return row

    @staticmethod
    def _apply_node(
        row: NodeExecutionRow, event: event_pb2.NodeExecutionEvent, output_uri: str, input_uri: str
    ) -> None:
        closure = node_execution_pb2.NodeExecutionClosure.FromString(row.closure)
        metadata = node_execution_pb2.NodeExecutionMetaData.FromString(row.node_execution_metadata)
        occurred = _dt(event.occurred_at)
        row.phase = node_phase_name(event.phase)
        closure.phase = event.phase
        reported = event.reported_at if event.HasField("reported_at") else event.occurred_at
        closure.updated_at.CopyFrom(reported)
        row.node_execution_updated_at = _dt(reported)
        if not row.input_uri and (event.input_uri or input_uri):
            row.input_uri = event.input_uri or input_uri
        if event.phase == NODE.RUNNING:
            row.started_at = occurred
            closure.started_at.CopyFrom(event.occurred_at)
        if event.deck_uri:
            closure.deck_uri = event.deck_uri
        if event.phase in NODE_TERMINAL:
            row.duration = _duration_ns(row.started_at, occurred)
            closure.duration.FromNanoseconds(row.duration)
        if event.output_uri or output_uri:
            closure.output_uri = event.output_uri or output_uri
        if event.HasField("error"):
            closure.error.CopyFrom(event.error)
            row.error_kind = name_or_number(core_exec.ExecutionError.ErrorKind, event.error.kind)
            row.error_code = event.error.code
        if event.HasField("workflow_node_metadata") and not closure.HasField("workflow_node_metadata"):
            closure.workflow_node_metadata.executionId.CopyFrom(event.workflow_node_metadata.execution_id)
        if event.HasField("task_node_metadata"):
            tnm = event.task_node_metadata
            closure.task_node_metadata.cache_status = tnm.cache_status
            if tnm.HasField("catalog_key"):
                closure.task_node_metadata.catalog_key.CopyFrom(tnm.catalog_key)
                row.cache_status = name_or_number(catalog_pb2.CatalogCacheStatus, tnm.cache_status)
            if tnm.checkpoint_uri:
                closure.task_node_metadata.checkpoint_uri = tnm.checkpoint_uri
            if tnm.HasField("dynamic_workflow") and tnm.dynamic_workflow.dynamic_job_spec_uri:
                closure.dynamic_job_spec_uri = tnm.dynamic_workflow.dynamic_job_spec_uri
        for flag, value in (
            ("is_parent_node", event.is_parent),
            ("is_dynamic", event.is_dynamic),
            ("is_array", event.is_array),
            ("is_eager", event.is_eager),
        ):
            if value:
                setattr(metadata, flag, True)
        row.closure = closure.SerializeToString()
        row.node_execution_metadata = metadata.SerializeToString()

    # Task events -----------------------------------------------------------------------------------

    async def record_task_event(
        self, request: admin_event_pb2.TaskExecutionEventRequest
    ) -> admin_event_pb2.TaskExecutionEventResponse:
        if not request.HasField("event"):
            raise missing("event")
        event = request.event
        if not event.HasField("occurred_at"):
            raise missing("occurred_at")
        self._check_size(event.output_data)
        node_id = event.parent_node_execution_id
        exec_id = node_id.execution_id
        task = event.task_id
        te_id = identifier_pb2.TaskExecutionIdentifier(
            task_id=task, node_execution_id=node_id, retry_attempt=event.retry_attempt
        )
        output_uri = ""
        if event.HasField("output_data"):
            output_uri = await self.offload(
                [
                    exec_id.project,
                    exec_id.domain,
                    exec_id.name,
                    node_id.node_id,
                    task.project,
                    task.domain,
                    task.name,
                    task.version,
                    str(event.retry_attempt),
                    "offloaded_outputs",
                ],
                event.output_data,
            )
        async with self.db.transaction(write=True) as uow:
            execution = await uow.executions.get_for_update(exec_id)  # serializes copies, as for node events
            row = await uow.task_executions.find(te_id)
            if row is None:
                node = await uow.node_executions.find(exec_id, node_id.node_id)
                if node is None:
                    raise NotFound(f"failed to get existing node execution id: [{compact(node_id)}]")
                occurred = _dt(event.occurred_at)
                row = TaskExecutionRow(
                    node_execution_id=node.id,
                    project=task.project,
                    domain=task.domain,
                    name=task.name,
                    version=task.version,
                    execution_project=exec_id.project,
                    execution_domain=exec_id.domain,
                    execution_name=exec_id.name,
                    node_id=node_id.node_id,
                    retry_attempt=event.retry_attempt,
                    phase="UNDEFINED",
                    phase_version=0,
                    closure=task_execution_pb2.TaskExecutionClosure(created_at=event.occurred_at).SerializeToString(),
                    task_execution_created_at=occurred,
                    task_execution_updated_at=occurred,
                )
                current = None
            else:
                current = TASK.Phase.Value(row.phase)
            verdict = decide(
                TASK_POLICY,
                Transition(
                    current,
                    event.phase,
                    compact(te_id),
                    current_version=row.phase_version,
                    new_version=event.phase_version,
                ),
            )
            if verdict is not None:
                raise verdict.error
            self._apply_task(row, event, output_uri)
            if row.id is None:
                uow.session.add(row)
            _log(uow, "task", exec_id, row.phase, event, node_id=node_id.node_id, retry_attempt=event.retry_attempt)
            if self.outbox is not None:
                self.outbox.add_event(
                    uow, "task", execution, row.phase, event, node_id=node_id.node_id, retry_attempt=event.retry_attempt
                )
        self.tell(Recorded("task", exec_id, row.phase, node_id=node_id.node_id, retry_attempt=event.retry_attempt))
        return admin_event_pb2.TaskExecutionEventResponse()

    @staticmethod
    def _apply_task(row: TaskExecutionRow, event: event_pb2.TaskExecutionEvent, output_uri: str) -> None:
        closure = task_execution_pb2.TaskExecutionClosure.FromString(row.closure)
        occurred = _dt(event.occurred_at)
        first_running = event.phase == TASK.RUNNING and row.started_at is None
        row.phase = task_phase_name(event.phase)
        row.phase_version = event.phase_version
        closure.phase = event.phase
        reported = event.reported_at if event.HasField("reported_at") else event.occurred_at
        closure.updated_at.CopyFrom(reported)
        row.task_execution_updated_at = _dt(reported)
        if event.input_uri and not row.input_uri:
            row.input_uri = event.input_uri
        if first_running:
            row.started_at = occurred
            closure.started_at.CopyFrom(event.occurred_at)
        # Logs are merged: new ones first, then old ones whose (uri, name) the event does not repeat.
        new_keys = {(log.uri, log.name) for log in event.logs}
        kept = [log for log in closure.logs if (log.uri, log.name) not in new_keys]
        del closure.logs[:]
        closure.logs.extend([*event.logs, *kept])
        if event.reason:
            closure.reason = event.reason
            closure.reasons.add(occurred_at=event.occurred_at, message=event.reason)
        for reason in event.reasons:
            closure.reasons.add(occurred_at=reason.occurred_at, message=reason.reason)
        if event.HasField("custom_info"):
            closure.custom_info.MergeFrom(event.custom_info)
        if event.task_type:
            closure.task_type = event.task_type
        if event.HasField("metadata"):
            merged = {(r.index, r.retry_attempt): r for r in closure.metadata.external_resources}
            for resource in event.metadata.external_resources:
                merged[(resource.index, resource.retry_attempt)] = resource
            metadata = closure.metadata
            incoming = event.metadata
            if incoming.generated_name:
                metadata.generated_name = incoming.generated_name
            if incoming.plugin_identifier:
                metadata.plugin_identifier = incoming.plugin_identifier
            del metadata.external_resources[:]
            metadata.external_resources.extend(merged[k] for k in sorted(merged))
        if event.phase in TASK_TERMINAL:
            row.duration = _duration_ns(row.started_at, occurred)
            closure.duration.FromNanoseconds(row.duration)
        if event.output_uri or output_uri:
            closure.output_uri = event.output_uri or output_uri
        if event.HasField("error"):
            closure.error.CopyFrom(event.error)
        row.closure = closure.SerializeToString()
