"""Repositories of versioned entities: tasks, workflows and launch plans."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Generic

from flyteidl.admin.common_pb2 import Sort
from flyteidl.core import identifier_pb2
from sqlalchemy import ColumnElement, func, select, update

from aerodrome.db.filters import Columns, columns_of, filters_to_clauses
from aerodrome.db.models import LaunchPlanRow, TaskRow, WorkflowRow
from aerodrome.db.pagination import Page, page
from aerodrome.db.prototext import compact
from aerodrome.db.repositories.base import Repository, RowT, paged
from aerodrome.errors import NotFound


class VersionedRepository(Repository[RowT], Generic[RowT]):
    """Rows keyed by (project, domain, name, version)."""

    model: ClassVar[type[Any]]
    entity: ClassVar[str]  # filter prefix of the primary entity
    type_name: ClassVar[str]  # as FlyteAdmin names it in NotFound errors

    @classmethod
    def filter_columns(cls) -> Columns:
        """Entities (and their columns) a list filter may address."""
        return {cls.entity: columns_of(cls.model.__table__.columns)}

    @classmethod
    def sort_columns(cls) -> dict[str, Any]:
        return columns_of(cls.model.__table__.columns)

    def _key(self, project: str, domain: str, name: str, version: str) -> list[ColumnElement[bool]]:
        m = self.model
        return [m.project == project, m.domain == domain, m.name == name, m.version == version]

    async def find(self, project: str, domain: str, name: str, version: str) -> RowT | None:
        """The row with this id, or None."""
        result = await self.session.execute(select(self.model).where(*self._key(project, domain, name, version)))
        row: RowT | None = result.scalar_one_or_none()
        return row

    async def get(self, ident: identifier_pb2.Identifier) -> RowT:
        """The row with this id, or NotFound in FlyteAdmin's words."""
        row = await self.find(ident.project, ident.domain, ident.name, ident.version)
        if row is None:
            raise NotFound(f"missing entity of type {self.type_name} with identifier {compact(ident)}")
        return row

    def scope(self, project: str, domain: str, name: str = "") -> list[ColumnElement[bool]]:
        """The implicit filters of a list request: project, domain and, when given, name."""
        m = self.model
        where = [m.project == project, m.domain == domain]
        if name:
            where.append(m.name == name)
        return where

    async def list_rows(self, scope: Sequence[ColumnElement[bool]], filters: str, page: Page) -> list[RowT]:
        """Rows in scope matching the user's filters, one page of them."""
        where = [*scope, *filters_to_clauses(filters, self.entity, self.filter_columns())]
        result = await self.session.execute(paged(self._select(), where, page))
        return list(result.scalars().all())

    def _select(self) -> Any:
        return select(self.model)

    async def list_names(
        self, project: str, domain: str, filters: str, token: str, limit: int, sort: Sort | None, rpc: str
    ) -> tuple[list[str], Page]:
        """Distinct names of a project-domain (NamedEntityIdentifierList), sorted on grouped columns."""
        m = self.model
        grouped = {
            k: (c if k in {"project", "domain", "name"} else func.max(c)) for k, c in self.sort_columns().items()
        }
        pg = page(token, limit, rpc, sort, grouped)
        where = [
            *self.scope(project, domain),
            *filters_to_clauses(filters, self.entity, self.filter_columns()),
        ]
        query = select(m.name).where(*where).group_by(m.name).order_by(*pg.order_by, m.name).offset(pg.offset)
        if pg.limit is not None:
            query = query.limit(pg.limit)
        return list((await self.session.execute(query)).scalars().all()), pg

    async def exists_name(self, project: str, domain: str, name: str) -> bool:
        """Whether any version of this name exists."""
        query = select(self.model.id).where(*self.scope(project, domain, name)).limit(1)
        return (await self.session.execute(query)).first() is not None


class TaskRepository(VersionedRepository[TaskRow]):
    model = TaskRow
    entity = "task"
    type_name = "TASK"

    async def get_many(self, idents: Sequence[identifier_pb2.Identifier]) -> list[TaskRow]:
        """Rows for several ids in one round trip, in the order asked; NotFound names the first missing."""
        found: dict[tuple[str, str, str, str], TaskRow] = {}
        keys = {(i.project, i.domain, i.name, i.version) for i in idents}
        for project, domain in {(k[0], k[1]) for k in keys}:
            names = [k[2] for k in keys if k[0] == project and k[1] == domain]
            query = select(TaskRow).where(TaskRow.project == project, TaskRow.domain == domain, TaskRow.name.in_(names))
            for row in (await self.session.execute(query)).scalars():
                found[(row.project, row.domain, row.name, row.version)] = row
        rows = []
        for ident in idents:
            match = found.get((ident.project, ident.domain, ident.name, ident.version))
            if match is None:
                raise NotFound(f"missing entity of type TASK with identifier {compact(ident)}")
            rows.append(match)
        return rows


class WorkflowRepository(VersionedRepository[WorkflowRow]):
    model = WorkflowRow
    entity = "workflow"
    type_name = "WORKFLOW"

    async def by_id(self, row_id: int | None) -> WorkflowRow | None:
        """The workflow an execution row points at (None when the reference is empty or dangling)."""
        return None if row_id is None else await self.session.get(WorkflowRow, row_id)


class LaunchPlanRepository(VersionedRepository[LaunchPlanRow]):
    model = LaunchPlanRow
    entity = "launch_plan"
    type_name = "LAUNCH_PLAN"

    @classmethod
    def filter_columns(cls) -> Columns:
        return {
            "launch_plan": columns_of(LaunchPlanRow.__table__.columns),
            "workflow": columns_of(WorkflowRow.__table__.columns),
        }

    def _select(self) -> Any:
        # Launch plans are always inner-joined with their workflow, so `workflow.*` filters work.
        return select(LaunchPlanRow).join(WorkflowRow, WorkflowRow.id == LaunchPlanRow.workflow_id)

    async def find_active(self, project: str, domain: str, name: str) -> LaunchPlanRow | None:
        """The ACTIVE version of a name, if any."""
        query = select(LaunchPlanRow).where(*self.scope(project, domain, name), LaunchPlanRow.state == 1)
        row: LaunchPlanRow | None = (await self.session.execute(query)).scalar_one_or_none()
        return row

    async def lock_name(self, project: str, domain: str, name: str) -> None:
        """Row-lock every version of a name for the rest of the transaction, in id order (no deadlock between
        two lockers). SQLite ignores it: it has one writer at a time anyway."""
        query = select(LaunchPlanRow.id).where(*self.scope(project, domain, name)).order_by(LaunchPlanRow.id)
        await self.session.execute(query.with_for_update())

    async def set_state(self, row_id: int, state: int) -> None:
        """Write a launch plan's state column."""
        await self.session.execute(update(LaunchPlanRow).where(LaunchPlanRow.id == row_id).values(state=state))
