"""The SQL of an insert batch on a raw sqlite3 connection, and a connection that runs it on the event loop.

Why on the loop: CreateExecution's group-committed insert (``db/batching.py``) was one hop to aiosqlite's
thread and back per batch; with one client every creation is a batch of its own, and the hop (a thread
switch each way, the GIL handed over, a wake-up of the loop) cost more than the statements, which append
to the WAL without an fsync (``synchronous=NORMAL``). Here the batch runs on a sync connection of its own,
right on the caller's thread, as event batches do (``db/sync_writes.py``, whose reasons hold here too): the
in-process write lock means no connection of ours writes meanwhile, this connection never checkpoints (the
fsync stays on the aiosqlite connections), and its busy timeout is zero, so ``BEGIN IMMEDIATE`` either gets
SQLite's lock at once or fails at once, before anything ran; the caller then runs the batch on the driver's
thread, which waits for the lock as usual while the loop goes on.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

Work = list[tuple[str, list[tuple[Any, ...]]]]
"""The statements of one caller's rows: per table, the INSERT and its parameter rows."""


def write_all(conn: sqlite3.Connection, work: Work, *, begin: bool = True) -> None:
    """The whole transaction, committed or rolled back (``begin=False``: BEGIN IMMEDIATE already ran)."""
    if begin:
        conn.execute("BEGIN IMMEDIATE")
    try:
        for sql, parameters in work:
            conn.executemany(sql, parameters)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise


def write_each(conn: sqlite3.Connection, groups: list[Work], *, begin: bool = True) -> list[Exception | None]:
    """One transaction, each group in a savepoint of its own, so a duplicate undoes only its own group;
    returns each group's IntegrityError, or None where it was written."""
    if begin:
        conn.execute("BEGIN IMMEDIATE")
    outcomes: list[Exception | None] = []
    try:
        for work in groups:
            conn.execute("SAVEPOINT caller")
            try:
                for sql, parameters in work:
                    conn.executemany(sql, parameters)
            except sqlite3.IntegrityError as exc:
                conn.execute("ROLLBACK TO caller")
                outcomes.append(exc)
            else:
                outcomes.append(None)
            conn.execute("RELEASE caller")
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return outcomes


class LoopConnection:
    """A sqlite3 connection that runs insert batches on the caller's thread when SQLite's lock is free."""

    def __init__(self, path: str, pragmas: Callable[[Any], None]) -> None:
        self.path = path
        self.pragmas = pragmas
        self._conn: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self.pragmas(conn)
            conn.execute("PRAGMA wal_autocheckpoint=0")  # checkpoints (fsync) stay off the loop
            conn.execute("PRAGMA busy_timeout=0")  # never sleep on the loop
            self._conn = conn
        return self._conn

    def _begun(self) -> sqlite3.Connection | None:
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                return None
            raise
        return conn

    def write_all(self, work: Work) -> bool:
        """False when SQLite's lock is held elsewhere (nothing was done): run it where waiting is allowed."""
        conn = self._begun()
        if conn is None:
            return False
        write_all(conn, work, begin=False)
        return True

    def write_each(self, groups: list[Work]) -> list[Exception | None] | None:
        """Each group's outcome, or None when SQLite's lock is held elsewhere (nothing was done)."""
        conn = self._begun()
        return None if conn is None else write_each(conn, groups, begin=False)

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
