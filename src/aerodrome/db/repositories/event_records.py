"""The reads of the event path, as plain calls on a sync session (``Database.write_sync``).

An event transaction locks its execution, finds the node or attempt record it changes, and on a first
event sometimes a parent; these are those statements, synchronous so that a whole batch of events runs on
SQLite in one hop to the writer thread (``db/sync_writes.py``). New and changed rows are added to
``session`` and flushed when the transaction ends.
"""

from __future__ import annotations

from flyteidl.core import identifier_pb2
from sqlalchemy import select
from sqlalchemy.orm import Session

from aerodrome.db.models import ExecutionRow, NodeExecutionRow, TaskExecutionRow
from aerodrome.db.prototext import compact
from aerodrome.errors import NotFound


def _missing_execution(ident: identifier_pb2.WorkflowExecutionIdentifier) -> NotFound:
    plain = identifier_pb2.WorkflowExecutionIdentifier(project=ident.project, domain=ident.domain, name=ident.name)
    return NotFound(f"missing entity of type execution with identifier {compact(plain)}")


class EventRecords:
    """Execution, node-execution and task-execution records of one write transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def execution_for_update(self, ident: identifier_pb2.WorkflowExecutionIdentifier) -> ExecutionRow:
        """The execution, locked for the rest of the transaction on PostgreSQL (SQLite has one writer)."""
        e = ExecutionRow
        query = select(e).where(
            e.execution_project == ident.project, e.execution_domain == ident.domain, e.execution_name == ident.name
        )
        row = self.session.execute(query.with_for_update()).scalar_one_or_none()
        if row is None:
            raise _missing_execution(ident)
        return row

    def execution_exists(self, ident: identifier_pb2.WorkflowExecutionIdentifier) -> None:
        """NotFound unless the execution exists."""
        e = ExecutionRow
        query = select(e.id).where(
            e.execution_project == ident.project, e.execution_domain == ident.domain, e.execution_name == ident.name
        )
        if self.session.execute(query).scalar_one_or_none() is None:
            raise _missing_execution(ident)

    def node(self, execution: identifier_pb2.WorkflowExecutionIdentifier, node_id: str) -> NodeExecutionRow | None:
        n = NodeExecutionRow
        query = select(n).where(
            n.execution_project == execution.project,
            n.execution_domain == execution.domain,
            n.execution_name == execution.name,
            n.node_id == node_id,
        )
        row: NodeExecutionRow | None = self.session.execute(query).scalar_one_or_none()
        return row

    def node_id_of(self, execution: identifier_pb2.WorkflowExecutionIdentifier, node_id: str) -> int | None:
        """The key of a node-execution record, if there is one (no row loaded)."""
        n = NodeExecutionRow
        query = select(n.id).where(
            n.execution_project == execution.project,
            n.execution_domain == execution.domain,
            n.execution_name == execution.name,
            n.node_id == node_id,
        )
        found: int | None = self.session.execute(query).scalar_one_or_none()
        return found

    def task(self, ident: identifier_pb2.TaskExecutionIdentifier) -> TaskExecutionRow | None:
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
        row: TaskExecutionRow | None = self.session.execute(query).scalar_one_or_none()
        return row

    def task_id_of(self, ident: identifier_pb2.TaskExecutionIdentifier) -> int:
        """The key of a task-execution record; NotFound without one."""
        row = self.task(ident)
        if row is None:
            raise NotFound(f"missing entity of type task execution with identifier {compact(ident)}")
        return row.id
