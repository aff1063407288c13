"""Write transactions whose whole body is synchronous code on a sync ORM session: on SQLite one thread hop each.

Why: an event transaction is 5 to 7 small statements (lock the execution, find the node or attempt, insert or
update it, append to the event log, outbox rows). Through ``AsyncSession`` on aiosqlite every statement is
a hop to the driver's thread and a greenlet switch back, and on a busy 2-core machine each hop waits to be
scheduled: a profile showed 12 to 17 ms per event transaction, most of it hops, not SQL or commit. Here the
body is a plain function of a ``Session``: on SQLite it runs, with ``BEGIN IMMEDIATE`` … ``COMMIT``, on one
dedicated thread that owns a sync connection to the database (one hop per transaction, however many
statements); on PostgreSQL it runs through ``AsyncConnection.run_sync`` (asyncpg has no thread to hop to,
and the statements are awaited in a greenlet as ``AsyncSession`` does).

Callers serialise SQLite writes with the in-process write lock every SQLite writer takes, so this
connection and the other write engines never hold write transactions at the same time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Connection, create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session

T = TypeVar("T")
Body = Callable[[Session], T]


def run_in_session(conn: Connection, body: Body[T]) -> T:
    """Run ``body`` on a session bound to ``conn`` (whose transaction the caller commits) and flush it."""
    session = Session(bind=conn, expire_on_commit=False, autoflush=False)
    try:
        result = body(session)
        session.flush()
        return result
    finally:
        session.close()


def _sqlite_sync_engine(url: str, pragmas: Callable[[Any], None]) -> Engine:
    """A pysqlite engine of one connection for ``url`` (an aiosqlite URL), in autocommit at the driver so
    that ``begin`` can say ``BEGIN IMMEDIATE`` itself: the write lock is taken before the first read."""
    engine = create_engine(
        make_url(url).set(drivername="sqlite"),
        connect_args={"timeout": 30, "check_same_thread": False},
        pool_size=1,
        max_overflow=0,
        pool_reset_on_return=None,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        pragmas(dbapi_connection)
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class SqliteSyncWriter:
    """One thread and one sync connection that run whole write transactions."""

    def __init__(self, url: str, pragmas: Callable[[Any], None]) -> None:
        self.engine = _sqlite_sync_engine(url, pragmas)
        self._thread: ThreadPoolExecutor | None = None

    def _transaction(self, body: Body[T]) -> T:
        with self.engine.connect() as conn, conn.begin():
            return run_in_session(conn, body)

    async def run(self, body: Body[T]) -> T:
        """Run ``body`` in one transaction on the writer thread; committed unless it raised.

        If the caller is cancelled the transaction still runs to its end before this returns, so the
        caller's write lock is never released while the transaction is open."""
        if self._thread is None:
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        future = asyncio.get_running_loop().run_in_executor(self._thread, self._transaction, body)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            await asyncio.wait([future])
            raise

    def close(self) -> None:
        """Stop the thread (after any transaction in flight) and close the connection; a later ``run``
        starts them again."""
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.shutdown(wait=True)
        self.engine.dispose()


async def run_async(engine: AsyncEngine, body: Body[T]) -> T:
    """Run ``body`` in one transaction on a connection of ``engine`` (PostgreSQL), in its greenlet."""
    async with engine.connect() as conn, conn.begin():
        return await conn.run_sync(run_in_session, body)
