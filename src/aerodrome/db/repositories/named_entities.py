"""Named entities: a view over the versioned tables, outer-joined with their optional metadata rows."""

from __future__ import annotations

from typing import Any

from flyteidl.admin import common_pb2
from flyteidl.core import identifier_pb2
from sqlalchemy import ColumnElement, and_, func, select

from aerodrome.db.filters import Filter, columns_of, parse_filters, to_clause
from aerodrome.db.models import LaunchPlanRow, NamedEntityMetadataRow, TaskRow, WorkflowRow
from aerodrome.db.pagination import Page
from aerodrome.db.repositories.base import Repository
from aerodrome.errors import InvalidArgument, NotFound

TABLES: dict[int, Any] = {
    identifier_pb2.TASK: TaskRow,
    identifier_pb2.WORKFLOW: WorkflowRow,
    identifier_pb2.LAUNCH_PLAN: LaunchPlanRow,
}

NamedEntity = tuple[str, str, str, str, int]  # project, domain, name, description, state


class NamedEntityRepository(Repository[NamedEntityMetadataRow]):
    """Reads the implicit named entities and upserts their metadata."""

    def _table(self, resource_type: int) -> Any:
        table = TABLES.get(resource_type)
        if table is None:
            raise InvalidArgument("invalid value for resource_type")
        return table

    def _query(self, resource_type: int) -> tuple[Any, dict[str, dict[str, Any]]]:
        t = self._table(resource_type)
        m = NamedEntityMetadataRow
        state = func.coalesce(m.state, 0)
        description = func.coalesce(m.description, "")
        joined = and_(m.resource_type == resource_type, m.project == t.project, m.domain == t.domain, m.name == t.name)
        query = select(t.project, t.domain, t.name, description, state).outerjoin(m, joined)
        entity_columns: dict[str, Any] = {
            "resource_type": m.resource_type,
            "project": t.project,
            "domain": t.domain,
            "name": t.name,
            "description": description,
            "state": state,
        }
        meta_columns = {**columns_of(m.__table__.columns), "state": state, "description": description}
        return query, {"entities": entity_columns, "named_entity_metadata": meta_columns}

    async def get(self, resource_type: int, project: str, domain: str, name: str) -> NamedEntity:
        query, _ = self._query(resource_type)
        t = self._table(resource_type)
        query = query.where(t.project == project, t.domain == domain, t.name == name).limit(1)
        row = (await self.session.execute(query)).first()
        if row is None:
            raise NotFound("entry not found")
        return (row[0], row[1], row[2], row[3], row[4])

    async def list_rows(
        self,
        resource_type: int,
        project: str,
        domain: str,
        filters: str,
        page: Page,
        sort: common_pb2.Sort | None,
    ) -> list[NamedEntity]:
        query, columns = self._query(resource_type)
        t = self._table(resource_type)
        parsed = parse_filters(filters) or [Filter("not_like", "", "name", (".flytegen%",))]
        where: list[ColumnElement[bool]] = [t.project == project, t.domain == domain]
        where += [to_clause(f, "entities", columns) for f in parsed]
        order: list[Any] = []
        if sort is not None and sort.key:
            column = columns["entities"].get(sort.key)
            if column is None:
                raise InvalidArgument(f"invalid sort key '{sort.key}'")
            grouped = column if sort.key in {"project", "domain", "name"} else func.max(column)
            order.append(grouped.desc() if sort.direction == common_pb2.Sort.DESCENDING else grouped.asc())
        query = (
            query.where(*where)
            .group_by(t.project, t.domain, t.name, columns["entities"]["description"], columns["entities"]["state"])
            .order_by(*order, t.name)
            .offset(page.offset)
        )
        if page.limit is not None:
            query = query.limit(page.limit)
        return [(r[0], r[1], r[2], r[3], r[4]) for r in (await self.session.execute(query)).all()]

    async def upsert_metadata(
        self, resource_type: int, project: str, domain: str, name: str, description: str, state: int
    ) -> None:
        m = NamedEntityMetadataRow
        query = select(m).where(
            m.resource_type == resource_type, m.project == project, m.domain == domain, m.name == name
        )
        row = (await self.session.execute(query)).scalar_one_or_none()
        if row is None:
            await self.add(
                m(
                    resource_type=resource_type,
                    project=project,
                    domain=domain,
                    name=name,
                    description=description,
                    state=state,
                )
            )
        else:
            row.description = description
            row.state = state
            await self.session.flush()
