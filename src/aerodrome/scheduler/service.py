"""The scheduler service: wakes when a schedule is due (or is activated), fires it, sleeps again.

Exactly once per fire time, by two means. Each fire's execution name is derived from the launch plan's
name and the fire time, so creating it a second time (after a crash, or in another process) is
ALREADY_EXISTS and counts as "already fired". And on PostgreSQL the schedule row is locked
(``FOR UPDATE SKIP LOCKED``) while one process fires it, so the others skip it instead of repeating the
work. SQLite has one writer process; there the row is advanced with a compare-and-set after the fires.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flyteidl.admin import launch_plan_pb2

from aerodrome.db.engine import Database
from aerodrome.db.models import LaunchPlanRow, ScheduleRow
from aerodrome.db.unit_of_work import UnitOfWork
from aerodrome.errors import AlreadyExists
from aerodrome.lifecycle import cancel
from aerodrome.managers.executions import ExecutionManager
from aerodrome.scheduler.requests import fire_request
from aerodrome.scheduler.schedules import Cadence, ScheduleError, cadence_of, due, next_fire, policy_of
from aerodrome.settings import SchedulerSettings

log = logging.getLogger("aerodrome.scheduler")
Clock = Callable[[], datetime]


def clock_of(settings: SchedulerSettings) -> Clock:
    """The scheduler's clock: UTC now, shifted by the test-only offset."""
    offset = timedelta(seconds=settings.clock_offset_seconds)
    return lambda: datetime.now(UTC) + offset


def cadence_of_row(plan: LaunchPlanRow) -> Cadence | None:
    return cadence_of(launch_plan_pb2.LaunchPlanSpec.FromString(plan.spec).entity_metadata.schedule)


