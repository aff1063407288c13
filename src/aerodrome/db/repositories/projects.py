"""Repository of projects."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, select

from aerodrome.db.filters import columns_of, filters_to_clauses
from aerodrome.db.models import ProjectRow
from aerodrome.db.pagination import Page
from aerodrome.db.repositories.base import Repository, paged
from aerodrome.errors import NotFound

PROJECT_COLUMNS = columns_of(ProjectRow.__table__.columns)


class ProjectRepository(Repository[ProjectRow]):
    """Projects by identifier."""

    async def find(self, identifier: str) -> ProjectRow | None:
        result = await self.session.execute(select(ProjectRow).where(ProjectRow.identifier == identifier))
        row: ProjectRow | None = result.scalar_one_or_none()
        return row

    async def get(self, identifier: str) -> ProjectRow:
        row = await self.find(identifier)
        if row is None:
            raise NotFound(f"project [{identifier}] not found")
        return row

    async def list_rows(self, filters: str, page: Page, *, hide_archived: bool) -> list[ProjectRow]:
        where: list[ColumnElement[bool]] = filters_to_clauses(filters, "project", {"project": PROJECT_COLUMNS})
        if hide_archived:
            where.append(ProjectRow.state != 1)
        result = await self.session.execute(paged(select(ProjectRow), where, page))
        return list(result.scalars().all())

    async def identifiers(self, identifiers: Sequence[str]) -> set[str]:
        result = await self.session.execute(
            select(ProjectRow.identifier).where(ProjectRow.identifier.in_(list(identifiers)))
        )
        return set(result.scalars().all())
