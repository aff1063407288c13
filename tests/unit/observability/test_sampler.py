"""The scrape-time sample on both backends: executions by phase, unexpired leases per owner, pool use."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from aerodrome.db.engine import Database
from aerodrome.db.migrate import upgrade
from aerodrome.db.models import ExecutionRow
from aerodrome.observability.metrics import Metrics
from aerodrome.observability.sampler import Sampler
from tests.support.postgres import fresh_database


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "postgres":
        with fresh_database() as pg:
            yield pg
        return
    yield f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"


def execution(name: str, phase: str, owner: str = "", expires: datetime | None = None) -> ExecutionRow:
    now = datetime.now(UTC)
    return ExecutionRow(
        execution_project="p",
        execution_domain="development",
        execution_name=name,
        phase=phase,
        closure=b"",
        spec=b"",
        execution_created_at=now,
        execution_updated_at=now,
        lease_owner=owner,
        lease_expires_at=expires,
    )


def samples(text: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text.decode())
        for s in family.samples
    }


def test_sample_counts_phases_live_leases_and_pool(url: str) -> None:
    async def scenario() -> bytes:
        db = Database(url, pool_size=3)
        try:
            await upgrade(db)
            soon, gone = datetime.now(UTC) + timedelta(minutes=5), datetime.now(UTC) - timedelta(minutes=5)
            async with db.transaction(write=True) as uow:
                await uow.add_all(
                    [
                        execution("a", "RUNNING", "p1", soon),
                        execution("b", "RUNNING", "p1", soon),
                        execution("c", "RUNNING", "p2", gone),  # expired: no longer held
                        execution("d", "SUCCEEDED", "p2"),
                    ]
                )
            return await Sampler(Metrics(), db, lambda: 7).render()
        finally:
            await db.dispose()

    got = samples(asyncio.run(scenario()))
    assert got[("aerodrome_executions", (("phase", "RUNNING"),))] == 3
    assert got[("aerodrome_executions", (("phase", "SUCCEEDED"),))] == 1
    assert got[("aerodrome_leases", (("owner", "p1"),))] == 2
    assert ("aerodrome_leases", (("owner", "p2"),)) not in got
    assert got[("aerodrome_task_processes_running", ())] == 7
    assert got[("aerodrome_db_pool_size", (("engine", "read"),))] == 3
    assert got[("aerodrome_outbox_pending", ())] == 0
    assert got[("aerodrome_metrics_sample_errors_total", ())] == 0


def test_a_database_that_cannot_be_read_still_answers_and_is_counted(tmp_path: Path) -> None:
    async def scenario() -> bytes:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")  # no schema: every query fails
        try:
            return await Sampler(Metrics(), db, lambda: 0).render()
        finally:
            await db.dispose()

    got = samples(asyncio.run(scenario()))
    assert got[("aerodrome_metrics_sample_errors_total", ())] == 1
    assert got[("aerodrome_task_processes_running", ())] == 0
