"""How each kind of event becomes a *unit*: checks that need no record and offloads of inline data first
(async, outside the transaction), then a plain function that, against the records of a write transaction,
decides the transition (``aerodrome.phases``), applies it (``event_rows.py``) and appends the event log and
outbox rows. Units are synchronous so that a whole batch of them runs in one transaction on a sync
connection (``Database.write_conn``, Core statements through ``EventRecords``): on SQLite without any
thread hop for all its statements.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from flyteidl.admin import event_pb2 as admin_event_pb2
from flyteidl.core import identifier_pb2, literals_pb2
from flyteidl.event import event_pb2
from google.protobuf.message import Message

from aerodrome.blobstore import layout
from aerodrome.blobstore.store import BlobStore
from aerodrome.db.models import ExecutionRow
from aerodrome.db.prototext import compact
from aerodrome.db.records import ExecutionRecord
from aerodrome.db.repositories.event_records import EventRecords
from aerodrome.db.unit_of_work import RowSink
from aerodrome.errors import AbortRequested, InvalidArgument, NotFound, ResourceExhausted, missing
from aerodrome.managers import event_rows as rows
from aerodrome.notifications.outbox import Outbox
from aerodrome.phases.policies import NODE_POLICY, TASK_POLICY, WORKFLOW_POLICY, decide
from aerodrome.phases.rules import Transition
from aerodrome.phases.tables import NODE, TASK, WF, WORKFLOW_TERMINAL


@dataclass(frozen=True)
class Recorded:
    """What one committed event changed; handed to watchers after its transaction commits."""

    kind: str  # "workflow", "node" or "task"
    execution: identifier_pb2.WorkflowExecutionIdentifier
    phase: str
    node_id: str = ""
    retry_attempt: int = 0
    outboxed: bool = False  # the event's transaction added outbox rows (the dispatcher has work)


Unit = Callable[[EventRecords], Recorded]


class Named:
    """A record's name in a rejection's message, worked out only when a message is made: ``compact`` of an
    identifier cost more CPU than the rest of an accepted event's transition check."""

    __slots__ = ("ident",)

    def __init__(self, ident: Message) -> None:
        self.ident = ident

    def __str__(self) -> str:
        return compact(self.ident)


class EventUnits:
    """Builds units; ``max_inline_bytes`` bounds inline event data as the reference does (2 MiB)."""

    def __init__(self, store: BlobStore, max_inline_bytes: int, outbox: Outbox | None) -> None:
        self.store = store
        self.max_inline_bytes = max_inline_bytes
        # Messages that must leave the process (event stream, notifications) are written by the outbox in
        # each event's own transaction (design decision 12).
        self.outbox = outbox

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

    async def _workflow_unit(
        self, request: admin_event_pb2.WorkflowExecutionEventRequest, yield_to_abort: bool = False
    ) -> Unit:
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

        def apply(records: EventRecords) -> Recorded:
            row = records.execution_for_update(ident, closure=True)
            if yield_to_abort and row.phase == "ABORTING" and event.phase != WF.ABORTED:
                raise AbortRequested(f"workflow execution {compact(ident)} is being aborted")
            recorded = self.apply_workflow_event(records, row, event, output_uri)
            records.save_execution(row)
            return recorded

        return apply

    def apply_workflow_event(
        self,
        uow: RowSink,
        row: ExecutionRow | ExecutionRecord,
        event: event_pb2.WorkflowExecutionEvent,
        output_uri: str = "",
    ) -> Recorded:
        """Check one workflow event against the execution row (locked by the caller) and apply it, in the
        caller's transaction, so a caller can change the row and its phase atomically (TerminateExecution,
        with an ORM row its session writes; an event batch saves its record itself). The caller passes the
        result to ``tell`` once its transaction has committed."""
        ident = event.execution_id
        current = WF.Phase.Value(row.phase)
        verdict = decide(WORKFLOW_POLICY, Transition(current, event.phase, Named(ident)))
        if verdict is not None:
            raise verdict.error
        rows.apply_workflow(row, event, output_uri)
        rows.log_event(uow, "workflow", ident, row.phase, event)
        added = 0
        if self.outbox is not None:
            added = self.outbox.add_event(uow, "workflow", row, row.phase, event)
            if event.phase in WORKFLOW_TERMINAL:
                added += self.outbox.add_notifications(uow, row, event.phase)
        return Recorded("workflow", ident, row.phase, outboxed=added > 0)

    # Node events -----------------------------------------------------------------------------------

    async def _node_unit(self, request: admin_event_pb2.NodeExecutionEventRequest) -> Unit:
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

        def apply(records: EventRecords) -> Recorded:
            # NotFound first; the outbox needs its labels. Locked (PostgreSQL) so that copies of one event sent
            # at once are decided one after the other: the first creates the record, the rest see it.
            execution = records.execution_for_update(exec_id)
            row = records.node(exec_id, ident.node_id)
            if row is None:
                row = rows.new_node_row(records, execution, event)
                current = None
            else:
                current = NODE.Phase.Value(row.phase)
            name = Named(ident) if row.id is None else str(row.id)
            verdict = decide(NODE_POLICY, Transition(current, event.phase, name))
            if verdict is not None:
                raise verdict.error
            if event.HasField("workflow_node_metadata"):
                records.execution_exists(event.workflow_node_metadata.execution_id)
            rows.apply_node(row, event, output_uri, input_uri)
            if dynamic_uri:
                row.dynamic_workflow_remote_closure_reference = dynamic_uri
            records.save_node(row)
            rows.log_event(records, "node", exec_id, row.phase, event, node_id=ident.node_id)
            added = 0
            if self.outbox is not None:
                added = self.outbox.add_event(records, "node", execution, row.phase, event, node_id=ident.node_id)
            return Recorded("node", exec_id, row.phase, node_id=ident.node_id, outboxed=added > 0)

        return apply

    # Task events -----------------------------------------------------------------------------------

    async def _task_unit(self, request: admin_event_pb2.TaskExecutionEventRequest) -> Unit:
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
            attempt = [task.project, task.domain, task.name, task.version, str(event.retry_attempt)]
            output_uri = await self.offload(
                [exec_id.project, exec_id.domain, exec_id.name, node_id.node_id, *attempt, "offloaded_outputs"],
                event.output_data,
            )

        def apply(records: EventRecords) -> Recorded:
            execution = records.execution_for_update(exec_id)  # serializes copies, as for node events
            row = records.task(te_id)
            if row is None:
                node = records.node_id_of(exec_id, node_id.node_id)
                if node is None:
                    raise NotFound(f"failed to get existing node execution id: [{compact(node_id)}]")
                row = rows.new_task_row(node, event)
                current = None
            else:
                current = TASK.Phase.Value(row.phase)
            transition = Transition(
                current,
                event.phase,
                Named(te_id),
                current_version=row.phase_version,
                new_version=event.phase_version,
            )
            verdict = decide(TASK_POLICY, transition)
            if verdict is not None:
                raise verdict.error
            rows.apply_task(row, event, output_uri)
            records.save_task(row)
            attempt = event.retry_attempt
            rows.log_event(records, "task", exec_id, row.phase, event, node_id=node_id.node_id, retry_attempt=attempt)
            added = 0
            if self.outbox is not None:
                added = self.outbox.add_event(
                    records, "task", execution, row.phase, event, node_id=node_id.node_id, retry_attempt=attempt
                )
            where = node_id.node_id
            return Recorded("task", exec_id, row.phase, node_id=where, retry_attempt=attempt, outboxed=added > 0)

        return apply