class Scheduler:
    """A BackgroundService; ``wake()`` is the hook the launch-plan manager calls after (de)activation."""

    name = "scheduler"

    def __init__(
        self, db: Database, executions: ExecutionManager, settings: SchedulerSettings, clock: Clock | None = None
    ) -> None:
        self.db = db
        self.executions = executions
        self.settings = settings
        self.zone = ZoneInfo(settings.timezone)
        self.clock = clock or clock_of(settings)
        self.poll = settings.poll_interval_seconds
        self.grace = timedelta(seconds=max(5.0, 2 * self.poll))
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(settings.concurrent_fires)
        self._task: asyncio.Task[None] | None = None
        self._retry_at: dict[int, datetime] = {}  # schedules whose last fire failed, and when to retry
        self._busy: dict[int, datetime] = {}  # schedules another process is firing (row locked), look again then

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="scheduler")

    async def stop(self) -> None:
        await cancel(self._task)
        self._task = None

    async def _run(self) -> None:
        while True:
            try:
                delay = await self.tick()
            except Exception:
                log.exception("scheduler pass failed; trying again in %.1f s", self.poll)
                delay = self.poll
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            self._wake.clear()

    async def tick(self) -> float:
        """One pass: plan new schedules, fire every due one; returns how long to sleep."""
        now = self.clock()
        self._retry_at = {k: v for k, v in self._retry_at.items() if v > now}
        self._busy = {k: v for k, v in self._busy.items() if v > now}
        skip = {*self._retry_at, *self._busy}
        await self._plan()
        async with self.db.transaction() as uow:
            ids = await uow.schedules.due_ids(now, skip=skip)
        await asyncio.gather(*(self._fire_guarded(schedule_id, now) for schedule_id in ids))
        skip = {*self._retry_at, *self._busy}
        async with self.db.transaction() as uow:
            earliest = await uow.schedules.earliest(skip=skip)
        wake_at = [t for t in (earliest, *self._busy.values()) if t is not None]
        if not wake_at:
            return self.poll
        return min(self.poll, max(0.0, (min(wake_at) - self.clock()).total_seconds()))

    async def _fire_guarded(self, schedule_id: int, now: datetime) -> None:
        """Fire one schedule (a few at a time); a failure is logged and retried after a poll interval."""
        async with self._slots:
            try:
                await self._fire(schedule_id, now)
            except Exception:
                log.exception("schedule %d could not be fired; retrying in %.1f s", schedule_id, self.poll)
                self._retry_at[schedule_id] = now + timedelta(seconds=self.poll)

    async def _plan(self) -> None:
        """Compute the first fire of schedules just activated or moved to another version."""
        async with self.db.transaction() as uow:
            rows = await uow.schedules.unplanned()
            plans = {r.id: await uow.session.get(LaunchPlanRow, r.launch_plan_id) for r in rows}
        for row in rows:
            plan = plans[row.id]
            try:
                cadence = cadence_of_row(plan) if plan is not None else None
                if cadence is None:
                    continue
                first = next_fire(cadence, self._since(row), row.anchor_at, self.zone)
            except ScheduleError as exc:
                log.error("schedule of %s/%s/%s cannot fire: %s", row.project, row.domain, row.name, exc)
                continue
            async with self.db.transaction(write=True) as uow:
                await uow.schedules.plan(row.id, first)

    @staticmethod
    def _since(row: ScheduleRow) -> datetime:
        """Fires are due after the later of the activation and the last fire."""
        return max(row.anchor_at, row.last_fire_at) if row.last_fire_at else row.anchor_at

    async def _fire(self, schedule_id: int, now: datetime) -> None:
        if self.db.is_sqlite:
            async with self.db.transaction() as uow:
                claimed = await self._claim(uow, schedule_id, now, lock=False)
            if claimed is not None:
                update = await self._run_fires(*claimed, now)
                async with self.db.transaction(write=True) as uow:
                    await uow.schedules.advance(schedule_id, *update)
            return
        async with self.db.transaction(write=True) as uow:
            claimed = await self._claim(uow, schedule_id, now, lock=True)
            if claimed is None:  # another process holds the row: it is firing this schedule
                self._busy[schedule_id] = now + timedelta(seconds=0.2)
                return
            await uow.schedules.advance(schedule_id, *await self._run_fires(*claimed, now))

    @staticmethod
    async def _claim(
        uow: UnitOfWork, schedule_id: int, now: datetime, *, lock: bool
    ) -> tuple[ScheduleRow, LaunchPlanRow] | None:
        row = await uow.schedules.claim(schedule_id, now, lock=lock)
        if row is None:
            return None
        plan = await uow.session.get(LaunchPlanRow, row.launch_plan_id)
        return (row, plan) if plan is not None else None

    async def _run_fires(
        self, row: ScheduleRow, plan: LaunchPlanRow, now: datetime
    ) -> tuple[datetime, datetime | None, datetime]:
        """Fire what is due, in order; returns (expected next, last fire done, new next) for ``advance``."""
        assert row.next_fire_at is not None
        cadence = cadence_of_row(plan)
        assert cadence is not None
        spec = launch_plan_pb2.LaunchPlanSpec.FromString(plan.spec)
        policy = policy_of(dict(spec.annotations.values), self.settings.catch_up)
        todo = due(
            cadence,
            row.next_fire_at - timedelta(microseconds=1),  # next_fire_at is the first fire not yet done
            now,
            row.anchor_at,
            self.zone,
            policy=policy,
            cap=self.settings.catch_up_cap,
            grace=self.grace,
        )
        where = f"{plan.project}/{plan.domain}/{plan.name}"
        if todo.dropped:
            log.warning("schedule %s: catch-up policy %r skipped %d missed fire(s)", where, policy, todo.dropped)
        last: datetime | None = None
        for moment in todo.times:
            try:
                await self.executions.create(fire_request(plan, cadence, moment))
            except AlreadyExists:
                pass  # fired already (another process, or before a crash), or the concurrency policy skipped it
            except Exception as exc:
                log.error("schedule %s: fire at %s failed, retrying: %s", where, moment.isoformat(), exc)
                self._retry_at[row.id] = now + timedelta(seconds=self.poll)
                return row.next_fire_at, last, moment
            last = moment
        return row.next_fire_at, last, next_fire(cadence, now, row.anchor_at, self.zone)
