"""Group commit: concurrent callers share a transaction, yet each gets exactly its own outcome."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.support.postgres import fresh_database

from aerodrome.db.batching import InsertBatcher
from aerodrome.db.engine import Database
from aerodrome.db.inserts import NewRow, table_of
from aerodrome.db.migrate import upgrade
from aerodrome.db.models import TaskRow
from aerodrome.errors import AlreadyExists

TASKS = table_of(TaskRow)


def task(version: str) -> NewRow:
    return TASKS, {"project": "p", "domain": "d", "name": "t", "version": version, "closure": b"", "digest": b""}


class CountingDatabase(Database):
    """A real database that counts the write transactions the batcher asks of it."""

    writes = 0

    async def insert(self, rows: Sequence[NewRow]) -> None:
        self.writes += 1
        await super().insert(rows)

    async def insert_each(self, groups: Sequence[Sequence[NewRow]]) -> list[Exception | None]:
        self.writes += 1
        return await super().insert_each(groups)


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "postgres":
        with fresh_database() as pg:
            yield pg
        return
    yield f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"


def test_concurrent_inserts_with_one_duplicate(url: str) -> None:
    """One duplicate in a batch of ten costs the batch one turn at the database (``insert_each``: a savepoint
    per caller), not a write transaction per caller; each caller still gets its own outcome."""

    async def main() -> list[str]:
        db = CountingDatabase(url)
        try:
            await upgrade(db)
            batcher = InsertBatcher(db)
            await batcher.insert([task("taken")])
            versions = [f"v{i}" for i in range(10)]
            versions[5] = "taken"
            db.writes = 0
            outcomes = await asyncio.gather(*(batcher.insert([task(v)]) for v in versions), return_exceptions=True)
            assert [type(o) for o in outcomes] == [type(None)] * 5 + [AlreadyExists] + [type(None)] * 4
            assert db.writes == 1
            with pytest.raises(AlreadyExists):
                await batcher.insert([task("v0")])
            async with db.transaction() as uow:
                return list((await uow.session.scalars(select(TaskRow.version).order_by(TaskRow.version))).all())
        finally:
            await db.dispose()

    assert asyncio.run(main()) == sorted(["taken", *(f"v{i}" for i in range(10) if i != 5)])


def test_a_cancelled_caller_does_not_disturb_the_batch(tmp_path: Path) -> None:
    async def main() -> list[str]:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}")
        try:
            await upgrade(db)
            batcher = InsertBatcher(db)
            calls = [asyncio.create_task(batcher.insert([task(f"v{i}")])) for i in range(4)]
            await asyncio.sleep(0)  # all four are queued
            calls[2].cancel()
            outcomes = await asyncio.gather(*calls, return_exceptions=True)
            assert isinstance(outcomes[2], asyncio.CancelledError)
            assert [outcomes[i] for i in (0, 1, 3)] == [None, None, None]
            async with db.transaction() as uow:
                return list((await uow.session.scalars(select(TaskRow.version).order_by(TaskRow.version))).all())
        finally:
            await db.dispose()

    # The cancelled caller's rows were already queued: they are written, as after a late cancellation.
    assert asyncio.run(main()) == ["v0", "v1", "v2", "v3"]
