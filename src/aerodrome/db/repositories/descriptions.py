"""Repository of description entities (long descriptions and source links of versions)."""

from __future__ import annotations

from flyteidl.core import identifier_pb2
from sqlalchemy import select

from aerodrome.db.filters import columns_of, filters_to_clauses
from aerodrome.db.models import DescriptionEntityRow
from aerodrome.db.pagination import Page
from aerodrome.db.prototext import compact
from aerodrome.db.repositories.base import Repository, paged
from aerodrome.errors import NotFound

DESCRIPTION_COLUMNS = columns_of(DescriptionEntityRow.__table__.columns)


class DescriptionEntityRepository(Repository[DescriptionEntityRow]):
    """Description entities keyed by resource type and version id."""

    async def get(self, ident: identifier_pb2.Identifier) -> DescriptionEntityRow:
        d = DescriptionEntityRow
        query = select(d).where(
            d.resource_type == ident.resource_type,
            d.project == ident.project,
            d.domain == ident.domain,
            d.name == ident.name,
            d.version == ident.version,
        )
        row: DescriptionEntityRow | None = (await self.session.execute(query)).scalar_one_or_none()
        if row is None:
            raise NotFound(f"missing entity of type DESCRIPTION_ENTITY with identifier {compact(ident)}")
        return row

    async def list_rows(
        self, resource_type: int, project: str, domain: str, name: str, filters: str, page: Page
    ) -> list[DescriptionEntityRow]:
        d = DescriptionEntityRow
        where = [d.resource_type == resource_type, d.project == project, d.domain == domain]
        if name:
            where.append(d.name == name)
        where += filters_to_clauses(filters, "description_entity", {"description_entity": DESCRIPTION_COLUMNS})
        result = await self.session.execute(paged(select(d), where, page))
        return list(result.scalars().all())
