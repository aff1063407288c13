"""How an accepted event changes its record: the execution, node-execution and task-execution rows and their
closures, and the event log row. Pure edits of the records an event batch holds (``db/records.py``; an
execution may also be an ORM row of a ``UnitOfWork``, as TerminateExecution passes): ``events.py`` decides
whether an event is accepted, these apply it, and the caller's transaction writes the records."""

from __future__ import annotations

from datetime import UTC, datetime

from flyteidl.admin import execution_pb2, node_execution_pb2, task_execution_pb2
from flyteidl.core import catalog_pb2, identifier_pb2
from flyteidl.core import execution_pb2 as core_exec
from flyteidl.event import event_pb2
from google.protobuf import timestamp_pb2

from aerodrome.db.models import EventRow, ExecutionRow
from aerodrome.db.prototext import compact
from aerodrome.db.records import ExecutionRecord, NodeRecord, TaskRecord
from aerodrome.db.repositories.event_records import EventRecords
from aerodrome.db.unit_of_work import RowSink
from aerodrome.errors import NotFound
from aerodrome.managers.validation.enums import name_or_number
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


def dt(ts: timestamp_pb2.Timestamp) -> datetime:
    return ts.ToDatetime(tzinfo=UTC)


def duration_ns(start: datetime | None, end: datetime) -> int:
    return int((end - start).total_seconds() * 10**9) if start else 0


def log_event(
    uow: RowSink,
    kind: str,
    execution: identifier_pb2.WorkflowExecutionIdentifier,
    phase: str,
    event: event_pb2.WorkflowExecutionEvent | event_pb2.NodeExecutionEvent | event_pb2.TaskExecutionEvent,
    *,
    node_id: str = "",
    retry_attempt: int = 0,
) -> None:
    """Append an accepted event to the event log, in the same transaction as its effect."""
    uow.add_new(
        EventRow,
        {
            "kind": kind,
            "execution_project": execution.project,
            "execution_domain": execution.domain,
            "execution_name": execution.name,
            "node_id": node_id,
            "retry_attempt": retry_attempt,
            "phase": phase,
            "occurred_at": dt(event.occurred_at),
            "payload": event.SerializeToString(),
        },
    )


def new_task_row(node_execution_id: int, event: event_pb2.TaskExecutionEvent) -> TaskRecord:
    """The record of an attempt first heard of (UNDEFINED until its event is applied)."""
    task, node_id = event.task_id, event.parent_node_execution_id
    exec_id = node_id.execution_id
    occurred = dt(event.occurred_at)
    return TaskRecord(
        id=None,
        node_execution_id=node_execution_id,
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
        input_uri="",
        closure=task_execution_pb2.TaskExecutionClosure(created_at=event.occurred_at).SerializeToString(),
        started_at=None,
        task_execution_created_at=occurred,
        task_execution_updated_at=occurred,
        duration=0,
    )


def apply_workflow(
    row: ExecutionRow | ExecutionRecord, event: event_pb2.WorkflowExecutionEvent, output_uri: str
) -> None:
    closure = execution_pb2.ExecutionClosure.FromString(row.closure)
    occurred = dt(event.occurred_at)
    row.phase = workflow_phase_name(event.phase)
    closure.phase = event.phase
    closure.updated_at.CopyFrom(event.occurred_at)
    row.execution_updated_at = occurred
    if event.phase == WF.RUNNING:
        row.started_at = occurred
        closure.started_at.CopyFrom(event.occurred_at)
    if event.phase in WORKFLOW_TERMINAL:
        row.duration = duration_ns(row.started_at, occurred)
        closure.duration.FromNanoseconds(row.duration)
    if event.output_uri or output_uri:
        closure.outputs.uri = event.output_uri or output_uri
    if event.HasField("error"):
        closure.error.CopyFrom(event.error)
        row.error_kind = name_or_number(core_exec.ExecutionError.ErrorKind, event.error.kind)
        row.error_code = event.error.code
    row.closure = closure.SerializeToString()


