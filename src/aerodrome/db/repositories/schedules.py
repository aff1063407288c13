"""SQL of the schedules table: activation writes, the scheduler's due/claim/advance, and the listing."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import func, select, update

from aerodrome.db.models import ExecutionRow, LaunchPlanRow, ScheduleRow
from aerodrome.db.repositories.base import Repository


class ScheduleRepository(Repository[ScheduleRow]):
    """One row per launch-plan name that ever had a scheduled version activated."""

    async def find(self, project: str, domain: str, name: str) -> ScheduleRow | None:
        query = select(ScheduleRow).where(
            ScheduleRow.project == project, ScheduleRow.domain == domain, ScheduleRow.name == name
        )
        row: ScheduleRow | None = (await self.session.execute(query)).scalar_one_or_none()
        return row

    async def activate(self, project: str, domain: str, name: str, launch_plan_id: int, now: datetime) -> None:
        """Make this version the one that fires. Moving from another active version keeps the anchor and
        last fire (the cadence goes on, nothing fires twice); a fresh activation starts from ``now``."""
        row = await self.find(project, domain, name)
        if row is None:
            await self.add(
                ScheduleRow(
                    project=project, domain=domain, name=name, launch_plan_id=launch_plan_id, active=True, anchor_at=now
                )
            )
            return
        if row.active and row.launch_plan_id == launch_plan_id:
            return  # re-activating the active version changes nothing
        if not row.active:
            row.anchor_at = now
        row.active = True
        row.launch_plan_id = launch_plan_id
        row.next_fire_at = None

    async def deactivate(self, project: str, domain: str, name: str, launch_plan_id: int | None = None) -> None:
        """Stop the schedule of this name (only if ``launch_plan_id``, when given, is the one firing)."""
        query = update(ScheduleRow).where(
            ScheduleRow.project == project, ScheduleRow.domain == domain, ScheduleRow.name == name
        )
        if launch_plan_id is not None:
            query = query.where(ScheduleRow.launch_plan_id == launch_plan_id)
        await self.session.execute(query.values(active=False, next_fire_at=None))

    async def unplanned(self) -> list[ScheduleRow]:
        """Active schedules whose next fire the scheduler has yet to compute."""
        query = select(ScheduleRow).where(ScheduleRow.active.is_(True), ScheduleRow.next_fire_at.is_(None))
        return list((await self.session.execute(query)).scalars().all())

    async def plan(self, schedule_id: int, next_fire_at: datetime) -> None:
        """Store a computed next fire, unless another process got there first."""
        await self.session.execute(
            update(ScheduleRow)
            .where(ScheduleRow.id == schedule_id, ScheduleRow.next_fire_at.is_(None), ScheduleRow.active.is_(True))
            .values(next_fire_at=next_fire_at)
        )

    async def due_ids(self, now: datetime, skip: Collection[int] = ()) -> list[int]:
        query = select(ScheduleRow.id).where(ScheduleRow.active.is_(True), ScheduleRow.next_fire_at <= now)
        if skip:
            query = query.where(ScheduleRow.id.not_in(list(skip)))
        return list((await self.session.execute(query.order_by(ScheduleRow.next_fire_at))).scalars().all())

    async def claim(self, schedule_id: int, now: datetime, *, lock: bool) -> ScheduleRow | None:
        """The schedule if it is still active and due; with ``lock`` (PostgreSQL) also row-locked for this
        transaction, and None when another process holds it (it is firing it)."""
        query = select(ScheduleRow).where(
            ScheduleRow.id == schedule_id, ScheduleRow.active.is_(True), ScheduleRow.next_fire_at <= now
        )
        if lock:
            query = query.with_for_update(skip_locked=True)
        row: ScheduleRow | None = (await self.session.execute(query)).scalar_one_or_none()
        return row

    async def advance(
        self, schedule_id: int, expected_next: datetime, last_fire_at: datetime | None, next_fire_at: datetime
    ) -> None:
        """Record fires done; a no-op when activation or another process changed the row meanwhile."""
        values: dict[str, object] = {"next_fire_at": next_fire_at}
        if last_fire_at is not None:
            values["last_fire_at"] = last_fire_at
        await self.session.execute(
            update(ScheduleRow)
            .where(ScheduleRow.id == schedule_id, ScheduleRow.next_fire_at == expected_next)
            .values(**values)
        )

    async def earliest(self, skip: Collection[int] = ()) -> datetime | None:
        query = select(func.min(ScheduleRow.next_fire_at)).where(ScheduleRow.active.is_(True))
        if skip:
            query = query.where(ScheduleRow.id.not_in(list(skip)))
        value: datetime | None = (await self.session.execute(query)).scalar_one_or_none()
        return value

    async def listing(self) -> list[tuple[ScheduleRow, LaunchPlanRow]]:
        """Every active schedule with the launch-plan version that fires."""
        query = (
            select(ScheduleRow, LaunchPlanRow)
            .join(LaunchPlanRow, LaunchPlanRow.id == ScheduleRow.launch_plan_id)
            .where(ScheduleRow.active.is_(True))
            .order_by(ScheduleRow.project, ScheduleRow.domain, ScheduleRow.name)
        )
        return [(s, lp) for s, lp in (await self.session.execute(query)).all()]

    async def phase_of(self, project: str, domain: str, name: str) -> str:
        """The phase of one execution ("" when it does not exist)."""
        query = select(ExecutionRow.phase).where(
            ExecutionRow.execution_project == project,
            ExecutionRow.execution_domain == domain,
            ExecutionRow.execution_name == name,
        )
        phase: str | None = (await self.session.execute(query)).scalar_one_or_none()
        return phase or ""
