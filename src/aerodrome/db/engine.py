"""The database handle: one async engine per role, SQLite tuned for a single-process server, PostgreSQL at scale.

SQLite allows one writer at a time. Writes therefore go through a dedicated single-connection engine,
queued in-process by a lock (fairer and much faster than SQLite's sleeping busy handler; ``write_lock.py``
lets a request's own insert go before the engine's queued writes), and
that connection opens its transactions with ``BEGIN IMMEDIATE`` (the driver issues it right before the
first write statement, so it costs no extra round trip to the driver thread). Reads use a pool of
autocommit connections. A write unit of work may read before its first write; the in-process write lock
keeps that consistent because this process is SQLite's only writer (several processes share a database
only on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from aerodrome.db.insert_bodies import LoopConnection
from aerodrome.db.inserts import NewRow, SqliteInserter, insert_each_rows, insert_rows
from aerodrome.db.sync_writes import Body, ConnBody, SqliteSyncWriter, T, run_async, run_async_conn
from aerodrome.db.unit_of_work import UnitOfWork
from aerodrome.db.write_lock import WriteLock


def is_disconnect(exc: BaseException) -> bool:
    """Whether an error means the database is unreachable for now (restarting, network gone) rather than a
    bad statement: the engine then retries or hands the execution back instead of failing it. The driver's
    own exception may hide under SQLAlchemy's wrapper (``orig``) and its adapter (``__cause__``)."""
    pending: list[BaseException] = [exc]
    for _ in range(8):
        if not pending:
            return False
        current = pending.pop()
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, OperationalError | ConnectionError | TimeoutError):
            return True
        if type(current).__name__ in _DRIVER_DISCONNECTS:
            return True
        pending += [e for e in (getattr(current, "orig", None), current.__cause__) if isinstance(e, BaseException)]
    return False


def is_conflict(exc: BaseException) -> bool:
    """Whether an error means the transaction lost a lock conflict (PostgreSQL chose it as the victim of a
    deadlock, or a serialization failure): running it again is the remedy, not failing the work."""
    pending: list[BaseException] = [exc]
    for _ in range(8):
        if not pending:
            return False
        current = pending.pop()
        if getattr(current, "sqlstate", None) in _CONFLICT_STATES or type(current).__name__ in _DRIVER_CONFLICTS:
            return True
        pending += [e for e in (getattr(current, "orig", None), current.__cause__) if isinstance(e, BaseException)]
    return False


_CONFLICT_STATES = {"40P01", "40001"}  # deadlock_detected, serialization_failure
_DRIVER_CONFLICTS = {"DeadlockDetectedError", "SerializationError"}
_DRIVER_DISCONNECTS = {
    "CannotConnectNowError",
    "ConnectionDoesNotExistError",
    "ConnectionFailureError",
    "PostgresConnectionError",
    "AdminShutdownError",
    "InterfaceError",
}


