"""The database handle: one async engine, SQLite tuned for a single-process server, PostgreSQL at scale.

SQLite runs in WAL mode with ``BEGIN IMMEDIATE`` for write transactions, so concurrent writers queue on
the database lock at the start of a transaction instead of failing half-way with "database is locked".
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from aerodrome.db.unit_of_work import UnitOfWork

_WRITE_OPTION = "aerodrome_write"


def _is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _install_sqlite_pragmas(engine: AsyncEngine) -> None:
    """Make SQLite safe and fast for a server: WAL, FKs, a busy timeout, explicit BEGIN."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's implicit BEGIN is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get(_WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


class Database:
    """Owns the engine and hands out units of work."""

    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = _is_sqlite(url)
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            path = make_url(url).database
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            # Every unit of work ends in COMMIT or ROLLBACK, so the pool's extra rollback on check-in
            # would only cost another round trip to the driver thread.
            kwargs.update(connect_args={"timeout": 30}, pool_reset_on_return=None)
        else:
            kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
        self.engine = create_async_engine(url, **kwargs)
        # SQLite allows one writer; queueing writers here is fairer and much faster than letting
        # them spin in SQLite's busy handler.
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        if self.is_sqlite:
            _install_sqlite_pragmas(self.engine)

    @asynccontextmanager
    async def transaction(self, *, write: bool = False) -> AsyncIterator[UnitOfWork]:
        """A unit of work: committed when the block ends normally, rolled back on any exception."""
        if write and self._write_lock is not None:
            async with self._write_lock, self._unit(write=True) as uow:
                yield uow
            return
        async with self._unit(write=write) as uow:
            yield uow

    @asynccontextmanager
    async def _unit(self, *, write: bool) -> AsyncIterator[UnitOfWork]:
        async with self.engine.connect() as conn:
            await conn.execution_options(**{_WRITE_OPTION: write})
            async with conn.begin():
                session = AsyncSession(bind=conn, expire_on_commit=False, autoflush=False)
                try:
                    yield UnitOfWork(session, dialect=self.engine.dialect.name)
                    await session.flush()
                finally:
                    await session.close()

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
