"""The statements of the event path, on the connection of one write transaction (``Database.write_conn``).

An event transaction locks its execution, finds the node or attempt record it changes (on a first event
sometimes a parent), changes it and appends the event log and outbox rows. These are those statements, as
Core statements compiled once and run on the DBAPI cursor (``db/compiled.py``) against plain records
(``db/records.py``): no ORM session, identity map or flush, which were the largest part of a batch's CPU.
A new node or attempt is inserted when its unit ends (a later unit of the batch may need its id); changed
records, event log rows and outbox rows are written when the batch ends, one statement per table.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from flyteidl.core import identifier_pb2
from sqlalchemy import Connection, Table, bindparam, insert, select, tuple_, update
from sqlalchemy.orm import Session

from aerodrome.db.compiled import Prepared, Statements, prepare
from aerodrome.db.inserts import row_values, table_of
from aerodrome.db.models import ExecutionRow, NodeExecutionRow, TaskExecutionRow
from aerodrome.db.prototext import compact
from aerodrome.db.records import (
    EXECUTION_CHANGES,
    NODE_CHANGES,
    NODE_COLUMNS,
    TASK_CHANGES,
    TASK_COLUMNS,
    ExecutionRecord,
    NodeRecord,
    TaskRecord,
)
from aerodrome.errors import NotFound

# Built once: statements are compiled once per dialect, by statement object.
_E, _N, _T = table_of(ExecutionRow), table_of(NodeExecutionRow), table_of(TaskExecutionRow)
_BY_EXECUTION: tuple[Any, ...] = (bindparam("p"), bindparam("d"), bindparam("n"))


def _where_execution(table: Table) -> tuple[Any, ...]:
    columns = (table.c.execution_project, table.c.execution_domain, table.c.execution_name)
    return tuple(c == p for c, p in zip(columns, _BY_EXECUTION, strict=True))


_EXECUTION_COLUMNS = [_E.c[name] for name in ExecutionRecord.COLUMNS]
_EXECUTION_FOR_UPDATE = select(*_EXECUTION_COLUMNS).where(*_where_execution(_E)).with_for_update()
# A workflow event changes the closure: selected with the row (a load of its own, per execution, cost more).
_EXECUTION_WITH_CLOSURE_FOR_UPDATE = (
    select(*_EXECUTION_COLUMNS, _E.c.closure).where(*_where_execution(_E)).with_for_update()
)
_EXECUTION_COLUMN = {name: select(_E.c[name]).where(_E.c.id == bindparam("id")) for name in ("spec", "closure")}
_EXECUTION_ID = select(_E.c.id).where(*_where_execution(_E))
_NODE_WHERE = (*_where_execution(_N), _N.c.node_id == bindparam("node"))
_NODE = select(*[_N.c[name] for name in NODE_COLUMNS]).where(*_NODE_WHERE)
_NODE_ID = select(_N.c.id).where(*_NODE_WHERE)
_TASK_KEY = ("project", "domain", "name", "version", "node_id", "retry_attempt")
_TASK = select(*[_T.c[name] for name in TASK_COLUMNS]).where(
    *_where_execution(_T), *[_T.c[k] == bindparam(k) for k in _TASK_KEY]
)
_UPDATES = {
    table: (update(table).where(table.c.id == bindparam("_id")), changes)
    for table, changes in ((_E, EXECUTION_CHANGES), (_N, NODE_CHANGES), (_T, TASK_CHANGES))
}
_INSERTS: dict[Table, Any] = {}
_INSERTS_RETURNING = {_N: insert(_N).returning(_N.c.id), _T: insert(_T).returning(_T.c.id)}


def _insert_of(table: Table) -> Any:
    found = _INSERTS.get(table)
    if found is None:
        found = _INSERTS[table] = insert(table)
    return found


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


TaskKey = tuple[str, str, str, str, str, str, str, str, int]


def _task_key(ident: identifier_pb2.TaskExecutionIdentifier) -> TaskKey:
    task, node = ident.task_id, ident.node_execution_id
    e = node.execution_id
    attempt = ident.retry_attempt
    return (e.project, e.domain, e.name, task.project, task.domain, task.name, task.version, node.node_id, attempt)


class EventRecords:
    """Execution, node-execution and task-execution records of one write transaction.

    A batch often holds several events of one execution and of one node (a node's RUNNING with its first
    attempt's): a locked execution and a found node or attempt are kept for the rest of the transaction
    instead of being selected again, and an attempt of a node first recorded in this batch is known not to
    exist yet. ``session``, for units that add ORM rows, is opened on the same connection when first used.
    """

    def __init__(self, bind: Connection | Session) -> None:
        self._session = bind if isinstance(bind, Session) else None
        self._own_session = self._session is None
        self.conn = bind.connection() if isinstance(bind, Session) else bind
        self.sql = Statements(self.conn)
        self.dialect = self.conn.dialect.name
        self._executions: dict[Key, ExecutionRecord] = {}
        self._nodes: dict[tuple[Key, str], NodeRecord] = {}
        self._new_nodes: set[tuple[Key, str]] = set()
        self._tasks: dict[TaskKey, TaskRecord] = {}
        self._changed: dict[int, tuple[Table, ExecutionRecord | NodeRecord | TaskRecord]] = {}
        self._rows: dict[Table, list[dict[str, Any]]] = {}

    @property
    def session(self) -> Session:
        """An ORM session on this transaction's connection (flushed when the batch ends)."""
        if self._session is None:
            self._session = Session(bind=self.conn, expire_on_commit=False, autoflush=False)
        return self._session

    def _prepared(self, statement: Any, column_keys: Sequence[str] | None = None) -> Prepared:
        return prepare(self.conn.dialect, statement, column_keys)

    # Reads -----------------------------------------------------------------------------------------

    def execution_for_update(
        self, ident: identifier_pb2.WorkflowExecutionIdentifier, *, closure: bool = False
    ) -> ExecutionRecord:
        """The execution, locked for the rest of the transaction on PostgreSQL (SQLite has one writer).
        Its spec and closure are loaded when first used (only workflow events and the outbox use them), the
        closure at once when ``closure`` (a workflow event's)."""
        key = _key(ident)
        record = self._executions.get(key)
        if record is not None:
            return record
        query = _EXECUTION_WITH_CLOSURE_FOR_UPDATE if closure else _EXECUTION_FOR_UPDATE
        row = self.sql.one(self._prepared(query), _params(ident))
        if row is None:
            raise _missing_execution(ident)
        record = ExecutionRecord(row[:-1], self._load, row[-1]) if closure else ExecutionRecord(row, self._load)
        self._executions[key] = record
        return record

    def _load(self, execution_id: int, column: str) -> bytes:
        row = self.sql.one(self._prepared(_EXECUTION_COLUMN[column]), {"id": execution_id})
        assert row is not None, f"execution {execution_id} vanished inside its own transaction"
        value: bytes = row[0]
        return value

    def lock_in_order(self, keys: Sequence[Key]) -> None:
        """Lock the executions of a batch up front in row-id order (PostgreSQL): the lease heartbeat locks
        them in that order too, so two transactions locking several executions cannot deadlock. SQLite has
        one writer at a time and nothing to order."""
        wanted = set(keys) - self._executions.keys()
        if len(wanted) < 2 or self.dialect == "sqlite":
            return
        names = (_E.c.execution_project, _E.c.execution_domain, _E.c.execution_name)
        query = select(*_EXECUTION_COLUMNS).where(tuple_(*names).in_(sorted(wanted))).order_by(_E.c.id)
        for row in self.conn.execute(query.with_for_update()):
            record = ExecutionRecord(tuple(row), self._load)
            self._executions[(record.execution_project, record.execution_domain, record.execution_name)] = record

    def execution_exists(self, ident: identifier_pb2.WorkflowExecutionIdentifier) -> None:
        """NotFound unless the execution exists."""
        if self.sql.one(self._prepared(_EXECUTION_ID), _params(ident)) is None:
            raise _missing_execution(ident)

    def node(self, execution: identifier_pb2.WorkflowExecutionIdentifier, node_id: str) -> NodeRecord | None:
        """The node's record, if there is one (one added earlier in the batch included)."""
        key = (_key(execution), node_id)
        found = self._nodes.get(key)
        if found is not None:
            return found
        row = self.sql.one(self._prepared(_NODE), _params(execution, node_id))
        if row is None:
            return None
        record = self._nodes[key] = NodeRecord(*row)
        return record

    def node_id_of(self, execution: identifier_pb2.WorkflowExecutionIdentifier, node_id: str) -> int | None:
        """The key of a node-execution record, if there is one (no row loaded)."""
        found = self._nodes.get((_key(execution), node_id))
        if found is not None and found.id is not None:
            return found.id
        row = self.sql.one(self._prepared(_NODE_ID), _params(execution, node_id))
        return None if row is None else int(row[0])

    def task(self, ident: identifier_pb2.TaskExecutionIdentifier) -> TaskRecord | None:
        """The attempt's record, if there is one."""
        key = _task_key(ident)
        found = self._tasks.get(key)
        if found is not None:
            return found
        if (key[:3], key[7]) in self._new_nodes:  # its node was first recorded in this transaction
            return None
        values = dict(zip(("p", "d", "n", *_TASK_KEY), (*key[:3], *key[3:]), strict=True))
        row = self.sql.one(self._prepared(_TASK), values)
        if row is None:
            return None
        record = self._tasks[key] = TaskRecord(*row)
        return record

    def task_id_of(self, ident: identifier_pb2.TaskExecutionIdentifier) -> int:
        """The key of a task-execution record; NotFound without one."""
        row = self.task(ident)
        if row is None or row.id is None:
            raise NotFound(f"missing entity of type task execution with identifier {compact(ident)}")
        return row.id

    # Writes ----------------------------------------------------------------------------------------

    def save_node(self, record: NodeRecord) -> None:
        """A new node record is inserted now (later units may need its id); a changed one when the batch ends."""
        key = ((record.execution_project, record.execution_domain, record.execution_name), record.node_id)
        if record.id is None:
            record.id = self._insert(_N, {name: getattr(record, name) for name in NODE_COLUMNS if name != "id"})
            self._nodes[key] = record
            self._new_nodes.add(key)
        else:
            self._changed[id(record)] = (_N, record)

    def save_task(self, record: TaskRecord) -> None:
        """As ``save_node``, for an attempt."""
        if record.id is None:
            record.id = self._insert(_T, {name: getattr(record, name) for name in TASK_COLUMNS if name != "id"})
            r = record
            key = (*(r.execution_project, r.execution_domain, r.execution_name), r.project, r.domain, r.name)
            self._tasks[(*key, r.version, r.node_id, r.retry_attempt)] = record
        else:
            self._changed[id(record)] = (_T, record)

    def save_execution(self, record: ExecutionRecord) -> None:
        """The execution's changes, written when the batch ends."""
        self._changed[id(record)] = (_E, record)

    def add_new(self, model: type[Any], values: dict[str, Any]) -> None:
        """A new row of any table (event log, outbox), inserted when the batch ends."""
        self._rows.setdefault(table_of(model), []).append(values)

    def _insert(self, table: Table, given: dict[str, Any]) -> int:
        values = row_values(table, given)
        if self.dialect == "sqlite":  # lastrowid: no RETURNING round of its own
            self.sql.execute(self._prepared(_insert_of(table), list(values)), values)
            return self.sql.lastrowid()
        row = self.sql.one(self._prepared(_INSERTS_RETURNING[table], list(values)), values)
        assert row is not None
        return int(row[0])

    def flush(self) -> None:
        """Write the batch's changed records and new rows: one statement per table, many parameter rows.
        Updates go in the ORM's order (executions, nodes, attempts; by id), then the new rows."""
        now = datetime.now(UTC)
        by_table: dict[Table, list[Any]] = {table: [] for table in _UPDATES}
        for table, record in self._changed.values():
            by_table[table].append(record)
        self._changed.clear()
        for table, records in by_table.items():
            statement, changes = _UPDATES[table]
            rows = []
            for record in sorted(records, key=lambda r: int(r.id or 0)):
                values = {name: now if name == "updated_at" else getattr(record, name) for name in changes}
                values["_id"] = record.id
                rows.append(values)
            self.sql.executemany(self._prepared(statement, changes), rows)
        for table, given in self._rows.items():
            rows = [row_values(table, g) for g in given]
            self.sql.executemany(self._prepared(_insert_of(table), list(rows[0])), rows)
        self._rows.clear()
        if self._session is not None:
            self._session.flush()

    def close(self) -> None:
        """Release the cursor (and the session this opened); the transaction is the caller's."""
        self.sql.close()
        if self._own_session and self._session is not None:
            self._session.close()
