"""Leases on a real database: claims up to capacity, expiry, renewal, loss, hand-back, the SQLite lock.

Runs on SQLite always and on PostgreSQL when ``AERODROME_TEST_DATABASE_URL`` is set (there two keepers
claim concurrently and never take the same execution).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from aerodrome.db.engine import Database
from aerodrome.db.migrate import upgrade
from aerodrome.db.models import EngineProcessRow, ExecutionRow
from aerodrome.db.repositories.leases import Leased
from aerodrome.engine.leases import LeaseKeeper
from aerodrome.engine.sqlite_lock import DatabaseInUse, SqliteLock
from aerodrome.settings import LeaseSettings
from tests.support.postgres import fresh_database


class FakeDriver:
    """Records what the keeper asks of the engine; capacity is set by the test."""

    def __init__(self, room: int) -> None:
        self.room = room
        self.driven: dict[int, Leased] = {}
        self.dropped: list[int] = []
        self.aborted: list[str] = []

    def capacity(self) -> int:
        return self.room - len(self.driven)

    def driving(self) -> list[int]:
        return list(self.driven)

    def task_processes(self) -> int:
        return 0

    def drive(self, leased: Leased) -> None:
        self.driven[leased.id] = leased

    def drop(self, row_id: int) -> None:
        self.dropped.append(row_id)
        self.driven.pop(row_id, None)

    def abort(self, project: str, domain: str, name: str) -> None:
        self.aborted.append(name)


def execution(name: str, phase: str = "QUEUED") -> ExecutionRow:
    now = datetime.now(UTC)
    return ExecutionRow(
        execution_project="p",
        execution_domain="d",
        execution_name=name,
        phase=phase,
        closure=b"",
        spec=b"",
        execution_created_at=now,
        execution_updated_at=now,
    )


@asynccontextmanager
async def database(url: str) -> AsyncIterator[Database]:
    db = Database(url)
    try:
        await upgrade(db)
        yield db
    finally:
        await db.dispose()


def keeper(db: Database, ttl: float = 30.0) -> LeaseKeeper:
    return LeaseKeeper(db, LeaseSettings(ttl_seconds=ttl, claim_seconds=60, heartbeat_seconds=60), version="t")


async def owners(db: Database) -> dict[str, str]:
    async with db.transaction() as uow:
        rows = (await uow.session.execute(select(ExecutionRow.execution_name, ExecutionRow.lease_owner))).all()
    return {name: owner for name, owner in rows}


def run_on_both(tmp_path: Path, scenario: Callable[[Database], Awaitable[None]]) -> None:
    asyncio.run(_run(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}", scenario))
    if os.environ.get("AERODROME_TEST_DATABASE_URL"):
        with fresh_database() as url:
            asyncio.run(_run(url, scenario))


async def _run(url: str, scenario: Callable[[Database], Awaitable[None]]) -> None:
    async with database(url) as db:
        await scenario(db)


def test_claims_up_to_capacity_and_skips_finished_and_leased(tmp_path: Path) -> None:
    async def scenario(db: Database) -> None:
        async with db.transaction(write=True) as uow:
            await uow.add_all([execution(f"e{i}") for i in range(5)] + [execution("done", "SUCCEEDED")])
        first, second = keeper(db), keeper(db)
        a, b = FakeDriver(room=3), FakeDriver(room=10)
        first._driver, second._driver = a, b
        await first.claim()
        assert sorted(x.name for x in a.driven.values()) == ["e0", "e1", "e2"]  # oldest first, up to capacity
        await second.claim()
        assert sorted(x.name for x in b.driven.values()) == ["e3", "e4"]  # live leases are not taken
        await first.claim()  # full: nothing more
        assert len(a.driven) == 3

    run_on_both(tmp_path, scenario)


def test_a_full_engine_still_claims_what_is_being_aborted(tmp_path: Path) -> None:
    async def scenario(db: Database) -> None:
        async with db.transaction(write=True) as uow:
            await uow.add_all([execution("queued"), execution("stopping", "ABORTING")])
        full = keeper(db)
        driver = FakeDriver(room=0)
        full._driver = driver
        await full.claim()
        assert [x.name for x in driver.driven.values()] == ["stopping"]  # aborting needs no room

    run_on_both(tmp_path, scenario)


def test_expired_leases_are_taken_over_and_the_loser_drops_them(tmp_path: Path) -> None:
    async def scenario(db: Database) -> None:
        async with db.transaction(write=True) as uow:
            await uow.add_all([execution("e0"), execution("e1")])
        dead, alive = keeper(db), keeper(db)
        gone, taker = FakeDriver(room=10), FakeDriver(room=10)
        dead._driver, alive._driver = gone, taker
        await dead.claim()
        past = datetime.now(UTC) - timedelta(seconds=1)
        async with db.transaction(write=True) as uow:  # e0's lease expires (its owner stopped beating)
            await uow.session.execute(
                update(ExecutionRow).where(ExecutionRow.execution_name == "e0").values(lease_expires_at=past)
            )
        await alive.claim()
        assert [x.name for x in taker.driven.values()] == ["e0"]
        await dead.heartbeat()  # the stalled owner finds e0 taken and stops driving it, keeps e1
        assert [gone.driven[i].name for i in gone.driven] == ["e1"] and len(gone.dropped) == 1
        assert await owners(db) == {"e0": alive.owner, "e1": dead.owner}
        await dead.listener.close()

    run_on_both(tmp_path, scenario)


def test_heartbeat_aborts_what_is_aborting_and_stop_hands_everything_back(tmp_path: Path) -> None:
    async def scenario(db: Database) -> None:
        async with db.transaction(write=True) as uow:
            await uow.add_all([execution("e0"), execution("e1")])
        one, other = keeper(db), keeper(db)
        driver = FakeDriver(room=10)
        one._driver, other._driver = driver, FakeDriver(room=10)
        await one.claim()
        await one.beat()
        async with db.transaction(write=True) as uow:
            await uow.session.execute(
                update(ExecutionRow).where(ExecutionRow.execution_name == "e1").values(phase="ABORTING")
            )
        await one.heartbeat()
        assert driver.aborted == ["e1"]
        async with db.transaction() as uow:
            assert [p.owner for p in await uow.processes.all()] == [one.owner]
        await one.stop()  # graceful: leases handed back at once, the process row removed
        await other.claim()
        assert len(other._driver.driving()) == 2  # type: ignore[union-attr]
        async with db.transaction() as uow:
            assert (await uow.session.execute(select(EngineProcessRow))).first() is None

    run_on_both(tmp_path, scenario)


def test_a_skewed_clock_does_not_steal_live_leases(monkeypatch: pytest.MonkeyPatch) -> None:
    """On PostgreSQL lease times are the database's: a process whose clock runs an hour ahead claims
    nothing that another process holds."""
    if not os.environ.get("AERODROME_TEST_DATABASE_URL"):
        pytest.skip("lease times come from the database's clock on PostgreSQL only")
    import aerodrome.db.models.base as base
    import aerodrome.db.repositories.leases as leases_sql

    async def scenario(db: Database) -> None:
        async with db.transaction(write=True) as uow:
            await uow.add_all([execution("e0")])
        honest, skewed = keeper(db), keeper(db)
        honest._driver, skewed._driver = FakeDriver(room=10), FakeDriver(room=10)
        await honest.claim()
        ahead = lambda: datetime.now(UTC) + timedelta(hours=1)  # noqa: E731
        monkeypatch.setattr(base, "utcnow", ahead)
        monkeypatch.setattr(leases_sql, "utcnow", ahead)
        await skewed.claim()
        assert skewed._driver.driving() == [] and len(honest._driver.driving()) == 1

    with fresh_database() as url:
        asyncio.run(_run(url, scenario))


def test_a_second_sqlite_process_is_refused(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"
    first, second = SqliteLock.for_url(url), SqliteLock.for_url(url)
    assert first is not None and second is not None
    first.acquire()
    with pytest.raises(DatabaseInUse, match="SQLite is for one process"):
        second.acquire()
    first.release()
    second.acquire()  # free again once the holder is gone
    second.release()
    assert SqliteLock.for_url("sqlite+aiosqlite:///:memory:") is None


def test_a_burst_is_claimed_in_batches_and_each_execution_once(tmp_path: Path) -> None:
    """Creations nudge the claim loop once each; under a burst the gap before the next claim grows with what
    the last claim took (20 ms per execution, up to 100 ms), so a few claims take them all, every execution
    exactly once; a lone creation is claimed at once. Timed by the gaps themselves (a sleep is a lower bound
    however loaded the machine), not by a count of claims, which depends on how fast the inserts ran."""

    async def scenario(db: Database) -> None:
        one = keeper(db)
        driver = FakeDriver(room=1000)
        claims: list[tuple[float, int]] = []  # (when the claim started, how many it took)
        claim = one.claim

        async def counted() -> None:
            before, when = len(driver.driven), time.monotonic()
            await claim()
            if len(driver.driven) > before:
                claims.append((when, len(driver.driven) - before))

        async def settled(count: int) -> None:
            for _ in range(500):
                if len(driver.driven) == count:
                    return
                await asyncio.sleep(0.02)

        one.claim = counted  # type: ignore[method-assign]
        await one.start(driver)
        try:
            async with db.transaction(write=True) as uow:
                await uow.add_all([execution("e0")])
            nudged = time.monotonic()
            one.nudge()
            await settled(1)
            assert [n for _, n in claims] == [1] and claims[0][0] - nudged < 0.5  # alone, at once
            for i in range(1, 40):
                async with db.transaction(write=True) as uow:
                    await uow.add_all([execution(f"e{i}")])
                one.nudge()
                await asyncio.sleep(0.005)
            await settled(40)
        finally:
            await one.stop()
        assert sorted(leased.name for leased in driver.driven.values()) == sorted(f"e{i}" for i in range(40))
        sizes = [n for _, n in claims]
        assert sum(sizes) == 40 and len(sizes) < 40 and max(sizes) > 1, sizes
        for (previous, took), (started, _) in itertools.pairwise(claims):
            assert started - previous >= min(0.02 * took, 0.1) - 0.005, (sizes, started - previous, took)

    run_on_both(tmp_path, scenario)
