"""A unit of work: one session inside one transaction, with every repository bound to it."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any, Protocol

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from aerodrome.db.repositories.attributes import ResourceRepository
from aerodrome.db.repositories.descriptions import DescriptionEntityRepository
from aerodrome.db.repositories.entities import LaunchPlanRepository, TaskRepository, WorkflowRepository
from aerodrome.db.repositories.execution_stats import ExecutionStatsRepository
from aerodrome.db.repositories.executions import (
    EventRepository,
    ExecutionRepository,
    NodeExecutionRepository,
    TaskExecutionRepository,
)
from aerodrome.db.repositories.leases import LeaseRepository, ProcessRepository
from aerodrome.db.repositories.named_entities import NamedEntityRepository
from aerodrome.db.repositories.outbox import OutboxRepository
from aerodrome.db.repositories.products import ProductRepository
from aerodrome.db.repositories.projects import ProjectRepository
from aerodrome.db.repositories.providers import ExecutionProviderRepository, ProviderRepository
from aerodrome.db.repositories.runtime import CacheRepository, SignalRepository
from aerodrome.db.repositories.schedules import ScheduleRepository
from aerodrome.errors import AlreadyExists


def _values(row: Any) -> dict[str, Any]:
    """Every column of a new row, with Python-side defaults applied so all rows of a batch agree."""
    values: dict[str, Any] = {}
    for column in row.__table__.columns:
        if column.primary_key:
            continue
        value = getattr(row, column.key)
        if value is None and column.default is not None and getattr(column.default, "is_callable", False):
            value = column.default.arg(None)
        elif value is None and column.default is not None and getattr(column.default, "is_scalar", False):
            value = column.default.arg
        values[column.key] = value
    return values


class RowSink(Protocol):
    """Anything that takes new rows as plain values: a ``UnitOfWork`` or the ``EventRecords`` of an event
    batch (code that only appends rows, such as the event log and the outbox, serves both)."""

    def add_new(self, model: type[Any], values: dict[str, Any]) -> None: ...


class UnitOfWork:
    """Repositories never commit; the ``Database.transaction`` block that created this does."""

    def __init__(self, session: AsyncSession, *, dialect: str) -> None:
        self.session = session
        self.dialect = dialect

    def add_new(self, model: type[Any], values: dict[str, Any]) -> None:
        """A new row of ``model`` with these column values, written with the session's flush."""
        self.session.add(model(**values))

    async def add_all(self, rows: Sequence[Any]) -> None:
        """Insert new rows of any tables, one multi-row INSERT per table (no ORM unit-of-work bookkeeping:
        the rows are not attached to the session); a unique violation becomes AlreadyExists."""
        by_table: dict[Any, list[dict[str, Any]]] = {}
        for row in rows:
            by_table.setdefault(type(row), []).append(_values(row))
        try:
            for model, values in by_table.items():
                await self.session.execute(insert(model), values)
        except IntegrityError as exc:
            raise AlreadyExists(f"value with matching already exists ({exc.orig})") from None

    @cached_property
    def projects(self) -> ProjectRepository:
        return ProjectRepository(self.session)

    @cached_property
    def tasks(self) -> TaskRepository:
        return TaskRepository(self.session)

    @cached_property
    def leases(self) -> LeaseRepository:
        return LeaseRepository(self.session)

    @cached_property
    def processes(self) -> ProcessRepository:
        return ProcessRepository(self.session)

    @cached_property
    def workflows(self) -> WorkflowRepository:
        return WorkflowRepository(self.session)

    @cached_property
    def launch_plans(self) -> LaunchPlanRepository:
        return LaunchPlanRepository(self.session)

    @cached_property
    def schedules(self) -> ScheduleRepository:
        return ScheduleRepository(self.session)

    @cached_property
    def named_entities(self) -> NamedEntityRepository:
        return NamedEntityRepository(self.session)

    @cached_property
    def descriptions(self) -> DescriptionEntityRepository:
        return DescriptionEntityRepository(self.session)

    @cached_property
    def resources(self) -> ResourceRepository:
        return ResourceRepository(self.session)

    @cached_property
    def executions(self) -> ExecutionRepository:
        return ExecutionRepository(self.session)

    @cached_property
    def execution_stats(self) -> ExecutionStatsRepository:
        return ExecutionStatsRepository(self.session)

    @cached_property
    def node_executions(self) -> NodeExecutionRepository:
        return NodeExecutionRepository(self.session)

    @cached_property
    def task_executions(self) -> TaskExecutionRepository:
        return TaskExecutionRepository(self.session)

    @cached_property
    def events(self) -> EventRepository:
        return EventRepository(self.session)

    @cached_property
    def signals(self) -> SignalRepository:
        return SignalRepository(self.session)

    @cached_property
    def cache(self) -> CacheRepository:
        return CacheRepository(self.session)

    @cached_property
    def providers(self) -> ProviderRepository:
        return ProviderRepository(self.session)

    @cached_property
    def execution_providers(self) -> ExecutionProviderRepository:
        return ExecutionProviderRepository(self.session)

    @cached_property
    def products(self) -> ProductRepository:
        return ProductRepository(self.session)

    @cached_property
    def outbox(self) -> OutboxRepository:
        return OutboxRepository(self.session)
