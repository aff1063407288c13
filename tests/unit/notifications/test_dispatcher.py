"""The outbox over real databases: lanes claimed once across processes (PostgreSQL SKIP LOCKED), delivered in
order, retried with backoff behind a failing row, and recorded as failed after the limit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from aerodrome.db import migrate
from aerodrome.db.engine import Database
from aerodrome.db.models import OutboxRow
from aerodrome.notifications.dispatcher import Dispatcher, backoff
from aerodrome.settings import EventSettings
from tests.support.postgres import fresh_database


def _row(lane: str, n: int) -> OutboxRow:
    return OutboxRow(
        sink="test",
        lane=f"test|p/d/{lane}",
        kind="workflow",
        message_id=f"{lane}-{n}",
        execution_project="p",
        execution_domain="d",
        execution_name=lane,
        payload=f"{lane}-{n}".encode(),
        status="pending",
        attempts=0,
        next_attempt_at=datetime.now(UTC) - timedelta(seconds=1),
        last_error="",
    )


class FlakySink:
    """Records deliveries in order; fails the messages named in ``failures`` that many times."""

    def __init__(self, failures: dict[str, int] | None = None) -> None:
        self.failures = dict(failures or {})
        self.attempts: list[str] = []
        self.delivered: list[str] = []

    async def deliver(self, row: OutboxRow) -> None:
        self.attempts.append(row.message_id)
        if self.failures.get(row.message_id, 0) > 0:
            self.failures[row.message_id] -= 1
            raise ConnectionRefusedError("sink is down")
        self.delivered.append(row.message_id)

    async def close(self) -> None:
        return None


async def _db(url: str) -> Database:
    db = Database(url)
    await migrate.upgrade(db)
    return db


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    db = await _db(f"sqlite+aiosqlite:///{tmp_path / 'outbox.db'}")
    yield db
    await db.dispose()


async def _add(db: Database, rows: list[OutboxRow]) -> None:
    async with db.transaction(write=True) as uow:
        uow.session.add_all(rows)


async def _drain(dispatcher: Dispatcher, rounds: int = 50) -> None:
    """Run rounds as the service would (outcomes written in the background on SQLite), then stop it."""
    for _ in range(rounds):
        if not await dispatcher.drain_once():
            await dispatcher.flush()
            await asyncio.sleep(0.02)
    await dispatcher.stop()


async def test_lanes_are_delivered_in_order_and_wait_behind_a_failing_row(sqlite_db: Database) -> None:
    await _add(sqlite_db, [_row("a", 1), _row("b", 1), _row("a", 2), _row("a", 3), _row("b", 2)])
    sink = FlakySink({"a-2": 2})
    settings = EventSettings(backoff_initial_seconds=0.01, backoff_max_seconds=0.02, max_attempts=5)
    await _drain(Dispatcher(sqlite_db, {"test": sink}, settings))
    assert [m for m in sink.delivered if m.startswith("a")] == ["a-1", "a-2", "a-3"]
    assert [m for m in sink.delivered if m.startswith("b")] == ["b-1", "b-2"]
    assert [m for m in sink.attempts if m.startswith("a")] == ["a-1", "a-2", "a-2", "a-2", "a-3"]
    async with sqlite_db.transaction() as uow:
        assert (await uow.outbox.stats()).pending == 0


async def test_a_row_that_keeps_failing_is_recorded_as_failed_and_the_lane_moves_on(sqlite_db: Database) -> None:
    await _add(sqlite_db, [_row("a", 1), _row("a", 2)])
    sink = FlakySink({"a-1": 100})
    settings = EventSettings(backoff_initial_seconds=0.01, backoff_max_seconds=0.01, max_attempts=3)
    await _drain(Dispatcher(sqlite_db, {"test": sink}, settings))
    assert sink.attempts == ["a-1", "a-1", "a-1", "a-2"]
    async with sqlite_db.transaction() as uow:
        failed = await uow.outbox.failures()
        stats = await uow.outbox.stats()
    assert [(r.message_id, r.attempts) for r in failed] == [("a-1", 3)]
    assert "ConnectionRefusedError: sink is down" in failed[0].last_error
    assert (stats.pending, stats.failed) == (0, 1)


async def test_an_unknown_sink_fails_at_once(sqlite_db: Database) -> None:
    await _add(sqlite_db, [_row("a", 1)])
    await _drain(Dispatcher(sqlite_db, {}, EventSettings()), rounds=2)
    async with sqlite_db.transaction() as uow:
        (failed,) = await uow.outbox.failures()
    assert failed.attempts == 1 and "not configured" in failed.last_error


async def test_a_claimed_lane_is_hidden_until_released_or_expired(sqlite_db: Database) -> None:
    await _add(sqlite_db, [_row("a", 1), _row("a", 2), _row("b", 1)])
    now = datetime.now(UTC)
    async with sqlite_db.transaction(write=True) as uow:
        first = await uow.outbox.claim(now, now + timedelta(seconds=30), 10)
    assert [r.message_id for r in first] == ["a-1", "a-2", "b-1"]
    async with sqlite_db.transaction(write=True) as uow:
        assert await uow.outbox.claim(now, now + timedelta(seconds=30), 10) == []
        later = now + timedelta(seconds=31)  # the claimer died: its claim runs out
        assert len(await uow.outbox.claim(later, later + timedelta(seconds=30), 10)) == 3


def test_backoff_doubles_up_to_the_cap() -> None:
    settings = EventSettings(backoff_initial_seconds=0.5, backoff_max_seconds=3)
    assert [backoff(settings, n) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_two_processes_never_claim_one_lane_on_postgres() -> None:
    """Two dispatchers (two engines, as two processes) claim concurrently; no lane is held by both."""

    async def scenario(url: str) -> None:
        one, two = await _db(url), Database(url)
        try:
            await _add(one, [_row(lane, n) for n in range(1, 4) for lane in "abcdefghij"])
            now = datetime.now(UTC)

            async def claim(db: Database) -> list[str]:
                async with db.transaction(write=True) as uow:
                    rows = await uow.outbox.claim(now, now + timedelta(seconds=30), 100)
                    await asyncio.sleep(0.05)  # hold the locks while the other one tries
                    return [r.lane for r in rows]

            first, second = await asyncio.gather(claim(one), claim(two))
            assert not set(first) & set(second)
            assert len(set(first) | set(second)) == 10
            async with one.transaction() as uow:
                claimed = (await uow.session.execute(select(OutboxRow.claimed_until))).scalars().all()
            assert all(c is not None for c in claimed)
        finally:
            await one.dispose()
            await two.dispose()

    with fresh_database() as url:
        asyncio.run(scenario(url))


async def test_an_idle_dispatcher_sleeps_until_a_lane_head_is_due(sqlite_db: Database) -> None:
    """Rows queued behind a head that backs off are not due, or the dispatcher would spin while a sink is down."""
    later = datetime.now(UTC) + timedelta(seconds=60)
    head, behind = _row("a", 1), _row("a", 2)
    head.next_attempt_at = later
    await _add(sqlite_db, [head, behind])
    async with sqlite_db.transaction() as uow:
        assert await uow.outbox.next_due() == later
    async with sqlite_db.transaction(write=True) as uow:
        assert await uow.outbox.claim(datetime.now(UTC), later, 10) == []


def test_only_events_that_added_outbox_rows_wake_the_dispatcher(tmp_path: Path) -> None:
    """An event stored without outbox rows (no sink, no notification) gives the dispatcher nothing to send;
    waking it anyway cost two reads per event of every node."""
    from flyteidl.core import identifier_pb2

    from aerodrome.managers.events import Recorded

    dispatcher = Dispatcher(Database(f"sqlite+aiosqlite:///{tmp_path / 'o.db'}"), {}, EventSettings())
    ex = identifier_pb2.WorkflowExecutionIdentifier(project="p", domain="d", name="e")
    dispatcher._on_event(Recorded("node", ex, "RUNNING", node_id="n0"))
    assert not dispatcher._wake.is_set()
    dispatcher._on_event(Recorded("workflow", ex, "SUCCEEDED", outboxed=True))
    assert dispatcher._wake.is_set()
