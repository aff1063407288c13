"""Reads of executions, node executions and task executions, and their data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from flyteidl.admin import common_pb2, execution_pb2, node_execution_pb2, task_execution_pb2
from flyteidl.core import identifier_pb2
from flyteidl.event import event_pb2
from sqlalchemy import ColumnElement

from aerodrome.blobstore.offload import LiteralOffloader
from aerodrome.db.engine import Database
from aerodrome.db.models import NodeExecutionRow
from aerodrome.db.pagination import next_token, page
from aerodrome.db.prototext import compact
from aerodrome.db.repositories.executions import EXECUTION_COLUMNS, NODE_COLUMNS, TASK_EXECUTION_COLUMNS
from aerodrome.db.transformers.executions import (
    execution_from_row,
    node_execution_from_row,
    task_execution_from_row,
)
from aerodrome.errors import NotFound, missing
from aerodrome.managers.data import ExecutionDataUris
from aerodrome.managers.listing import sort_of
from aerodrome.managers.validation.identifiers import validate_named_identifier

D = TypeVar(
    "D",
    execution_pb2.WorkflowExecutionGetDataResponse,
    node_execution_pb2.NodeExecutionGetDataResponse,
    task_execution_pb2.TaskExecutionGetDataResponse,
)


@dataclass(frozen=True)
class ExecutionOverview:
    """One execution as a page shows it: the execution, its top-level nodes, their attempts by node id."""

    execution: execution_pb2.Execution
    nodes: list[node_execution_pb2.NodeExecution]
    attempts: dict[str, list[task_execution_pb2.TaskExecution]]


class ExecutionQueries:
    """GetExecution, ListExecutions, Get*Data and the node/task execution reads.

    Also what the data proxy needs to find an execution's data (``ExecutionData``).
    """

    def __init__(self, db: Database, data: LiteralOffloader) -> None:
        self.db = db
        self.data = data

    async def _data(self, response: type[D], inputs_uri: str, outputs_uri: str) -> D:
        """A Get*Data response: both maps as signed URLs, and inline when small."""
        inputs, outputs = await self.data.present(inputs_uri), await self.data.present(outputs_uri)
        return response(
            inputs=inputs.url_blob, full_inputs=inputs.full, outputs=outputs.url_blob, full_outputs=outputs.full
        )

    async def get(self, request: execution_pb2.WorkflowExecutionGetRequest) -> execution_pb2.Execution:
        if not request.HasField("id"):
            raise missing("execution_id")
        async with self.db.transaction() as uow:
            return execution_from_row(await uow.executions.get(request.id))

    async def list(self, request: common_pb2.ResourceListRequest) -> execution_pb2.ExecutionList:
        validate_named_identifier(request.id, name=False)
        pg = page(request.token, request.limit, "ListExecutions", sort_of(request), EXECUTION_COLUMNS)
        async with self.db.transaction() as uow:
            rows = await uow.executions.list_rows(request.id.project, request.id.domain, request.filters, pg)
        return execution_pb2.ExecutionList(
            executions=[execution_from_row(r, for_list=True) for r in rows],
            token=next_token(pg.offset, pg.limit, len(rows)),
        )

    async def get_data(
        self, request: execution_pb2.WorkflowExecutionGetDataRequest
    ) -> execution_pb2.WorkflowExecutionGetDataResponse:
        async with self.db.transaction() as uow:
            row = await uow.executions.get(request.id)
        closure = execution_pb2.ExecutionClosure.FromString(row.closure)
        return await self._data(execution_pb2.WorkflowExecutionGetDataResponse, row.inputs_uri, closure.outputs.uri)

    async def overview(self, ident: identifier_pb2.WorkflowExecutionIdentifier) -> ExecutionOverview:
        """An execution with its top-level node executions and every attempt of each, in three queries
        (the console's execution page; ListNodeExecutions plus ListTaskExecutions per node would be 2 + n)."""
        async with self.db.transaction() as uow:
            row = await uow.executions.get(ident)
            nodes = await uow.node_executions.top_level(row.id)
            attempts = await uow.task_executions.for_node_executions([n.id for n in nodes])
        by_node: dict[str, list[task_execution_pb2.TaskExecution]] = {}
        for attempt in attempts:
            by_node.setdefault(attempt.node_id, []).append(task_execution_from_row(attempt))
        return ExecutionOverview(execution_from_row(row), [node_execution_from_row(n) for n in nodes], by_node)

    # Node executions ------------------------------------------------------------------------------

    async def get_node(self, request: node_execution_pb2.NodeExecutionGetRequest) -> node_execution_pb2.NodeExecution:
        async with self.db.transaction() as uow:
            return node_execution_from_row(await uow.node_executions.get(request.id))

    async def list_nodes(
        self, request: node_execution_pb2.NodeExecutionListRequest
    ) -> node_execution_pb2.NodeExecutionList:
        """Top-level nodes by default; the children of ``unique_parent_id`` when given."""
        pg = page(request.token, request.limit, "ListNodeExecutions", sort_of(request), NODE_COLUMNS)
        ident = request.workflow_execution_id
        async with self.db.transaction() as uow:
            await uow.executions.get(ident)
            scope: list[ColumnElement[bool]]
            if request.unique_parent_id:
                parent = await uow.node_executions.get(
                    identifier_pb2.NodeExecutionIdentifier(node_id=request.unique_parent_id, execution_id=ident)
                )
                scope = [NodeExecutionRow.parent_id == parent.id]
            else:
                scope = [NodeExecutionRow.parent_id.is_(None), NodeExecutionRow.parent_task_execution_id.is_(None)]
            rows = await uow.node_executions.list_rows(ident, scope, request.filters, pg)
        return node_execution_pb2.NodeExecutionList(
            node_executions=[node_execution_from_row(r, for_list=True) for r in rows],
            token=next_token(pg.offset, pg.limit, len(rows)),
        )

    async def list_nodes_for_task(
        self, request: node_execution_pb2.NodeExecutionForTaskListRequest
    ) -> node_execution_pb2.NodeExecutionList:
        pg = page(request.token, request.limit, "ListNodeExecutionsForTask", sort_of(request), NODE_COLUMNS)
        te_id = request.task_execution_id
        async with self.db.transaction() as uow:
            task_execution = await uow.task_executions.get(te_id)
            rows = await uow.node_executions.list_rows(
                te_id.node_execution_id.execution_id,
                [NodeExecutionRow.parent_task_execution_id == task_execution.id],
                request.filters,
                pg,
            )
        return node_execution_pb2.NodeExecutionList(
            node_executions=[node_execution_from_row(r, for_list=True) for r in rows],
            token=next_token(pg.offset, pg.limit, len(rows)),
        )

    async def get_node_data(
        self, request: node_execution_pb2.NodeExecutionGetDataRequest
    ) -> node_execution_pb2.NodeExecutionGetDataResponse:
        async with self.db.transaction() as uow:
            row = await uow.node_executions.get(request.id)
        closure = node_execution_pb2.NodeExecutionClosure.FromString(row.closure)
        response = await self._data(node_execution_pb2.NodeExecutionGetDataResponse, row.input_uri, closure.output_uri)
        generated = await self._dynamic(row.dynamic_workflow_remote_closure_reference)
        if generated is not None:
            response.dynamic_workflow.id.CopyFrom(generated.id)
            response.dynamic_workflow.compiled_workflow.CopyFrom(generated.compiled_workflow)
            response.dynamic_workflow.dynamic_job_spec_uri = generated.dynamic_job_spec_uri
        return response

    async def get_dynamic_workflow(
        self, request: node_execution_pb2.GetDynamicNodeWorkflowRequest
    ) -> node_execution_pb2.DynamicNodeWorkflowResponse:
        """The workflow a dynamic node generated; NotFound names the node when it generated none."""
        async with self.db.transaction() as uow:
            row = await uow.node_executions.get(request.id)
        generated = await self._dynamic(row.dynamic_workflow_remote_closure_reference)
        if generated is None:
            raise NotFound(f"node execution {compact(request.id)} did not generate a dynamic workflow")
        return node_execution_pb2.DynamicNodeWorkflowResponse(compiled_workflow=generated.compiled_workflow)

    async def _dynamic(self, uri: str) -> event_pb2.DynamicWorkflowNodeMetadata | None:
        if not uri:
            return None
        return await self.data.store.read_proto(uri, event_pb2.DynamicWorkflowNodeMetadata)

    # Task executions ------------------------------------------------------------------------------

    async def get_task(self, request: task_execution_pb2.TaskExecutionGetRequest) -> task_execution_pb2.TaskExecution:
        async with self.db.transaction() as uow:
            return task_execution_from_row(await uow.task_executions.get(request.id))

    async def list_tasks(
        self, request: task_execution_pb2.TaskExecutionListRequest
    ) -> task_execution_pb2.TaskExecutionList:
        pg = page(request.token, request.limit, "ListTaskExecutions", sort_of(request), TASK_EXECUTION_COLUMNS)
        async with self.db.transaction() as uow:
            node = await uow.node_executions.get(request.node_execution_id)
            rows = await uow.task_executions.list_rows(node.id, request.filters, pg)
        return task_execution_pb2.TaskExecutionList(
            task_executions=[task_execution_from_row(r, for_list=True) for r in rows],
            token=next_token(pg.offset, pg.limit, len(rows)),
        )

    async def get_task_data(
        self, request: task_execution_pb2.TaskExecutionGetDataRequest
    ) -> task_execution_pb2.TaskExecutionGetDataResponse:
        async with self.db.transaction() as uow:
            row = await uow.task_executions.get(request.id)
        closure = task_execution_pb2.TaskExecutionClosure.FromString(row.closure)
        return await self._data(task_execution_pb2.TaskExecutionGetDataResponse, row.input_uri, closure.output_uri)

    # For the data proxy ---------------------------------------------------------------------------

    async def node_data(self, node_execution_id: identifier_pb2.NodeExecutionIdentifier) -> ExecutionDataUris:
        async with self.db.transaction() as uow:
            row = await uow.node_executions.get(node_execution_id)
        closure = node_execution_pb2.NodeExecutionClosure.FromString(row.closure)
        return ExecutionDataUris(inputs=row.input_uri, outputs=closure.output_uri, deck=closure.deck_uri)

    async def task_data(
        self, node_execution_id: identifier_pb2.NodeExecutionIdentifier, retry_attempt: int
    ) -> ExecutionDataUris:
        async with self.db.transaction() as uow:
            node = await uow.node_executions.get(node_execution_id)
            row = await uow.task_executions.attempt(node.id, retry_attempt)
        if row is None:
            raise NotFound(
                f"missing entity of type task execution with identifier retry_attempt:{retry_attempt} "
                f"node_execution_id:{{{compact(node_execution_id)}}}"
            )
        closure = task_execution_pb2.TaskExecutionClosure.FromString(row.closure)
        return ExecutionDataUris(inputs=row.input_uri, outputs=closure.output_uri)
