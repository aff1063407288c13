"""Repositories of executions, node executions, task executions and events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flyteidl.core import identifier_pb2
from sqlalchemy import ColumnElement, and_, func, select

from aerodrome.db.filters import Columns, columns_of, filters_to_clauses, parse_filters
from aerodrome.db.models import (
    EventRow,
    ExecutionRow,
    ExecutionTagRow,
    LaunchPlanRow,
    NodeExecutionRow,
    TaskExecutionRow,
    TaskRow,
    WorkflowRow,
)
from aerodrome.db.pagination import Page
from aerodrome.db.prototext import compact
from aerodrome.db.repositories.base import Repository, paged
from aerodrome.errors import NotFound

EXECUTION_COLUMNS = columns_of(ExecutionRow.__table__.columns)
NODE_COLUMNS = columns_of(NodeExecutionRow.__table__.columns)
TASK_EXECUTION_COLUMNS = columns_of(TaskExecutionRow.__table__.columns)
TAG_COLUMNS = columns_of(ExecutionTagRow.__table__.columns)


def _execution_id_text(project: str, domain: str, name: str) -> str:
    return compact(identifier_pb2.WorkflowExecutionIdentifier(project=project, domain=domain, name=name))


class ExecutionRepository(Repository[ExecutionRow]):
    """Executions by (project, domain, name), with filters that may join entities and tags."""

    FILTER_COLUMNS: Columns = {
        "execution": EXECUTION_COLUMNS,
        "launch_plan": columns_of(LaunchPlanRow.__table__.columns),
        "workflow": columns_of(WorkflowRow.__table__.columns),
        "task": columns_of(TaskRow.__table__.columns),
        "execution_tag": TAG_COLUMNS,
        "admin_tag": {"name": ExecutionTagRow.__table__.c.key},
    }

    async def find(self, project: str, domain: str, name: str) -> ExecutionRow | None:
        query = select(ExecutionRow).where(
            ExecutionRow.execution_project == project,
            ExecutionRow.execution_domain == domain,
            ExecutionRow.execution_name == name,
        )
        row: ExecutionRow | None = (await self.session.execute(query)).scalar_one_or_none()
        return row

    async def get(self, ident: identifier_pb2.WorkflowExecutionIdentifier) -> ExecutionRow:
        row = await self.find(ident.project, ident.domain, ident.name)
        if row is None:
            raise NotFound(
                f"missing entity of type execution with identifier "
                f"{_execution_id_text(ident.project, ident.domain, ident.name)}"
            )
        return row

    async def by_ids(self, ids: Sequence[int]) -> dict[int, ExecutionRow]:
        """Executions by row id (the engine starts a batch of claimed executions with one read)."""
        rows = (await self.session.execute(select(ExecutionRow).where(ExecutionRow.id.in_(list(ids))))).scalars()
        return {row.id: row for row in rows}

    async def get_for_update(self, ident: identifier_pb2.WorkflowExecutionIdentifier) -> ExecutionRow:
        """The row, locked for the rest of the transaction on PostgreSQL (SQLite has one writer anyway)."""
        query = (
            select(ExecutionRow)
            .where(
                ExecutionRow.execution_project == ident.project,
                ExecutionRow.execution_domain == ident.domain,
                ExecutionRow.execution_name == ident.name,
            )
            .with_for_update()
        )
        row: ExecutionRow | None = (await self.session.execute(query)).scalar_one_or_none()
        if row is None:
            raise NotFound(
                f"missing entity of type execution with identifier "
                f"{_execution_id_text(ident.project, ident.domain, ident.name)}"
            )
        return row

    async def list_rows(self, project: str, domain: str, filters: str, page: Page) -> list[ExecutionRow]:
        parsed = parse_filters(filters)
        where: list[ColumnElement[bool]] = [
            ExecutionRow.execution_project == project,
            ExecutionRow.execution_domain == domain,
        ]
        # Archived executions are hidden unless the caller filters on state.
        if not any(f.field == "state" and f.entity in ("", "execution") for f in parsed):
            where.append(ExecutionRow.state == 0)
        where += filters_to_clauses(filters, "execution", self.FILTER_COLUMNS)
        query: Any = select(ExecutionRow)
        entities = {f.entity for f in parsed}
        if "launch_plan" in entities:
            query = query.join(LaunchPlanRow, LaunchPlanRow.id == ExecutionRow.launch_plan_id)
        if "workflow" in entities:
            query = query.join(WorkflowRow, WorkflowRow.id == ExecutionRow.workflow_id)
        if "task" in entities:
            query = query.join(TaskRow, TaskRow.id == ExecutionRow.task_id)
        if entities & {"execution_tag", "admin_tag"}:
            query = query.join(
                ExecutionTagRow,
                and_(
                    ExecutionTagRow.execution_project == ExecutionRow.execution_project,
                    ExecutionTagRow.execution_domain == ExecutionRow.execution_domain,
                    ExecutionTagRow.execution_name == ExecutionRow.execution_name,
                ),
            ).distinct()
        result = await self.session.execute(paged(query, where, page))
        return list(result.scalars().all())

    async def tags_of(self, ident: identifier_pb2.WorkflowExecutionIdentifier) -> list[ExecutionTagRow]:
        t = ExecutionTagRow
        query = select(t).where(
            t.execution_project == ident.project, t.execution_domain == ident.domain, t.execution_name == ident.name
        )
        return list((await self.session.execute(query)).scalars().all())


class NodeExecutionRepository(Repository[NodeExecutionRow]):
    """Node executions keyed by execution and node id."""

    FILTER_COLUMNS: Columns = {"node_execution": NODE_COLUMNS, "execution": EXECUTION_COLUMNS}

    async def find(
        self, execution: identifier_pb2.WorkflowExecutionIdentifier, node_id: str
    ) -> NodeExecutionRow | None:
        n = NodeExecutionRow
        query = select(n).where(
            n.execution_project == execution.project,
            n.execution_domain == execution.domain,
            n.execution_name == execution.name,
            n.node_id == node_id,
        )
        row: NodeExecutionRow | None = (await self.session.execute(query)).scalar_one_or_none()
        return row

    async def get(self, ident: identifier_pb2.NodeExecutionIdentifier) -> NodeExecutionRow:
        row = await self.find(ident.execution_id, ident.node_id)
        if row is None:
            raise NotFound(f"missing entity of type node execution with identifier {compact(ident)}")
        return row

    async def list_rows(
        self,
        execution: identifier_pb2.WorkflowExecutionIdentifier,
        scope: Sequence[ColumnElement[bool]],
        filters: str,
        page: Page,
    ) -> list[NodeExecutionRow]:
        n = NodeExecutionRow
        where: list[ColumnElement[bool]] = [
            n.execution_project == execution.project,
            n.execution_domain == execution.domain,
            n.execution_name == execution.name,
            *scope,
            *filters_to_clauses(filters, "node_execution", self.FILTER_COLUMNS),
        ]
        query: Any = select(n)
        if any(f.entity == "execution" for f in parse_filters(filters)):
            query = query.join(ExecutionRow, ExecutionRow.id == n.execution_id)
        return list((await self.session.execute(paged(query, where, page))).scalars().all())

    async def top_level(self, execution_id: int) -> list[NodeExecutionRow]:
        """An execution's top-level node executions (not map items, not subworkflow children), in start order."""
        n = NodeExecutionRow
        top = (n.execution_id == execution_id, n.parent_id.is_(None), n.parent_task_execution_id.is_(None))
        query = select(n).where(*top)
        return list((await self.session.execute(query.order_by(n.id))).scalars().all())

    async def for_execution(self, execution_id: int) -> list[NodeExecutionRow]:
        query = select(NodeExecutionRow).where(NodeExecutionRow.execution_id == execution_id)
        return list((await self.session.execute(query.order_by(NodeExecutionRow.id))).scalars().all())

    async def for_executions(self, execution_ids: Sequence[int]) -> list[NodeExecutionRow]:
        query = select(NodeExecutionRow).where(NodeExecutionRow.execution_id.in_(list(execution_ids)))
        return list((await self.session.execute(query.order_by(NodeExecutionRow.id))).scalars().all())


