"""The reads of the event path, as plain calls on a sync session (``Database.write_sync``).

An event transaction locks its execution, finds the node or attempt record it changes, and on a first
event sometimes a parent; these are those statements, synchronous so that a whole batch of events runs on
SQLite in one hop to the writer thread (``db/sync_writes.py``). New and changed rows are added to
``session`` and flushed when the transaction ends.
"""

from __future__ import annotations

from collections.abc import Sequence

from flyteidl.core import identifier_pb2
from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session, defer

from aerodrome.db.models import ExecutionRow, NodeExecutionRow, TaskExecutionRow
from aerodrome.db.prototext import compact
from aerodrome.errors import NotFound


def _missing_execution(ident: identifier_pb2.WorkflowExecutionIdentifier) -> NotFound:
    plain = identifier_pb2.WorkflowExecutionIdentifier(project=ident.project, domain=ident.domain, name=ident.name)
    return NotFound(f"missing entity of type execution with identifier {compact(plain)}")


Key = tuple[str, str, str]
"""An execution's (project, domain, name)."""


def _key(ident: identifier_pb2.WorkflowExecutionIdentifier) -> Key:
    return (ident.project, ident.domain, ident.name)


class EventRecords:
    """Execution, node-execution and task-execution records of one write transaction.

    A batch often holds several events of one execution and of one node (a node's RUNNING with its first
    attempt's): a locked execution and a found node are kept for the rest of the transaction instead of
    being selected again (the session's identity map would return the same objects anyway).
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self._executions: dict[Key, ExecutionRow] = {}
        self._nodes: dict[tuple[Key, str], NodeExecutionRow] = {}

    def execution_for_update(self, ident: identifier_pb2.WorkflowExecutionIdentifier) -> ExecutionRow:
        """The execution, locked for the rest of the transaction on PostgreSQL (SQLite has one writer).
        Its spec and closure are loaded when first used (only workflow events and the outbox use them)."""
        key = _key(ident)
        row = self._executions.get(key)
        if row is not None:
            return row
        e = ExecutionRow
        query = (
            select(e)
            .where(e.execution_project == key[0], e.execution_domain == key[1], e.execution_name == key[2])
            .options(defer(e.spec), defer(e.closure))
            .with_for_update()
        )
        row = self.session.execute(query).scalar_one_or_none()
        if row is None:
            raise _missing_execution(ident)
        self._executions[key] = row
        return row

    def lock_in_order(self, keys: Sequence[Key]) -> None:
        """Lock the executions of a batch up front in row-id order (PostgreSQL): the lease heartbeat locks
        them in that order too, so two transactions locking several executions cannot deadlock. SQLite has
        one writer at a time and nothing to order."""
        wanted = set(keys) - self._executions.keys()
        if len(wanted) < 2 or self.session.get_bind().dialect.name == "sqlite":
            return
        e = ExecutionRow
        query = (
            select(e)
            .where(tuple_(e.execution_project, e.execution_domain, e.execution_name).in_(sorted(wanted)))
            .options(defer(e.spec), defer(e.closure))
            .order_by(e.id)
            .with_for_update()
        )
        for row in self.session.execute(query).scalars():
            self._executions[(row.execution_project, row.execution_domain, row.execution_name)] = row

    def execution_exists(self, ident: identifier_pb2.WorkflowExecutionIdentifier) -> None:
        """NotFound unless the execution exists."""
        e = ExecutionRow
        query = select(e.id).where(
            e.execution_project == ident.project, e.execution_domain == ident.domain, e.execution_name == ident.name
        )
        if self.session.execute(query).scalar_one_or_none() is None:
            raise _missing_execution(ident)

    def node(self, execution: identifier_pb2.WorkflowExecutionIdentifier, node_id: str) -> NodeExecutionRow | None:
        """The node's record, if there is one (a new one is seen once the batch has flushed it)."""
        found = self._nodes.get((_key(execution), node_id))
        if found is not None:
            return found
        n = NodeExecutionRow
        query = select(n).where(
            n.execution_project == execution.project,
            n.execution_domain == execution.domain,
            n.execution_name == execution.name,
            n.node_id == node_id,
        )
        row: NodeExecutionRow | None = self.session.execute(query).scalar_one_or_none()
        if row is not None:
            self._nodes[(_key(execution), node_id)] = row
        return row

    def add_node(self, row: NodeExecutionRow) -> None:
        """A new node record, written at the next flush and found by later events of the batch."""
        self.session.add(row)
        self._nodes[((row.execution_project, row.execution_domain, row.execution_name), row.node_id)] = row

    def node_id_of(self, execution: identifier_pb2.WorkflowExecutionIdentifier, node_id: str) -> int | None:
        """The key of a node-execution record, if there is one (no row loaded)."""
        found = self._nodes.get((_key(execution), node_id))
        if found is not None and found.id is not None:
            return found.id
        n = NodeExecutionRow
        query = select(n.id).where(
            n.execution_project == execution.project,
            n.execution_domain == execution.domain,
            n.execution_name == execution.name,
            n.node_id == node_id,
        )
        key: int | None = self.session.execute(query).scalar_one_or_none()
        return key

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
