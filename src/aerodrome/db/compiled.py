"""Core statements compiled once per dialect, run straight on the DBAPI cursor of a sync ``Connection``.

Why: the event path runs 4 to 8 small statements per event batch (the engine writes two batches per task
node). Through the ORM (``Session.flush``, the identity map, attribute instrumentation) they were the
largest share of the server's CPU per node; even a Core ``Connection.execute`` of a statement built once
costs 35 to 100 µs (cache key, execution context, parameter and result objects) where the statement itself
takes 15 to 25 µs on SQLite. Here a statement is compiled once per dialect (its SQL in the driver's
paramstyle, the bind and result processors of its columns, as SQLAlchemy itself would apply them) and each
run is a cursor call. What SQLAlchemy's execution adds and the rest of aerodrome relies on is kept:
``before_cursor_execute`` listeners are told of each statement, and a driver error is raised as
SQLAlchemy's exception of the same name (the connection invalidated when it says the database is gone), so
``is_conflict``, ``is_disconnect`` and the transport's error mapping see what they always saw.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.expression import ClauseElement
from sqlalchemy.types import TypeEngine

Processor = Callable[[Any], Any] | None
Params = tuple[Any, ...] | dict[str, Any]


@dataclass(frozen=True)
class Prepared:
    """One statement as the driver runs it: its SQL, its parameters' names in order with their bind
    processors, and the result processor of each column it returns."""

    sql: str
    names: tuple[str, ...]
    binds: tuple[Processor, ...]
    positional: bool
    results: tuple[Processor, ...]

    def parameters(self, values: Mapping[str, Any]) -> Params:
        """The driver's parameters for ``values`` (by name; every name of the statement must be given)."""
        out = []
        for name, process in zip(self.names, self.binds, strict=True):
            value = values[name]
            out.append(value if process is None or value is None else process(value))
        return tuple(out) if self.positional else dict(zip(self.names, out, strict=True))

    def row(self, raw: Sequence[Any]) -> tuple[Any, ...]:
        """A result row with SQLAlchemy's conversions applied (timestamps as aware datetimes …)."""
        return tuple(v if p is None or v is None else p(v) for p, v in zip(self.results, raw, strict=True))


def _bind(type_: TypeEngine[Any], dialect: Dialect) -> Processor:
    return type_.dialect_impl(dialect).bind_processor(dialect)


def _result(type_: TypeEngine[Any], dialect: Dialect) -> Processor:
    return type_.dialect_impl(dialect).result_processor(dialect, None)


_prepared: dict[tuple[str, int, tuple[str, ...]], Prepared] = {}


def prepare(dialect: Dialect, statement: ClauseElement, column_keys: Sequence[str] | None = None) -> Prepared:
    """``statement`` compiled for ``dialect`` (once: kept by statement object, so build statements once).
    ``column_keys``: the columns an INSERT or UPDATE sets, each a parameter named by its key."""
    key = (dialect.name, id(statement), tuple(column_keys or ()))
    found = _prepared.get(key)
    if found is None:
        compiled: Any = statement.compile(dialect=dialect, column_keys=list(column_keys) if column_keys else None)
        names = tuple(compiled.positiontup or ()) if compiled.positional else tuple(compiled.binds)
        exported = getattr(statement, "exported_columns", ())
        found = Prepared(
            sql=str(compiled),
            names=names,
            binds=tuple(_bind(compiled.binds[n].type, dialect) for n in names),
            positional=compiled.positional,
            results=tuple(_result(c.type, dialect) for c in exported),
        )
        _prepared[key] = found
        _statements.append(statement)  # kept alive, so its id is never reused by another statement
    return found


_statements: list[ClauseElement] = []


class Statements:
    """Runs prepared statements on one connection's DBAPI cursor, inside the connection's transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect
        self._driver = conn.connection.dbapi_connection
        assert self._driver is not None
        self._cursor = self._driver.cursor()
        self._error: type[Exception] = self.dialect.loaded_dbapi.Error

    def prepare(self, statement: ClauseElement, column_keys: Sequence[str] | None = None) -> Prepared:
        return prepare(self.dialect, statement, column_keys)

    def rows(self, statement: Prepared, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Run a SELECT (or an INSERT … RETURNING); its rows, converted."""
        self._run(statement.sql, statement.parameters(values), many=False)
        return [statement.row(raw) for raw in self._cursor.fetchall()]

    def one(self, statement: Prepared, values: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first row of a SELECT, or None."""
        found = self.rows(statement, values)
        return found[0] if found else None

    def execute(self, statement: Prepared, values: Mapping[str, Any]) -> None:
        self._run(statement.sql, statement.parameters(values), many=False)

    def executemany(self, statement: Prepared, rows: Sequence[Mapping[str, Any]]) -> None:
        """One statement for many parameter rows (one round trip on PostgreSQL)."""
        if len(rows) == 1:
            self.execute(statement, rows[0])
        elif rows:
            self._run(statement.sql, [statement.parameters(r) for r in rows], many=True)

    def lastrowid(self) -> int:
        """The key of the row the last INSERT added (SQLite)."""
        return int(self._cursor.lastrowid)

    def close(self) -> None:
        self._cursor.close()

    def _run(self, sql: str, params: Any, *, many: bool) -> None:
        for listener in self.conn.dispatch.before_cursor_execute:
            listener(self.conn, self._cursor, sql, params, None, many)
        try:
            if many:
                self._cursor.executemany(sql, params)
            else:
                self._cursor.execute(sql, params)
        except self._error as exc:
            gone = self.dialect.is_disconnect(exc, self._driver, self._cursor)  # type: ignore[arg-type]
            if gone:
                self.conn.invalidate(exc)
            raise DBAPIError.instance(
                sql, params, exc, self._error, connection_invalidated=gone, dialect=self.dialect, ismulti=many
            ) from exc
