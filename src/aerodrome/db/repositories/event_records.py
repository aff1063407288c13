"""The reads of the event path, as plain calls on a sync session (``Database.write_sync``).

An event transaction locks its execution, finds the node or attempt record it changes, and on a first
event sometimes a parent; these are those statements, synchronous so that a whole batch of events runs on
SQLite without a thread hop (``db/sync_writes.py``). New and changed rows are added to
``session`` and flushed when the transaction ends.
"""

from __future__ import annotations

from collections.abc import Sequence

from flyteidl.core import identifier_pb2
from sqlalchemy import bindparam, select, tuple_
from sqlalchemy.orm import Session, defer

from aerodrome.db.models import ExecutionRow, NodeExecutionRow, TaskExecutionRow
from aerodrome.db.prototext import compact
from aerodrome.errors import NotFound

# Built once: constructing a select and its cache key per event cost more CPU than running it.
_E, _N, _T = ExecutionRow, NodeExecutionRow, TaskExecutionRow
_EXECUTION_WHERE = (
    _E.execution_project == bindparam("p"),
    _E.execution_domain == bindparam("d"),
    _E.execution_name == bindparam("n"),
)
_NODE_WHERE = (
    _N.execution_project == bindparam("p"),
    _N.execution_domain == bindparam("d"),
    _N.execution_name == bindparam("n"),
    _N.node_id == bindparam("node"),
)
_EXECUTION_FOR_UPDATE = (
    select(_E).where(*_EXECUTION_WHERE).options(defer(_E.spec), defer(_E.closure)).with_for_update()
)
# A workflow event changes the closure: loaded with the row (its lazy load, per execution, cost more than this).
_EXECUTION_WITH_CLOSURE_FOR_UPDATE = select(_E).where(*_EXECUTION_WHERE).options(defer(_E.spec)).with_for_update()
_EXECUTION_ID = select(_E.id).where(*_EXECUTION_WHERE)
_NODE = select(_N).where(*_NODE_WHERE)
_NODE_ID = select(_N.id).where(*_NODE_WHERE)
_TASK = select(_T).where(
    _T.project == bindparam("tp"),
    _T.domain == bindparam("td"),
    _T.name == bindparam("tn"),
    _T.version == bindparam("tv"),
    _T.execution_project == bindparam("p"),
    _T.execution_domain == bindparam("d"),
    _T.execution_name == bindparam("n"),
    _T.node_id == bindparam("node"),
    _T.retry_attempt == bindparam("attempt"),
)


def _params(ident: identifier_pb2.WorkflowExecutionIdentifier, node_id: str | None = None) -> dict[str, str]:
    params = {"p": ident.project, "d": ident.domain, "n": ident.name}
    if node_id is not None:
        params["node"] = node_id
    return params


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

    def execution_for_update(
        self, ident: identifier_pb2.WorkflowExecutionIdentifier, *, closure: bool = False
    ) -> ExecutionRow:
        """The execution, locked for the rest of the transaction on PostgreSQL (SQLite has one writer).
        Its spec and closure are loaded when first used (only workflow events and the outbox use them), the
        closure at once when ``closure`` (a workflow event's)."""
        key = _key(ident)
        row = self._executions.get(key)
        if row is not None:
            return row
        query = _EXECUTION_WITH_CLOSURE_FOR_UPDATE if closure else _EXECUTION_FOR_UPDATE
        row = self.session.execute(query, _params(ident)).scalar_one_or_none()
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
        if self.session.execute(_EXECUTION_ID, _params(ident)).scalar_one_or_none() is None:
            raise _missing_execution(ident)

    def node(self, execution: identifier_pb2.WorkflowExecutionIdentifier, node_id: str) -> NodeExecutionRow | None:
        """The node's record, if there is one (a new one is seen once the batch has flushed it)."""
        found = self._nodes.get((_key(execution), node_id))
        if found is not None:
            return found
        row: NodeExecutionRow | None = self.session.execute(_NODE, _params(execution, node_id)).scalar_one_or_none()
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
        key: int | None = self.session.execute(_NODE_ID, _params(execution, node_id)).scalar_one_or_none()
        return key

    def task(self, ident: identifier_pb2.TaskExecutionIdentifier) -> TaskExecutionRow | None:
        task, node = ident.task_id, ident.node_execution_id
        params: dict[str, str | int] = {"tp": task.project, "td": task.domain, "tn": task.name, "tv": task.version}
        params.update(_params(node.execution_id, node.node_id), attempt=ident.retry_attempt)
        row: TaskExecutionRow | None = self.session.execute(_TASK, params).scalar_one_or_none()
        return row

    def task_id_of(self, ident: identifier_pb2.TaskExecutionIdentifier) -> int:
        """The key of a task-execution record; NotFound without one."""
        row = self.task(ident)
        if row is None:
            raise NotFound(f"missing entity of type task execution with identifier {compact(ident)}")
        return row.id
