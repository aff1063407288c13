"""Repositories of providers and of the providers frozen on the nodes of executions."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, and_, delete, select

from aerodrome.db.models import ExecutionProviderRow, ExecutionRow, ProviderRow
from aerodrome.db.repositories.base import Repository


class ProviderRepository(Repository[ProviderRow]):
    """Lookups by canonical id, AND-ed filters, and deletes of what a filter matched."""

    async def find(self, provider_name: str) -> ProviderRow | None:
        query = select(ProviderRow).where(ProviderRow.provider_name == provider_name)
        row: ProviderRow | None = (await self.session.execute(query)).scalar_one_or_none()
        return row

    async def find_many(self, provider_names: Sequence[str]) -> dict[str, ProviderRow]:
        """Rows of several ids in one round trip, keyed by id (absent ids are simply missing)."""
        if not provider_names:
            return {}
        query = select(ProviderRow).where(ProviderRow.provider_name.in_(sorted(set(provider_names))))
        return {r.provider_name: r for r in (await self.session.execute(query)).scalars()}

    def _where(self, name: str, version: str, device: str) -> list[ColumnElement[bool]]:
        p = ProviderRow
        pairs = ((p.name, name), (p.version, version), (p.device, device))
        return [column == value for column, value in pairs if value]

    async def matching(self, name: str = "", version: str = "", device: str = "") -> list[ProviderRow]:
        """Every provider whose given fields are equal (no field given: every provider), in id order."""
        query = select(ProviderRow).where(*self._where(name, version, device)).order_by(ProviderRow.provider_name)
        return list((await self.session.execute(query)).scalars().all())

    async def delete_ids(self, row_ids: Sequence[int]) -> None:
        await self.session.execute(delete(ProviderRow).where(ProviderRow.id.in_(list(row_ids))))


class ExecutionProviderRepository(Repository[ExecutionProviderRow]):
    """The frozen per-node resolutions."""

    async def for_execution(self, project: str, domain: str, name: str) -> list[ExecutionProviderRow]:
        e = ExecutionProviderRow
        query = (
            select(e)
            .where(e.execution_project == project, e.execution_domain == domain, e.execution_name == name)
            .order_by(e.node_id)
        )
        return list((await self.session.execute(query)).scalars().all())

    async def for_node(self, project: str, domain: str, name: str, node_id: str) -> ExecutionProviderRow | None:
        e = ExecutionProviderRow
        query = select(e).where(
            e.execution_project == project, e.execution_domain == domain, e.execution_name == name, e.node_id == node_id
        )
        row: ExecutionProviderRow | None = (await self.session.execute(query)).scalar_one_or_none()
        return row

    async def in_use(self, provider_names: Sequence[str], terminal_phases: Sequence[str]) -> list[tuple[str, str]]:
        """(provider id, execution name) pairs where an unfinished execution runs with one of the providers."""
        e, x = ExecutionProviderRow, ExecutionRow
        query = (
            select(e.provider_name, x.execution_project, x.execution_domain, x.execution_name)
            .join(
                x,
                and_(
                    x.execution_project == e.execution_project,
                    x.execution_domain == e.execution_domain,
                    x.execution_name == e.execution_name,
                ),
            )
            .where(e.provider_name.in_(list(provider_names)), x.phase.not_in(list(terminal_phases)))
            .distinct()
            .order_by(e.provider_name, x.execution_name)
        )
        return [(p, f"{proj}/{dom}/{name}") for p, proj, dom, name in (await self.session.execute(query)).all()]

    async def delete_for_execution(self, project: str, domain: str, name: str) -> None:
        e = ExecutionProviderRow
        await self.session.execute(
            delete(e).where(e.execution_project == project, e.execution_domain == domain, e.execution_name == name)
        )
