"""Write transactions whose whole body is synchronous code on a sync ORM session: on SQLite no thread hop at all.

Why: an event transaction is 5 to 7 small statements (lock the execution, find the node or attempt, insert
or update it, append to the event log, outbox rows). Through ``AsyncSession`` on aiosqlite every statement
is a hop to the driver's thread and a greenlet switch back, and on a busy 2-core machine each hop waits to
be scheduled: a profile showed 12 to 17 ms per event transaction, most of it hops, not SQL or commit. Here
the body is a plain function of a ``Session``. On SQLite it runs, with ``BEGIN IMMEDIATE`` … ``COMMIT``, on
a sync connection of its own, right on the caller's (the event loop's) thread: measured
(``bench/event_batch.py``), that beat one hop per transaction to a writer thread as well, whose Python
work then competed with the loop for the GIL. It blocks the loop only for the batch's own CPU: SQLite in WAL
mode with ``synchronous=NORMAL`` does not fsync on commit, the in-process write lock means the connection
never waits for another writer, and this connection never runs the WAL checkpoint (which fsyncs): the other
write connections do, on their aiosqlite threads (the engine's process heartbeat commits every few seconds,
so the WAL does not grow for long). On PostgreSQL it runs through ``AsyncConnection.run_sync``
(asyncpg has no thread to hop to; the statements are awaited in a greenlet as ``AsyncSession`` does).

The loop must never wait for SQLite's lock, though: if another connection holds it (another process on the
file, or one of ours whose transaction outlived the in-process lock, e.g. a write cancelled at shutdown
whose rollback still needs the loop), ``BEGIN IMMEDIATE`` on the loop would sleep in SQLite's busy handler
and the loop could not finish that other transaction: the server froze until the busy timeout, again for
every event, and could not even stop. So the connection's busy timeout is zero: ``BEGIN IMMEDIATE`` either
gets the lock at once or fails at once, before the body ran, and then the whole transaction runs on a
worker thread that waits for the lock with the usual timeout while the loop goes on.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection, RootTransaction, create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session

T = TypeVar("T")
Body = Callable[[Session], T]
ConnBody = Callable[[Connection], T]
"""A transaction's body on the bare connection (``EventRecords`` runs Core statements, no session)."""
Runner = Callable[[Connection, Any], T]


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
        dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")  # checkpoints (fsync) stay off the loop
        dbapi_connection.execute("PRAGMA busy_timeout=0")  # never sleep on the loop: see the module's docstring
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # On the driver: through SQLAlchemy's execution this statement cost as much as an event batch's
        # INSERT. A busy lock is then the driver's error (``_begin_now``).
        driver = conn.connection.driver_connection
        assert driver is not None
        driver.execute("BEGIN IMMEDIATE")

    return engine


class SqliteSyncWriter:
    """One sync connection that runs whole write transactions on the caller's thread, or on a worker thread
    when SQLite's lock is held elsewhere."""

    def __init__(self, url: str, pragmas: Callable[[Any], None]) -> None:
        self.engine = _sqlite_sync_engine(url, pragmas)

    async def run(self, body: Body[T]) -> T:
        """Run ``body`` in one transaction; committed unless it raised (then rolled back)."""
        return await self.run_with(run_in_session, body)

    async def run_conn(self, body: ConnBody[T]) -> T:
        """As ``run``, ``body`` taking the connection itself."""
        return await self.run_with(_call, body)

    async def run_with(self, runner: Runner[T], body: Any) -> T:
        with self.engine.connect() as conn:
            transaction = _begin_now(conn)
            if transaction is not None:
                with transaction:
                    return runner(conn, body)
        return await asyncio.to_thread(self._run_waiting, runner, body)

    def _run_waiting(self, runner: Runner[T], body: Any) -> T:
        """On a worker thread: wait for SQLite's lock as every other connection does, then run ``body``."""
        with self.engine.connect() as conn:
            driver = conn.connection.driver_connection  # not conn.exec_driver_sql: that would begin first
            assert driver is not None
            driver.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            try:
                with conn.begin():
                    return runner(conn, body)
            finally:
                driver.execute("PRAGMA busy_timeout=0")

    def close(self) -> None:
        """Close the connection; a later ``run`` opens it again."""
        self.engine.dispose()


BUSY_TIMEOUT_MS = 30000  # as the other SQLite connections (db/engine.py)


def _begin_now(conn: Connection) -> RootTransaction | None:
    """``BEGIN IMMEDIATE`` if SQLite's lock is free this moment; None if another connection holds it."""
    try:
        return conn.begin()
    except (OperationalError, sqlite3.OperationalError) as exc:
        reason = str(exc.orig if isinstance(exc, OperationalError) else exc)
        if "locked" in reason or "busy" in reason:
            return None
        raise


def _call(conn: Connection, body: ConnBody[T]) -> T:
    return body(conn)


async def run_async(engine: AsyncEngine, body: Any, runner: Runner[T] = run_in_session) -> T:
    """Run ``body`` in one transaction on a connection of ``engine`` (PostgreSQL), in its greenlet."""
    async with engine.connect() as conn, conn.begin():
        return await conn.run_sync(runner, body)


async def run_async_conn(engine: AsyncEngine, body: ConnBody[T]) -> T:
    """As ``run_async``, ``body`` taking the connection itself."""
    return await run_async(engine, body, _call)
