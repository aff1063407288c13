"""Database.write_sync on SQLite: the event loop never sleeps on SQLite's lock. While another connection holds
it, the transaction waits on a worker thread and the loop keeps running (it once froze the server: the
holder could not finish, and the server could not even stop)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from aerodrome.db.engine import Database
from aerodrome.db.migrate import upgrade
from aerodrome.db.models import TaskRow


def add_task(version: str) -> object:
    def body(session: Session) -> str:
        session.add(TaskRow(project="p", domain="d", name="t", version=version, closure=b"", digest=b""))
        return version

    return body


def hold_lock(path: Path, seconds: float, held: threading.Event) -> None:
    """Another connection (as another process would) holds SQLite's write lock for a while."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    held.set()
    time.sleep(seconds)
    conn.execute("COMMIT")
    conn.close()


def test_a_held_lock_is_waited_for_off_the_loop(tmp_path: Path) -> None:
    path = tmp_path / "a.db"

    async def main() -> tuple[int, float, list[str]]:
        db = Database(f"sqlite+aiosqlite:///{path}")
        try:
            await upgrade(db)
            await db.write_sync(add_task("v0"))  # the fast path, on the loop
            held = threading.Event()
            holder = threading.Thread(target=hold_lock, args=(path, 1.0, held))
            holder.start()
            await asyncio.to_thread(held.wait)
            ticks = 0

            async def tick() -> None:
                nonlocal ticks
                while True:
                    await asyncio.sleep(0.01)
                    ticks += 1

            ticker = asyncio.create_task(tick())
            started = time.monotonic()
            await db.write_sync(add_task("v1"))
            waited = time.monotonic() - started
            ticker.cancel()
            holder.join()
            await db.write_sync(add_task("v2"))  # the connection is fine after the busy begin
            async with db.transaction() as uow:
                versions = list((await uow.session.scalars(select(TaskRow.version).order_by(TaskRow.version))).all())
            return ticks, waited, versions
        finally:
            await db.dispose()

    ticks, waited, versions = asyncio.run(main())
    assert versions == ["v0", "v1", "v2"]
    assert waited > 0.5  # it did wait for the other connection
    assert ticks > 10  # and the loop ran meanwhile (blocked, it would have ticked at most once)
