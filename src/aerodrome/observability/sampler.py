"""What /metrics reads at scrape time: the database's state and this process's live counters.

A failing sample (database down) is logged and counted; the scrape still answers with the series it
has, so a monitoring system sees the outage instead of a scrape error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from prometheus_client import Gauge, generate_latest

from aerodrome.db.engine import Database
from aerodrome.observability.metrics import Metrics

log = logging.getLogger("aerodrome.metrics")


def _set_all(gauge: Gauge, values: Mapping[str, int]) -> None:
    """Replace a labelled gauge's series, so a phase that emptied disappears instead of going stale."""
    gauge.clear()
    for label, value in values.items():
        gauge.labels(label or "-").set(value)


class Sampler:
    """Refreshes the scrape-time gauges of ``metrics`` and renders the exposition text."""

    def __init__(self, metrics: Metrics, db: Database, task_processes: Callable[[], int]) -> None:
        self.metrics = metrics
        self.db = db
        self.task_processes = task_processes

    async def render(self) -> bytes:
        """The Prometheus text exposition after a fresh sample."""
        await self.sample()
        return generate_latest(self.metrics.registry)

    async def sample(self) -> None:
        m = self.metrics
        m.task_processes.set(self.task_processes())
        for engine, (checked_out, size) in self.db.pool_use().items():
            m.pool_checked_out.labels(engine).set(checked_out)
            m.pool_size.labels(engine).set(size)
        try:
            await self._sample_database()
        except Exception as exc:
            m.sample_errors.inc()
            log.warning("metrics: cannot read the database state: %s", exc)

    async def _sample_database(self) -> None:
        m = self.metrics
        async with self.db.transaction() as uow:
            executions = await uow.execution_stats.all_phase_counts()
            attempts = await uow.execution_stats.task_attempt_phase_counts()
            leases = await uow.leases.held_by_owner()
            outbox = await uow.outbox.stats()
        _set_all(m.executions, executions)
        _set_all(m.task_attempts, attempts)
        _set_all(m.leases, leases)
        m.outbox_pending.set(outbox.pending)
        m.outbox_failed.set(outbox.failed)
        oldest = outbox.oldest_pending
        age = (datetime.now(UTC) - oldest).total_seconds() if oldest is not None else 0.0
        m.outbox_oldest_age.set(max(age, 0.0))
