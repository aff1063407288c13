"""The lease keeper beside a stream of creations: a full engine does not claim per creation, claims stay
small while creations arrive (a backlog still starts right after), and many leases renew in chunks."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from sqlalchemy import select, update

from aerodrome.db.engine import Database
from aerodrome.db.models import ExecutionRow
from aerodrome.engine.leases import BUSY_CLAIM, RENEW_CHUNK, LeaseKeeper
from aerodrome.settings import LeaseSettings
from tests.unit.engine.test_leases import FakeDriver, execution, keeper, run_on_both


def test_a_full_engine_claims_aborting_work_on_a_terminate_or_in_time_not_on_each_creation(tmp_path: Path) -> None:
    """A full engine's claim on a creation's nudge would find nothing it can take: it is skipped (no write
    transaction beside each request), yet an ABORTING execution nobody drives is claimed at once after a
    terminate in this process, and within claim_seconds otherwise."""

    async def scenario(db: Database) -> None:
        settings = LeaseSettings(ttl_seconds=30, claim_seconds=0.3, heartbeat_seconds=60)
        full = LeaseKeeper(db, settings, version="t")
        driver = FakeDriver(room=0)
        full._driver = driver
        await full.claim()  # finds nothing
        async with db.transaction(write=True) as uow:
            await uow.add_all([execution("stopping", "ABORTING"), execution("later", "ABORTING")])
        await full.claim()  # a creation's nudge
        assert driver.driven == {}
        await full.announce_abort("p", "d", "stopping")
        await full.claim()
        assert sorted(x.name for x in driver.driven.values()) == ["later", "stopping"]
        async with db.transaction(write=True) as uow:
            await uow.add_all([execution("expired", "ABORTING")])
        await full.claim()
        assert len(driver.driven) == 2
        await asyncio.sleep(0.35)
        await full.claim()  # claim_seconds later
        assert "expired" in [x.name for x in driver.driven.values()]

    run_on_both(tmp_path, scenario)


def test_while_creations_arrive_claims_stay_small_and_a_backlog_still_starts_at_once(tmp_path: Path) -> None:
    """Creations in this process (``created``) keep each claim to BUSY_CLAIM executions, so the first events
    of one claim's starts hold the event loop only briefly; what is left is claimed right after, not a
    claim_seconds later (60 s here), and every execution exactly once."""

    async def scenario(db: Database) -> None:
        one = keeper(db)
        driver = FakeDriver(room=1000)
        claims: list[int] = []
        claim = one.claim

        async def counted() -> None:
            before = len(driver.driven)
            await claim()
            if len(driver.driven) > before:
                claims.append(len(driver.driven) - before)

        one.claim = counted  # type: ignore[method-assign]
        await one.start(driver)
        await asyncio.sleep(0.1)  # the claim at start, of nothing
        started = time.monotonic()
        try:
            one.created()  # creations go on meanwhile
            async with db.transaction(write=True) as uow:
                await uow.add_all([execution(f"b{i}") for i in range(50)])  # arrived through another process
            for i in range(20):
                async with db.transaction(write=True) as uow:
                    await uow.add_all([execution(f"e{i}")])
                one.created()
                await asyncio.sleep(0.005)
            for _ in range(500):
                if len(driver.driven) == 70:
                    break
                await asyncio.sleep(0.02)
        finally:
            await one.stop()
        names = sorted(leased.name for leased in driver.driven.values())
        assert names == sorted([f"b{i}" for i in range(50)] + [f"e{i}" for i in range(20)])
        assert sum(claims) == 70 and max(claims) <= BUSY_CLAIM, claims
        assert time.monotonic() - started < 5

    run_on_both(tmp_path, scenario)


def test_many_leases_are_renewed_in_chunks_and_a_lost_one_in_any_chunk_is_dropped(tmp_path: Path) -> None:
    """The heartbeat renews RENEW_CHUNK leases per transaction (one UPDATE of thousands held SQLite's write
    lock ~100-200 ms, which a CreateExecution waited for); every lease is still renewed, and one taken over
    by another process is dropped whichever chunk it is in."""

    async def scenario(db: Database) -> None:
        count = RENEW_CHUNK * 2 + 10
        async with db.transaction(write=True) as uow:
            await uow.add_all([execution(f"e{i}") for i in range(count)])
        one = keeper(db)
        driver = FakeDriver(room=count)
        one._driver = driver
        await one.claim()
        assert len(driver.driven) == count
        stolen = sorted(driver.driven)[RENEW_CHUNK + 5]  # in the second chunk
        async with db.transaction(write=True) as uow:
            await uow.session.execute(update(ExecutionRow).where(ExecutionRow.id == stolen).values(lease_owner="x"))
            await uow.session.execute(update(ExecutionRow).values(lease_expires_at=None))
        await one.heartbeat()
        assert driver.dropped == [stolen]
        async with db.transaction() as uow:
            renewed = (
                await uow.session.scalars(
                    select(ExecutionRow.id).where(
                        ExecutionRow.lease_owner == one.owner, ExecutionRow.lease_expires_at.is_not(None)
                    )
                )
            ).all()
        assert sorted(renewed) == sorted(set(driver.driven))

    run_on_both(tmp_path, scenario)
