"""GetExecutionMetrics: a span tree of an execution, its node executions and their task attempts.

Spans come from the stored timestamps (created, started, updated) as the reference's metrics manager
builds them: setup before a record started, runtime while it ran, nested down to ``depth`` levels.
"""

from __future__ import annotations

from flyteidl.admin import execution_pb2, node_execution_pb2, task_execution_pb2
from flyteidl.core import metrics_pb2
from google.protobuf import timestamp_pb2

from aerodrome.db.engine import Database
from aerodrome.db.transformers.executions import node_execution_id, task_execution_id


def _span(start: timestamp_pb2.Timestamp, end: timestamp_pb2.Timestamp, operation: str) -> metrics_pb2.Span:
    return metrics_pb2.Span(start_time=start, end_time=end, operation_id=operation)


def _phases(
    created: timestamp_pb2.Timestamp,
    started: timestamp_pb2.Timestamp,
    updated: timestamp_pb2.Timestamp,
    setup: str,
    runtime: str,
) -> list[metrics_pb2.Span]:
    if not started.seconds and not started.nanos:
        return [_span(created, updated, setup)]
    return [_span(created, started, setup), _span(started, updated, runtime)]


class MetricsManager:
    """Builds the span tree from stored records; no extra bookkeeping while executions run."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(
        self, request: execution_pb2.WorkflowExecutionGetMetricsRequest
    ) -> execution_pb2.WorkflowExecutionGetMetricsResponse:
        depth = request.depth or 10
        async with self.db.transaction() as uow:
            row = await uow.executions.get(request.id)
            nodes = await uow.node_executions.for_execution(row.id) if depth > 1 else []
            tasks = await uow.task_executions.for_node_executions([n.id for n in nodes]) if depth > 2 else []
        closure = execution_pb2.ExecutionClosure.FromString(row.closure)
        root = metrics_pb2.Span(workflow_id=request.id, start_time=closure.created_at, end_time=closure.updated_at)
        root.spans.extend(
            _phases(closure.created_at, closure.started_at, closure.updated_at, "WORKFLOW_SETUP", "WORKFLOW_RUNTIME")
        )
        by_node: dict[int, list[metrics_pb2.Span]] = {}
        for task in tasks:
            tc = task_execution_pb2.TaskExecutionClosure.FromString(task.closure)
            span = metrics_pb2.Span(task_id=task_execution_id(task), start_time=tc.created_at, end_time=tc.updated_at)
            span.spans.extend(_phases(tc.created_at, tc.started_at, tc.updated_at, "TASK_SETUP", "TASK_RUNTIME"))
            by_node.setdefault(task.node_execution_id, []).append(span)
        for node in nodes:
            if node.parent_id is not None:
                continue
            nc = node_execution_pb2.NodeExecutionClosure.FromString(node.closure)
            span = metrics_pb2.Span(node_id=node_execution_id(node), start_time=nc.created_at, end_time=nc.updated_at)
            span.spans.extend(_phases(nc.created_at, nc.started_at, nc.updated_at, "NODE_SETUP", "NODE_RUNTIME"))
            span.spans.extend(by_node.get(node.id, []))
            root.spans.append(span)
        return execution_pb2.WorkflowExecutionGetMetricsResponse(span=root)
