"""Database.insert: all-or-nothing new rows, duplicates as AlreadyExists, the same on every path and backend.

SQLite runs three times: on the event loop (when SQLite's lock is free), through the one-hop path on
aiosqlite's thread (where it waits when the lock is held elsewhere) and through the Core fallback taken when
that path is unavailable, so all of them are shown to store the same values.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from tests.support.postgres import fresh_database

from aerodrome.db import engine, inserts
from aerodrome.db.engine import Database
from aerodrome.db.inserts import NewRow, row_values, table_of
from aerodrome.db.migrate import upgrade
from aerodrome.db.models import DescriptionEntityRow, TaskRow
from aerodrome.errors import AlreadyExists

TASKS = table_of(TaskRow)
DESCRIPTIONS = table_of(DescriptionEntityRow)


def task(version: str, *, name: str = "t", digest: bytes = b"d") -> NewRow:
    return TASKS, {
        "project": "p",
        "domain": "development",
        "name": name,
        "version": version,
        "closure": b"\x00closure",
        "digest": digest,
        "type": "python-task",
    }


def description(version: str) -> NewRow:
    return DESCRIPTIONS, {
        "resource_type": 1,
        "project": "p",
        "domain": "development",
        "name": "t",
        "version": version,
        "long_description": b"long",
    }


@pytest.fixture(params=["sqlite", "sqlite-hop", "sqlite-core", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if request.param == "postgres":
        with fresh_database() as pg:
            yield pg
        return
    if request.param in ("sqlite-hop", "sqlite-core"):
        monkeypatch.setattr(engine, "LoopConnection", lambda path, pragmas: None)
    if request.param == "sqlite-core":
        monkeypatch.setattr(inserts, "_driver_thread", lambda driver: None)
    yield f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"


def run(url: str, scenario: Any) -> None:
    async def main() -> None:
        db = Database(url)
        try:
            await upgrade(db)
            await scenario(db)
        finally:
            await db.dispose()

    asyncio.run(main())


async def stored(db: Database) -> list[TaskRow]:
    async with db.transaction() as uow:
        return list((await uow.session.scalars(select(TaskRow).order_by(TaskRow.version))).all())


def test_rows_of_two_tables_are_written_with_defaults(url: str) -> None:
    async def scenario(db: Database) -> None:
        before = datetime.now(UTC)
        await db.insert([task("v1"), description("v1"), task("v2")])
        rows = await stored(db)
        assert [r.version for r in rows] == ["v1", "v2"]
        first = rows[0]
        assert (first.closure, first.digest, first.type, first.short_description) == (
            b"\x00closure",
            b"d",
            "python-task",
            "",
        )
        assert first.created_at >= before and first.created_at.tzinfo is not None
        assert first.deleted_at is None
        async with db.transaction() as uow:
            found = await uow.session.scalars(select(DescriptionEntityRow))
            (entity,) = found.all()
        assert (entity.long_description, entity.link, entity.short_description) == (b"long", "", "")

    run(url, scenario)


def test_a_duplicate_writes_nothing_of_its_batch(url: str) -> None:
    async def scenario(db: Database) -> None:
        await db.insert([task("v1")])
        with pytest.raises(AlreadyExists, match="value with matching already exists"):
            await db.insert([task("v0"), description("v0"), task("v1", digest=b"other")])
        assert [r.version for r in await stored(db)] == ["v1"]
        async with db.transaction() as uow:
            assert (await uow.session.scalars(select(DescriptionEntityRow))).all() == []
        await db.insert([task("v0")])  # the connection is usable again: no transaction was left open
        assert [r.version for r in await stored(db)] == ["v0", "v1"]

    run(url, scenario)


def test_each_group_of_a_shared_transaction_gets_its_own_outcome(url: str) -> None:
    """insert_each: a duplicate undoes only its own group (task and description), the others are written."""

    async def scenario(db: Database) -> None:
        await db.insert([task("taken")])
        outcomes = await db.insert_each(
            [[task("v0")], [task("v1"), description("v1"), task("taken")], [task("v2"), description("v2")]]
        )
        assert outcomes[0] is None and outcomes[2] is None
        assert isinstance(outcomes[1], AlreadyExists)
        assert "value with matching already exists" in str(outcomes[1])
        assert [r.version for r in await stored(db)] == ["taken", "v0", "v2"]
        async with db.transaction() as uow:
            found = await uow.session.scalars(select(DescriptionEntityRow.version))
            assert found.all() == ["v2"]
        await db.insert([task("v1")])  # the connection is usable again: no transaction or savepoint left open
        assert [r.version for r in await stored(db)] == ["taken", "v0", "v1", "v2"]

    run(url, scenario)


def test_row_values_fill_every_column_the_same_way() -> None:
    values = row_values(TASKS, task("v1")[1])
    assert set(values) == {c.key for c in TASKS.columns} - {"id"}
    assert values["short_description"] == "" and values["deleted_at"] is None
    assert isinstance(values["created_at"], datetime)


def test_sqlite_batches_take_the_one_hop_path(tmp_path: Path) -> None:
    """Guards the aiosqlite entry point: if it disappears, this fails instead of silently slowing down."""

    async def main() -> None:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}")
        try:
            await upgrade(db)
            await db.insert([task("v1")])
            assert db._inserter is not None and db._inserter._runners is not None
        finally:
            await db.dispose()

    asyncio.run(main())


def _hold_lock(path: Path, seconds: float, held: threading.Event) -> None:
    """Another connection (as another process would) holds SQLite's write lock for a while."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    held.set()
    time.sleep(seconds)
    conn.execute("COMMIT")
    conn.close()


def test_inserts_run_on_the_loop_yet_wait_for_a_held_lock_off_it(tmp_path: Path) -> None:
    """The batch runs on the event loop when SQLite's lock is free; while another connection holds it, the
    batch waits on aiosqlite's thread and the loop keeps running (on the loop it would have frozen)."""
    path = tmp_path / "a.db"

    async def main() -> tuple[int, float, list[str]]:
        db = Database(f"sqlite+aiosqlite:///{path}")
        try:
            await upgrade(db)
            await db.insert([task("v0")])
            assert db._inserter is not None and db._inserter._loop_conn is not None
            assert db._inserter._loop_conn._conn is not None  # the loop's connection did it
            held = threading.Event()
            holder = threading.Thread(target=_hold_lock, args=(path, 1.0, held))
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
            outcomes = await db.insert_each([[task("v1")], [task("v0")]])
            waited = time.monotonic() - started
            ticker.cancel()
            holder.join()
            assert outcomes[0] is None and isinstance(outcomes[1], AlreadyExists)
            await db.insert([task("v2")])  # the loop's connection is fine after the busy begin
            return ticks, waited, [r.version for r in await stored(db)]
        finally:
            await db.dispose()

    ticks, waited, versions = asyncio.run(main())
    assert versions == ["v0", "v1", "v2"]
    assert waited > 0.5  # it did wait for the other connection
    assert ticks > 10  # and the loop ran meanwhile