class TaskExecutionRepository(Repository[TaskExecutionRow]):
    """Task executions keyed by task id, node execution id and retry attempt."""

    FILTER_COLUMNS: Columns = {
        "task_execution": TASK_EXECUTION_COLUMNS,
        "task": columns_of(TaskRow.__table__.columns),
        "execution": EXECUTION_COLUMNS,
        "node_execution": NODE_COLUMNS,
    }

    async def find(self, ident: identifier_pb2.TaskExecutionIdentifier) -> TaskExecutionRow | None:
        t, node = TaskExecutionRow, ident.node_execution_id
        query = select(t).where(
            t.project == ident.task_id.project,
            t.domain == ident.task_id.domain,
            t.name == ident.task_id.name,
            t.version == ident.task_id.version,
            t.execution_project == node.execution_id.project,
            t.execution_domain == node.execution_id.domain,
            t.execution_name == node.execution_id.name,
            t.node_id == node.node_id,
            t.retry_attempt == ident.retry_attempt,
        )
        row: TaskExecutionRow | None = (await self.session.execute(query)).scalar_one_or_none()
        return row

    async def get(self, ident: identifier_pb2.TaskExecutionIdentifier) -> TaskExecutionRow:
        row = await self.find(ident)
        if row is None:
            raise NotFound(f"missing entity of type task execution with identifier {compact(ident)}")
        return row

    async def list_rows(self, node_execution_id: int, filters: str, page: Page) -> list[TaskExecutionRow]:
        t = TaskExecutionRow
        where = [
            t.node_execution_id == node_execution_id,
            *filters_to_clauses(filters, "task_execution", self.FILTER_COLUMNS),
        ]
        query: Any = select(t)
        entities = {f.entity for f in parse_filters(filters)}
        if "task" in entities:
            query = query.outerjoin(
                TaskRow,
                and_(
                    TaskRow.project == t.project,
                    TaskRow.domain == t.domain,
                    TaskRow.name == t.name,
                    TaskRow.version == t.version,
                ),
            )
        if entities & {"node_execution", "execution"}:
            query = query.join(NodeExecutionRow, NodeExecutionRow.id == t.node_execution_id)
        if "execution" in entities:
            query = query.join(ExecutionRow, ExecutionRow.id == NodeExecutionRow.execution_id)
        return list((await self.session.execute(paged(query, where, page))).scalars().all())

    async def attempt(self, node_execution_id: int, retry_attempt: int) -> TaskExecutionRow | None:
        """The task execution of one attempt of a node execution."""
        query = select(TaskExecutionRow).where(
            TaskExecutionRow.node_execution_id == node_execution_id, TaskExecutionRow.retry_attempt == retry_attempt
        )
        row: TaskExecutionRow | None = (await self.session.execute(query.limit(1))).scalar_one_or_none()
        return row

    async def for_node_executions(self, node_execution_ids: Sequence[int]) -> list[TaskExecutionRow]:
        query = select(TaskExecutionRow).where(TaskExecutionRow.node_execution_id.in_(list(node_execution_ids)))
        return list((await self.session.execute(query.order_by(TaskExecutionRow.id))).scalars().all())


class EventRepository(Repository[EventRow]):
    """The append-only event log."""

    async def for_execution(self, project: str, domain: str, name: str) -> list[EventRow]:
        query = select(EventRow).where(
            EventRow.execution_project == project, EventRow.execution_domain == domain, EventRow.execution_name == name
        )
        return list((await self.session.execute(query.order_by(EventRow.id))).scalars().all())

    async def after(self, last_id: int, *, project: str, kinds: Sequence[str], limit: int = 500) -> list[EventRow]:
        """Events recorded after ``last_id`` (``aerodrome events tail``), optionally of one project and some kinds."""
        query = select(EventRow).where(EventRow.id > last_id)
        if project:
            query = query.where(EventRow.execution_project == project)
        if kinds:
            query = query.where(EventRow.kind.in_(list(kinds)))
        return list((await self.session.execute(query.order_by(EventRow.id).limit(limit))).scalars().all())

    async def last_id(self) -> int:
        """The newest event's id (0 when the log is empty)."""
        value = (await self.session.execute(select(func.max(EventRow.id)))).scalar_one_or_none()
        return int(value or 0)
