"""Repository of matchable attributes: one row per (project, domain, workflow, launch plan, type)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, delete, or_, select

from aerodrome.db.models import ResourceRow
from aerodrome.db.repositories.base import Repository


class ResourceRepository(Repository[ResourceRow]):
    """Upserts, exact reads and most-specific lookups of matchable attributes."""

    def _exact(self, project: str, domain: str, workflow: str, launch_plan: str, resource_type: str) -> list:  # type: ignore[type-arg]
        r = ResourceRow
        return [
            r.project == project,
            r.domain == domain,
            r.workflow == workflow,
            r.launch_plan == launch_plan,
            r.resource_type == resource_type,
        ]

    async def find_exact(
        self, project: str, domain: str, workflow: str, launch_plan: str, resource_type: str
    ) -> ResourceRow | None:
        query = select(ResourceRow).where(*self._exact(project, domain, workflow, launch_plan, resource_type))
        row: ResourceRow | None = (await self.session.execute(query)).scalar_one_or_none()
        return row

    @staticmethod
    def _matching(project: str, domain: str, workflow: str, resource_type: str) -> list[ColumnElement[bool]]:
        """Rows of a type whose project, domain and workflow keys are each empty (any) or equal to the value."""
        r = ResourceRow
        return [
            r.resource_type == resource_type,
            or_(r.project == "", r.project == project),
            or_(r.domain == "", r.domain == domain),
            or_(r.workflow == "", r.workflow == workflow),
        ]

    async def most_specific(
        self, project: str, domain: str, workflow: str, launch_plan: str, resource_type: str
    ) -> ResourceRow | None:
        """The highest-priority row whose every key is empty or equal to the given value."""
        r = ResourceRow
        query = (
            select(r)
            .where(
                *self._matching(project, domain, workflow, resource_type),
                or_(r.launch_plan == "", r.launch_plan == launch_plan),
            )
            .order_by(r.priority.desc())
            .limit(1)
        )
        row: ResourceRow | None = (await self.session.execute(query)).scalar_one_or_none()
        return row

    async def candidates(self, project: str, domain: str, workflow: str, resource_type: str) -> list[ResourceRow]:
        """Every row of a type that could match (project, domain, workflow) at any level, in one read."""
        r = ResourceRow
        query = (
            select(r)
            .where(*self._matching(project, domain, workflow, resource_type), r.launch_plan == "")
            .order_by(r.priority.desc(), r.id)
        )
        return list((await self.session.execute(query)).scalars().all())

    async def delete_exact(self, project: str, domain: str, workflow: str, launch_plan: str, resource_type: str) -> int:
        result = await self.session.execute(
            delete(ResourceRow).where(*self._exact(project, domain, workflow, launch_plan, resource_type))
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def list_type(self, resource_type: str) -> list[ResourceRow]:
        query = select(ResourceRow).where(ResourceRow.resource_type == resource_type)
        query = query.order_by(ResourceRow.priority.desc(), ResourceRow.id)
        return list((await self.session.execute(query)).scalars().all())
