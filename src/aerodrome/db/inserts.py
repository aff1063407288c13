"""New rows as plain values, written with statements compiled once per table, in one thread hop on SQLite.

Why not the ORM or a session here: registration writes one row per request (two with a description) and
nothing else, many requests per transaction under group commit (``db/batching.py``). Through an
``AsyncSession`` every batch cost a statement-cache lookup and, on SQLite, four hops to aiosqlite's
connection thread (cursor, execute, cursor close, commit). Profiling the server showed those hops, not
CPU, bounding throughput: on a busy machine each hop waits for the worker thread to be scheduled and then
for the GIL on the way back, milliseconds apiece. So on SQLite a whole batch runs as ONE function on
aiosqlite's own connection thread — ``BEGIN IMMEDIATE``, one ``executemany`` per table, ``COMMIT``, or
``ROLLBACK`` on any error, so nothing half-written is ever visible. The engine, its pool and the
connection stay SQLAlchemy's; only the statements of this batch bypass its cursor adapter. Better still,
when SQLite's lock is free the batch runs on the event loop itself, without the hop
(``db/insert_bodies.py``); that thread is where it waits when the lock is held elsewhere.

Submitting a function to that thread uses ``aiosqlite.Connection._execute``, the queue aiosqlite itself
(and SQLAlchemy's dialect, for ``isolation_level``) runs every call through. Should a future aiosqlite
drop it, ``SqliteInserter`` falls back to ``insert_rows``, the Core path PostgreSQL always takes (asyncpg
has no thread to hop to); the same columns, defaults and bind conversions apply there.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from aerodrome.db.insert_bodies import LoopConnection, Work, write_all, write_each
from aerodrome.errors import AlreadyExists

NewRow = tuple[Table, Mapping[str, Any]]
"""A row to insert: its table and the values of the columns the caller sets (defaults fill the rest)."""


def table_of(model: type[Any]) -> Table:
    """The ``Table`` of a mapped class (its ``__table__`` is typed as any FromClause)."""
    table = model.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not mapped to a table")
    return table


Default = Callable[[], Any]


def _constant(value: Any) -> Default:
    return lambda: value


def _default(column: Any) -> Default | None:
    """A column's Python-side default as a function of nothing (SQLAlchemy's take an execution context)."""
    default = column.default
    if default is None:
        return None
    if getattr(default, "is_callable", False):
        return partial(default.arg, None)
    if getattr(default, "is_scalar", False):
        return _constant(default.arg)
    return None


_plans: dict[Table, tuple[tuple[str, Default | None], ...]] = {}


def _plan(table: Table) -> tuple[tuple[str, Default | None], ...]:
    """Each non-key column of ``table`` with its Python-side default, worked out once per table."""
    plan = _plans.get(table)
    if plan is None:
        plan = _plans[table] = tuple((c.key, _default(c)) for c in table.columns if not c.primary_key)
    return plan


def row_values(table: Table, given: Mapping[str, Any]) -> dict[str, Any]:
    """Every non-key column: the given value, else the column's Python-side default, else NULL.

    All rows of a table therefore carry the same keys, which a multi-row insert needs.
    """
    values: dict[str, Any] = {}
    for key, default in _plan(table):
        value = given.get(key)
        values[key] = default() if value is None and default is not None else value
    return values


@dataclass(frozen=True)
class _Compiled:
    """An INSERT of every non-key column of one table, as the driver's SQL, and how to fill its parameters:
    per column, in the statement's order, the key, the default and the dialect's bind converter."""

    sql: str
    columns: tuple[tuple[str, Default | None, Callable[[Any], Any] | None], ...]

    def parameters(self, rows: Iterable[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
        """The driver's parameters for ``rows`` (given values, as ``row_values`` fills them)."""
        out = []
        for given in rows:
            values = []
            for key, default, process in self.columns:
                value = given.get(key)
                if value is None and default is not None:
                    value = default()
                values.append(value if process is None or value is None else process(value))
            out.append(tuple(values))
        return out


_compiled: dict[tuple[str, Table], _Compiled] = {}


def _compile(dialect: Dialect, table: Table) -> _Compiled:
    found = _compiled.get((dialect.name, table))
    if found is None:
        defaults = dict(_plan(table))
        compiled = insert(table).compile(dialect=dialect, column_keys=list(defaults))
        order = compiled.positiontup or list(defaults)
        columns = tuple(
            (k, defaults[k], table.columns[k].type.dialect_impl(dialect).bind_processor(dialect)) for k in order
        )
        found = _compiled[(dialect.name, table)] = _Compiled(str(compiled), columns)
    return found


def _by_table(rows: Sequence[NewRow]) -> dict[Table, list[Mapping[str, Any]]]:
    by_table: dict[Table, list[Mapping[str, Any]]] = {}
    for table, given in rows:
        by_table.setdefault(table, []).append(given)
    return by_table


Runner = Callable[[Work], Awaitable[None]]
EachRunner = Callable[[list[Work]], Awaitable[list[Exception | None]]]