def _is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_engine(url: str, *, isolation: str | None, pool_size: int, echo: bool) -> AsyncEngine:
    """A SQLite engine in WAL mode whose connections use the given pysqlite isolation level."""
    path = make_url(url).database
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(
        url,
        echo=echo,
        connect_args={"timeout": 30},
        pool_size=pool_size,
        max_overflow=0,
        # Every unit of work ends in COMMIT or ROLLBACK; a reset on check-in would only add a round trip.
        pool_reset_on_return=None,
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        _sqlite_pragmas(dbapi_connection)
        dbapi_connection.isolation_level = isolation

    return engine


def _sqlite_pragmas(dbapi_connection: Any) -> None:
    """WAL, foreign keys, a busy timeout and NORMAL sync, on every SQLite connection."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class Database:
    """Owns the engines and hands out units of work."""

    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = _is_sqlite(url)
        self._write_lock: WriteLock | None = None
        if self.is_sqlite:
            self.engine = _sqlite_engine(url, isolation=None, pool_size=pool_size, echo=echo)
            self._write_engine = _sqlite_engine(url, isolation="IMMEDIATE", pool_size=1, echo=echo)
            self._write_lock = WriteLock()
            path = make_url(url).database
            self._inserter: SqliteInserter | None = SqliteInserter(
                _sqlite_engine(url, isolation="IMMEDIATE", pool_size=1, echo=echo),
                LoopConnection(path, _sqlite_pragmas) if path and path != ":memory:" else None,
            )
            self._sync_writer: SqliteSyncWriter | None = SqliteSyncWriter(url, _sqlite_pragmas)
        else:
            self.engine = create_async_engine(
                url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
            )
            self._write_engine = self.engine
            self._inserter = None
            self._sync_writer = None

    @asynccontextmanager
    async def transaction(self, *, write: bool = False) -> AsyncIterator[UnitOfWork]:
        """A unit of work: committed when the block ends normally, rolled back on any exception."""
        if write and self._write_lock is not None:
            async with self._write_lock, self._unit(self._write_engine) as uow:
                yield uow
            return
        async with self._unit(self._write_engine if write else self.engine) as uow:
            yield uow

    async def insert(self, rows: Sequence[NewRow]) -> None:
        """Insert new rows in one write transaction, all or nothing; a duplicate raises AlreadyExists.

        For writes that only add rows (registration): no session, and on SQLite one hop to the driver's
        thread for the whole transaction (see ``db/inserts.py``).
        """
        if self._write_lock is not None and self._inserter is not None:
            async with self._write_lock.urgent():  # a request waits on it (group commit): before the engine
                await self._inserter.insert(rows)
            return
        async with self._write_engine.connect() as conn:
            await insert_rows(conn, rows)

    async def insert_each(self, groups: Sequence[Sequence[NewRow]]) -> list[Exception | None]:
        """Insert each group of new rows in one write transaction, each group all or nothing: a duplicate
        undoes only its own group. Returns per group its AlreadyExists, or None where it was written."""
        if self._write_lock is not None and self._inserter is not None:
            async with self._write_lock.urgent():  # requests wait on it (group commit): before the engine
                return await self._inserter.insert_each(groups)
        async with self._write_engine.connect() as conn:
            return await insert_each_rows(conn, groups)

    async def write_sync(self, body: Body[T]) -> T:
        """Run ``body`` (plain code on a sync ORM session) in one write transaction: committed when it
        returns, rolled back if it raises. On SQLite the whole transaction runs without a thread hop (see
        ``db/sync_writes.py``), under the same write lock as every other SQLite write."""
        if self._write_lock is not None and self._sync_writer is not None:
            async with self._write_lock:
                return await self._sync_writer.run(body)
        return await run_async(self._write_engine, body)

    async def write_conn(self, body: ConnBody[T]) -> T:
        """As ``write_sync``, ``body`` taking the transaction's connection itself (Core statements only: no
        session to create, flush and close)."""
        if self._write_lock is not None and self._sync_writer is not None:
            async with self._write_lock:
                return await self._sync_writer.run_conn(body)
        return await run_async_conn(self._write_engine, body)

    @asynccontextmanager
    async def _unit(self, engine: AsyncEngine) -> AsyncIterator[UnitOfWork]:
        async with engine.connect() as conn, conn.begin():
            session = AsyncSession(bind=conn, expire_on_commit=False, autoflush=False)
            try:
                yield UnitOfWork(session, dialect=engine.dialect.name)
                await session.flush()
            finally:
                await session.close()

    def pool_use(self) -> dict[str, tuple[int, int]]:
        """(connections checked out, pool size) of each engine, for the /metrics gauges."""
        engines = (
            {"read": self.engine}
            if self._write_engine is self.engine
            else {"read": self.engine, "write": self._write_engine}
        )
        use = {}
        for name, engine in engines.items():
            pool: Any = engine.pool
            size = pool.size() if hasattr(pool, "size") else 0
            use[name] = (int(pool.checkedout()) if hasattr(pool, "checkedout") else 0, int(size))
        return use

    async def dispose(self) -> None:
        """Close every pooled connection."""
        if self._inserter is not None:
            await self._inserter.close()
        if self._sync_writer is not None:
            self._sync_writer.close()
        await self.engine.dispose()
        if self._write_engine is not self.engine:
            await self._write_engine.dispose()
