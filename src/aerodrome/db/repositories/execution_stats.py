"""Repository of execution aggregates: phase counts and failing launch plans over a time window."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from aerodrome.db.models import ExecutionRow, LaunchPlanRow, TaskExecutionRow
from aerodrome.db.repositories.base import Repository


class ExecutionStatsRepository(Repository[ExecutionRow]):
    """Aggregates over executions for the console's dashboard (counts, never whole rows)."""

    async def phase_counts(self, project: str, domain: str, since: datetime) -> dict[str, int]:
        """How many executions created since ``since`` are in each phase (archived ones included)."""
        e = ExecutionRow
        query = (
            select(e.phase, func.count())
            .where(e.execution_project == project, e.execution_domain == domain, e.execution_created_at >= since)
            .group_by(e.phase)
        )
        return {phase: int(count) for phase, count in (await self.session.execute(query)).all()}

    async def all_phase_counts(self) -> dict[str, int]:
        """Executions in each phase across the whole server (the /metrics gauges)."""
        query = select(ExecutionRow.phase, func.count()).group_by(ExecutionRow.phase)
        return {phase: int(count) for phase, count in (await self.session.execute(query)).all()}

    async def task_attempt_phase_counts(self) -> dict[str, int]:
        """Task attempts in each phase across the whole server (the /metrics gauges)."""
        query = select(TaskExecutionRow.phase, func.count()).group_by(TaskExecutionRow.phase)
        return {phase: int(count) for phase, count in (await self.session.execute(query)).all()}

    async def failing_launch_plans(
        self, project: str, domain: str, since: datetime, limit: int
    ) -> list[tuple[str, int]]:
        """Launch-plan names with failed executions since ``since``, most failures first."""
        e, lp = ExecutionRow, LaunchPlanRow
        count = func.count().label("failures")
        query = (
            select(lp.name, count)
            .select_from(e)
            .join(lp, lp.id == e.launch_plan_id)
            .where(
                e.execution_project == project,
                e.execution_domain == domain,
                e.execution_created_at >= since,
                e.phase.in_(["FAILED", "TIMED_OUT"]),
            )
            .group_by(lp.name)
            .order_by(count.desc(), lp.name)
            .limit(limit)
        )
        return [(name, int(n)) for name, n in (await self.session.execute(query)).all()]