def new_node_row(records: EventRecords, execution: ExecutionRecord, event: event_pb2.NodeExecutionEvent) -> NodeRecord:
    """The record of a node first heard of (UNDEFINED until its event is applied); NotFound for a parent
    node that has no record."""
    exec_id = event.id.execution_id
    occurred = dt(event.occurred_at)
    row = NodeRecord(
        id=None,
        execution_id=execution.id,
        execution_project=exec_id.project,
        execution_domain=exec_id.domain,
        execution_name=exec_id.name,
        node_id=event.id.node_id,
        phase="UNDEFINED",
        input_uri="",
        closure=node_execution_pb2.NodeExecutionClosure(created_at=event.occurred_at).SerializeToString(),
        started_at=None,
        node_execution_created_at=occurred,
        node_execution_updated_at=occurred,
        duration=0,
        node_execution_metadata=node_execution_pb2.NodeExecutionMetaData(
            retry_group=event.retry_group,
            spec_node_id=event.spec_node_id,
            is_parent_node=event.is_parent,
            is_dynamic=event.is_dynamic,
            is_array=event.is_array,
            is_eager=event.is_eager,
        ).SerializeToString(),
        parent_id=None,
        parent_task_execution_id=None,
        error_kind=None,
        error_code=None,
        cache_status=None,
        dynamic_workflow_remote_closure_reference="",
    )
    if event.HasField("parent_task_metadata"):
        row.parent_task_execution_id = records.task_id_of(event.parent_task_metadata.id)
    if event.HasField("parent_node_metadata") and event.parent_node_metadata.node_id:
        parent = records.node_id_of(exec_id, event.parent_node_metadata.node_id)
        if parent is None:
            raise NotFound(
                f"missing entity of type node execution with identifier node_id:"
                f'"{event.parent_node_metadata.node_id}" execution_id:{{{compact(exec_id)}}}'
            )
        row.parent_id = parent
    return row


def apply_node(row: NodeRecord, event: event_pb2.NodeExecutionEvent, output_uri: str, input_uri: str) -> None:
    closure = node_execution_pb2.NodeExecutionClosure.FromString(row.closure)
    metadata = node_execution_pb2.NodeExecutionMetaData.FromString(row.node_execution_metadata)
    occurred = dt(event.occurred_at)
    row.phase = node_phase_name(event.phase)
    closure.phase = event.phase
    reported = event.reported_at if event.HasField("reported_at") else event.occurred_at
    closure.updated_at.CopyFrom(reported)
    row.node_execution_updated_at = dt(reported)
    if not row.input_uri and (event.input_uri or input_uri):
        row.input_uri = event.input_uri or input_uri
    if event.phase == NODE.RUNNING:
        row.started_at = occurred
        closure.started_at.CopyFrom(event.occurred_at)
    if event.deck_uri:
        closure.deck_uri = event.deck_uri
    if event.phase in NODE_TERMINAL:
        row.duration = duration_ns(row.started_at, occurred)
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


def apply_task(row: TaskRecord, event: event_pb2.TaskExecutionEvent, output_uri: str) -> None:
    closure = task_execution_pb2.TaskExecutionClosure.FromString(row.closure)
    occurred = dt(event.occurred_at)
    first_running = event.phase == TASK.RUNNING and row.started_at is None
    row.phase = task_phase_name(event.phase)
    row.phase_version = event.phase_version
    closure.phase = event.phase
    reported = event.reported_at if event.HasField("reported_at") else event.occurred_at
    closure.updated_at.CopyFrom(reported)
    row.task_execution_updated_at = dt(reported)
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
        row.duration = duration_ns(row.started_at, occurred)
        closure.duration.FromNanoseconds(row.duration)
    if event.output_uri or output_uri:
        closure.output_uri = event.output_uri or output_uri
    if event.HasField("error"):
        closure.error.CopyFrom(event.error)
    row.closure = closure.SerializeToString()
