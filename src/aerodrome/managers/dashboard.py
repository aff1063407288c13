"""What a project-domain dashboard summarises: phase counts over recent windows and failing launch plans."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aerodrome.db.engine import Database
from aerodrome.errors import NotFound
from aerodrome.managers.projects import ProjectManager

WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7)}


@dataclass(frozen=True)
class Dashboard:
    """Counts per phase for each window ("24h", "7d") and the launch plans that failed most in 7 days."""

    counts: dict[str, dict[str, int]]
    failing: list[tuple[str, int]]


class DashboardManager:
    """Aggregates for the console; an unknown project or domain is NotFound."""

    def __init__(self, db: Database, projects: ProjectManager) -> None:
        self.db = db
        self.projects = projects

    async def summary(self, project: str, domain: str, *, now: datetime | None = None) -> Dashboard:
        moment = now or datetime.now(UTC)
        async with self.db.transaction() as uow:
            await self.projects.check_exists(uow, project)
            if domain not in self.projects.domains:
                raise NotFound(f"domain [{domain}] is unrecognized by system")
            stats = uow.execution_stats
            counts = {key: await stats.phase_counts(project, domain, moment - span) for key, span in WINDOWS.items()}
            failing = await stats.failing_launch_plans(project, domain, moment - WINDOWS["7d"], limit=5)
        return Dashboard(counts, failing)
