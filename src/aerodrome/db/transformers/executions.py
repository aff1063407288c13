"""Pure conversions between execution rows and flyteidl messages."""

from __future__ import annotations

from typing import Any, cast

from flyteidl.admin import execution_pb2, node_execution_pb2, task_execution_pb2
from flyteidl.core import identifier_pb2

from aerodrome.db.models import ExecutionRow, NodeExecutionRow, TaskExecutionRow

LIST_ERROR_BYTES = 100


def execution_id(row: ExecutionRow | NodeExecutionRow | TaskExecutionRow) -> identifier_pb2.WorkflowExecutionIdentifier:
    return identifier_pb2.WorkflowExecutionIdentifier(
        project=row.execution_project, domain=row.execution_domain, name=row.execution_name
    )


def _trim(message: str) -> str:
    """At most 100 bytes of valid UTF-8, as list responses carry errors."""
    return message.encode()[:LIST_ERROR_BYTES].decode(errors="ignore")


def execution_from_row(row: ExecutionRow, *, for_list: bool = False) -> execution_pb2.Execution:
    spec = execution_pb2.ExecutionSpec.FromString(row.spec)
    closure = execution_pb2.ExecutionClosure.FromString(row.closure)
    if for_list:
        spec.ClearField("inputs")
        closure.ClearField("computed_inputs")
        if closure.HasField("error"):
            closure.error.message = _trim(closure.error.message)
    return execution_pb2.Execution(id=execution_id(row), spec=spec, closure=closure)


def node_execution_id(row: NodeExecutionRow) -> identifier_pb2.NodeExecutionIdentifier:
    return identifier_pb2.NodeExecutionIdentifier(node_id=row.node_id, execution_id=execution_id(row))


def node_execution_from_row(row: NodeExecutionRow, *, for_list: bool = False) -> node_execution_pb2.NodeExecution:
    closure = node_execution_pb2.NodeExecutionClosure.FromString(row.closure)
    if for_list and closure.HasField("error"):
        closure.error.message = _trim(closure.error.message)
    return node_execution_pb2.NodeExecution(
        id=node_execution_id(row),
        input_uri=row.input_uri,
        closure=closure,
        metadata=node_execution_pb2.NodeExecutionMetaData.FromString(row.node_execution_metadata),
    )


def task_execution_id(row: TaskExecutionRow) -> identifier_pb2.TaskExecutionIdentifier:
    return identifier_pb2.TaskExecutionIdentifier(
        task_id=identifier_pb2.Identifier(
            resource_type=cast(Any, identifier_pb2.TASK),
            project=row.project,
            domain=row.domain,
            name=row.name,
            version=row.version,
        ),
        node_execution_id=identifier_pb2.NodeExecutionIdentifier(node_id=row.node_id, execution_id=execution_id(row)),
        retry_attempt=row.retry_attempt,
    )


def task_execution_from_row(row: TaskExecutionRow, *, for_list: bool = False) -> task_execution_pb2.TaskExecution:
    closure = task_execution_pb2.TaskExecutionClosure.FromString(row.closure)
    if for_list and closure.HasField("error"):
        closure.error.message = _trim(closure.error.message)
    return task_execution_pb2.TaskExecution(id=task_execution_id(row), input_uri=row.input_uri, closure=closure)
