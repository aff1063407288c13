"""Nudges between the processes sharing a PostgreSQL database: ``LISTEN``/``NOTIFY`` on one channel.

A nudge only says "look now" (a terminate for an execution another process drives, new work while this
process is full); the database rows stay the truth, and every listener also polls, so a nudge lost while
the connection was down delays work by a poll interval and loses nothing. SQLite has one process: no
channel, nudges stay in-process.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import func as sql_func
from sqlalchemy import select
from sqlalchemy.engine import make_url

from aerodrome.db.engine import Database

CHANNEL = "aerodrome_engine"
log = logging.getLogger("aerodrome.engine")


async def notify(db: Database, payload: str) -> None:
    """Send one nudge to every listening process (no-op on SQLite)."""
    if db.is_sqlite:
        return
    async with db.transaction(write=True) as uow:
        await uow.session.execute(select(sql_func.pg_notify(CHANNEL, payload)))


class Listener:
    """One dedicated asyncpg connection listening on the channel, reconnected when it drops."""

    def __init__(self, db: Database, on_message: Callable[[str], None]) -> None:
        self.db = db
        self.on_message = on_message
        self._conn: Any = None

    def _dsn(self) -> str:
        return make_url(self.db.url).set(drivername="postgresql").render_as_string(hide_password=False)

    def _receive(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            self.on_message(payload)
        except Exception:  # a handler bug must not close the listening connection
            log.exception("handling the nudge %r failed", payload)

    async def ensure(self) -> None:
        """Connect and LISTEN unless a live connection already does (called on every heartbeat)."""
        if self.db.is_sqlite or (self._conn is not None and not self._conn.is_closed()):
            return
        import asyncpg  # type: ignore[import-untyped]  # PostgreSQL only

        await self.close()
        try:
            self._conn = await asyncpg.connect(self._dsn(), timeout=5)
            await self._conn.add_listener(CHANNEL, self._receive)
        except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
            log.warning("cannot listen for nudges yet (%s); polling meanwhile", exc)
            await self.close()

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close(timeout=2)
