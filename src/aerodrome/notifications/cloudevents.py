"""CloudEvents v1 (structured JSON) for workflow, node and task execution events.

``data`` is the reference's ``CloudEvent<Kind>Execution`` message as JSON: the raw flyteidl event plus
the execution's labels and launch-plan id, so consumers need no second call to the admin API.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC
from typing import Any

from flyteidl.admin import execution_pb2
from flyteidl.event import cloudevents_pb2, event_pb2
from google.protobuf import json_format

from aerodrome.db.records import ExecutionView

AnyEvent = event_pb2.WorkflowExecutionEvent | event_pb2.NodeExecutionEvent | event_pb2.TaskExecutionEvent

TYPES = {
    "workflow": "com.flyte.resource.cloudevents.WorkflowExecution",
    "node": "com.flyte.resource.cloudevents.NodeExecution",
    "task": "com.flyte.resource.cloudevents.TaskExecution",
}


def execution_key(row: ExecutionView) -> str:
    """``project/domain/name``: the CloudEvent subject and the outbox lane's execution part."""
    return f"{row.execution_project}/{row.execution_domain}/{row.execution_name}"


def event_id(kind: str, row: ExecutionView, phase: str, node_id: str = "", retry_attempt: int = 0) -> str:
    """A readable id (execution, node, attempt, phase) made unique by a random suffix; stored with the
    outbox row, so every redelivery of one event carries the same id."""
    parts = [execution_key(row)]
    if kind != "workflow":
        parts.append(node_id)
    if kind == "task":
        parts.append(str(retry_attempt))
    return f"{'/'.join(parts)}.{phase}.{uuid.uuid4().hex[:12]}"


def _data(kind: str, row: ExecutionView, event: AnyEvent) -> dict[str, Any]:
    spec = execution_pb2.ExecutionSpec.FromString(row.spec)
    labels = dict(spec.labels.values)
    wrapped: Any
    if isinstance(event, event_pb2.WorkflowExecutionEvent):
        wrapped = cloudevents_pb2.CloudEventWorkflowExecution(
            raw_event=event, labels=labels, launch_plan_id=spec.launch_plan, principal=spec.metadata.principal
        )
    elif isinstance(event, event_pb2.NodeExecutionEvent):
        wrapped = cloudevents_pb2.CloudEventNodeExecution(
            raw_event=event, labels=labels, launch_plan_id=spec.launch_plan, principal=spec.metadata.principal
        )
    else:
        wrapped = cloudevents_pb2.CloudEventTaskExecution(raw_event=event, labels=labels)
    data: dict[str, Any] = json_format.MessageToDict(wrapped)
    return data


def cloud_event(kind: str, row: ExecutionView, phase: str, event: AnyEvent, *, ident: str, source: str) -> bytes:
    """The CloudEvent JSON of one accepted event."""
    occurred = event.occurred_at.ToDatetime(tzinfo=UTC)
    body = {
        "specversion": "1.0",
        "id": ident,
        "type": TYPES[kind],
        "source": f"{source}/{row.execution_project}/{row.execution_domain}",
        "subject": execution_key(row),
        "time": occurred.isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "executionphase": phase,
        "data": _data(kind, row, event),
    }
    return json.dumps(body, separators=(",", ":")).encode()