def _driver_thread(driver: Any) -> tuple[Runner, EachRunner] | None:
    """aiosqlite's "run this function on the connection thread" entry and its sqlite3 connection, bound
    to the all-or-nothing writer and to the one-savepoint-per-caller writer."""
    submit, sqlite_conn = getattr(driver, "_execute", None), getattr(driver, "_connection", None)
    if submit is None or not isinstance(sqlite_conn, sqlite3.Connection):
        return None

    def run(work: Work) -> Awaitable[None]:
        return submit(write_all, sqlite_conn, work)  # type: ignore[no-any-return]

    def run_each(groups: list[Work]) -> Awaitable[list[Exception | None]]:
        return submit(write_each, sqlite_conn, groups)  # type: ignore[no-any-return]

    return run, run_each


def _already_exists(exc: IntegrityError | sqlite3.IntegrityError) -> AlreadyExists:
    reason = exc.orig if isinstance(exc, IntegrityError) else exc
    return AlreadyExists(f"value with matching already exists ({reason})")


@contextmanager
def _duplicates_as_already_exists() -> Iterator[None]:
    try:
        yield
    except (IntegrityError, sqlite3.IntegrityError) as exc:
        raise _already_exists(exc) from None


async def insert_rows(conn: AsyncConnection, rows: Sequence[NewRow]) -> None:
    """Insert ``rows`` through SQLAlchemy Core in one transaction on ``conn`` (which must not be in one)."""
    with _duplicates_as_already_exists():
        async with conn.begin():
            for table, given in _by_table(rows).items():
                await conn.execute(insert(table), [row_values(table, g) for g in given])


async def insert_each_rows(conn: AsyncConnection, groups: Sequence[Sequence[NewRow]]) -> list[Exception | None]:
    """Insert each group of rows in one transaction on ``conn``: all together first (no savepoint round
    trips in the common case), else each group in a savepoint; each group's AlreadyExists, or None."""
    try:
        await insert_rows(conn, [row for rows in groups for row in rows])
        return [None] * len(groups)
    except AlreadyExists as exc:
        if len(groups) == 1:
            return [exc]
    outcomes: list[Exception | None] = []
    async with conn.begin():
        for rows in groups:
            try:
                async with conn.begin_nested():
                    for table, given in _by_table(rows).items():
                        await conn.execute(insert(table), [row_values(table, g) for g in given])
            except IntegrityError as exc:
                outcomes.append(_already_exists(exc))
            else:
                outcomes.append(None)
    return outcomes


class SqliteInserter:
    """A SQLite connection kept checked out for inserts, so a batch costs neither a pool checkout nor the
    greenlet switches around it (together more than the INSERT and COMMIT themselves), only one hop.

    Callers serialise ``insert`` with the in-process write lock that every SQLite writer takes, so this
    connection and the write engine's never hold write transactions at the same time.
    """

    def __init__(self, engine: AsyncEngine, loop_conn: LoopConnection | None = None) -> None:
        self._engine = engine
        self._loop_conn = loop_conn  # batches run on the loop when SQLite's lock is free (insert_bodies.py)
        self._conn: AsyncConnection | None = None
        self._runners: tuple[Runner, EachRunner] | None = None

    async def _connect(self) -> AsyncConnection:
        if self._conn is None:
            self._conn = await self._engine.connect()
            self._runners = _driver_thread((await self._conn.get_raw_connection()).driver_connection)
        return self._conn

    @staticmethod
    def _work(conn: AsyncConnection, rows: Sequence[NewRow]) -> Work:
        work = []
        for table, given in _by_table(rows).items():
            compiled = _compile(conn.dialect, table)
            work.append((compiled.sql, compiled.parameters(given)))
        return work

    async def insert(self, rows: Sequence[NewRow]) -> None:
        """Insert ``rows`` in one transaction; a duplicate raises AlreadyExists and writes nothing."""
        conn = await self._connect()
        if self._runners is None:
            await insert_rows(conn, rows)
            return
        work = self._work(conn, rows)
        with _duplicates_as_already_exists():
            if self._loop_conn is None or not self._loop_conn.write_all(work):
                await self._runners[0](work)

    async def insert_each(self, groups: Sequence[Sequence[NewRow]]) -> list[Exception | None]:
        """Insert each group in a savepoint of one transaction: a duplicate undoes only its own group."""
        conn = await self._connect()
        if self._runners is None:
            return await insert_each_rows(conn, groups)
        work = [self._work(conn, rows) for rows in groups]
        outcomes = self._loop_conn.write_each(work) if self._loop_conn is not None else None
        if outcomes is None:
            outcomes = await self._runners[1](work)
        return [_already_exists(o) if isinstance(o, sqlite3.IntegrityError) else o for o in outcomes]

    async def close(self) -> None:
        """Return the connection and close the engine's pool (a later insert opens it again)."""
        conn, self._conn, self._runners = self._conn, None, None
        if self._loop_conn is not None:
            self._loop_conn.close()
        if conn is not None:
            await conn.close()
        await self._engine.dispose()


def new_row(obj: Any) -> NewRow:
    """An unsaved ORM object as a ``NewRow`` (its set columns), for callers that build rows as models."""
    from sqlalchemy import inspect as sa_inspect

    mapper = sa_inspect(type(obj))
    values = {}
    for attr in mapper.column_attrs:
        value = getattr(obj, attr.key, None)
        if value is not None:
            values[attr.columns[0].key] = value
    return table_of(type(obj)), values
