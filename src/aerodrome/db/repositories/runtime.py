"""Repositories of signals, cached task artifacts and cache reservations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from flyteidl.core import identifier_pb2
from sqlalchemy import ColumnElement, select
from sqlalchemy.exc import IntegrityError

from aerodrome.db.filters import columns_of, filters_to_clauses
from aerodrome.db.models import CachedArtifactRow, CacheReservationRow, SignalRow
from aerodrome.db.pagination import Page
from aerodrome.db.repositories.base import Repository, paged
from aerodrome.errors import AlreadyExists

SIGNAL_COLUMNS = columns_of(SignalRow.__table__.columns)
DatasetKey = tuple[str, str, str, str]


class SignalRepository(Repository[SignalRow]):
    """Signals by (execution, signal_id)."""

    FILTER_COLUMNS = {"signal": SIGNAL_COLUMNS}

    async def find(self, ident: identifier_pb2.SignalIdentifier) -> SignalRow | None:
        ex = ident.execution_id
        query = select(SignalRow).where(
            SignalRow.execution_project == ex.project,
            SignalRow.execution_domain == ex.domain,
            SignalRow.execution_name == ex.name,
            SignalRow.signal_id == ident.signal_id,
        )
        row: SignalRow | None = (await self.session.execute(query)).scalar_one_or_none()
        return row

    async def list_rows(
        self, execution: identifier_pb2.WorkflowExecutionIdentifier, filters: str, page: Page
    ) -> Sequence[SignalRow]:
        where: list[ColumnElement[bool]] = [
            SignalRow.execution_project == execution.project,
            SignalRow.execution_domain == execution.domain,
            SignalRow.execution_name == execution.name,
            *filters_to_clauses(filters, "signal", self.FILTER_COLUMNS),
        ]
        rows: Sequence[SignalRow] = (await self.session.execute(paged(select(SignalRow), where, page))).scalars().all()
        return rows


def _dataset(
    model: type[CachedArtifactRow] | type[CacheReservationRow], key: DatasetKey, tag: str
) -> list[ColumnElement[bool]]:
    project, domain, name, version = key
    return [
        model.dataset_project == project,
        model.dataset_domain == domain,
        model.dataset_name == name,
        model.dataset_version == version,
        model.tag == tag,
    ]


class CacheRepository(Repository[CachedArtifactRow]):
    """Cached artifacts and the reservations that serialize their computation."""

    async def artifact(self, key: DatasetKey, tag: str) -> CachedArtifactRow | None:
        query = select(CachedArtifactRow).where(*_dataset(CachedArtifactRow, key, tag))
        row: CachedArtifactRow | None = (await self.session.execute(query)).scalar_one_or_none()
        return row

    async def reservation(self, key: DatasetKey, tag: str) -> CacheReservationRow | None:
        query = select(CacheReservationRow).where(*_dataset(CacheReservationRow, key, tag))
        row: CacheReservationRow | None = (await self.session.execute(query)).scalar_one_or_none()
        return row

    async def add_reservation(self, key: DatasetKey, tag: str, owner: str, expires_at: datetime) -> None:
        project, domain, name, version = key
        row = CacheReservationRow(
            dataset_project=project,
            dataset_domain=domain,
            dataset_name=name,
            dataset_version=version,
            tag=tag,
            owner=owner,
            expires_at=expires_at,
        )
        try:
            self.session.add(row)
            await self.session.flush()
        except IntegrityError:
            raise AlreadyExists(f"cache reservation for {name}:{version}/{tag} is held") from None
