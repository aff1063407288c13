"""Execution leases and engine process rows: the SQL behind several processes sharing one database.

Every lease time is the database's clock (``now()`` on PostgreSQL), so a process whose own clock is
skewed can neither steal a live lease nor keep a dead one alive. SQLite has one process (a lock file
guarantees it), so there the server's clock is the database's clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, TextClause, delete, func, literal, or_, select, text, update

from aerodrome.db.models import EngineProcessRow, ExecutionRow
from aerodrome.db.models.base import UtcDateTime, utcnow
from aerodrome.db.models.executions import UNFINISHED
from aerodrome.db.repositories.base import Repository

TERMINAL = {"ABORTED", "FAILED", "SUCCEEDED", "TIMED_OUT"}


@dataclass(frozen=True)
class Leased:
    """An execution held by a lease: its row id, identity and phase."""

    id: int
    project: str
    domain: str
    name: str
    phase: str


def _leased(rows: Sequence[Any]) -> list[Leased]:
    return [Leased(r.id, r.execution_project, r.execution_domain, r.execution_name, r.phase) for r in rows]


class LeaseRepository(Repository[ExecutionRow]):
    """Claims, renewals and releases of execution leases."""

    def now(self, plus: timedelta = timedelta(0)) -> ColumnElement[datetime]:
        """The database's clock, plus ``plus`` (on SQLite the server's clock: one process, one machine)."""
        if self.session.get_bind().dialect.name == "postgresql":
            return func.now() + plus if plus else func.now()
        return literal(utcnow() + plus, UtcDateTime())

    async def db_time(self) -> datetime:
        return (await self.session.execute(select(self.now()))).scalar_one()  # type: ignore[no-any-return]

    async def claim(
        self, owner: str, ttl: timedelta, limit: int, terminal: Sequence[str], only: Sequence[str] = ()
    ) -> list[Leased]:
        """Take up to ``limit`` unfinished executions (of the ``only`` phases, if given) whose lease is free or
        expired, oldest first. Rows another claimer holds locked are skipped, never waited for
        (``FOR UPDATE SKIP LOCKED``)."""
        e = ExecutionRow
        now = self.now()
        phase: ColumnElement[bool] | TextClause
        if only:
            phase = e.phase.in_(list(only))
        elif set(terminal) == TERMINAL:  # the partial index's own clause, for the planner to use it
            phase = text(UNFINISHED)
        else:
            phase = e.phase.not_in(list(terminal))
        free = (
            select(e.id)
            .where(phase, or_(e.lease_expires_at.is_(None), e.lease_expires_at < now))
            .order_by(e.id + 0)  # oldest first, sorted after the index lookup (not a scan in id order)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        query = (
            update(e)
            .where(e.id.in_(free.scalar_subquery()))
            .values(lease_owner=owner, lease_expires_at=self.now(ttl))
            .returning(e.id, e.execution_project, e.execution_domain, e.execution_name, e.phase)
        )
        return _leased((await self.session.execute(query, execution_options={"synchronize_session": False})).all())

    async def renew(self, owner: str, ttl: timedelta, ids: Sequence[int]) -> list[Leased]:
        """Extend the leases this owner still holds among ``ids``; a row missing from the answer was lost."""
        if not ids:
            return []
        e = ExecutionRow
        if self.session.get_bind().dialect.name != "sqlite":
            # Lock in row-id order first, as event batches do (``EventRecords.lock_in_order``): an UPDATE
            # locks rows in whatever order its plan visits them, which could deadlock against a batch.
            mine = select(e.id).where(e.id.in_(list(ids)), e.lease_owner == owner).order_by(e.id).with_for_update()
            await self.session.execute(mine)
        query = (
            update(e)
            .where(e.id.in_(list(ids)), e.lease_owner == owner)
            .values(lease_expires_at=self.now(ttl))
            .returning(e.id, e.execution_project, e.execution_domain, e.execution_name, e.phase)
        )
        return _leased((await self.session.execute(query, execution_options={"synchronize_session": False})).all())

    async def release(self, owner: str, ids: Sequence[int] | None = None) -> None:
        """Give leases back at once (all of the owner's when ``ids`` is None), so another engine may claim.
        The owner stays on the row as the last engine that drove the execution."""
        e = ExecutionRow
        query = update(e).where(e.lease_owner == owner).values(lease_expires_at=None)
        if ids is not None:
            if not ids:
                return
            query = query.where(e.id.in_(list(ids)))
        await self.session.execute(query, execution_options={"synchronize_session": False})

    async def held_by_owner(self) -> dict[str, int]:
        """How many unexpired leases each process holds (the /metrics gauge)."""
        e = ExecutionRow
        query = select(e.lease_owner, func.count()).where(e.lease_expires_at > self.now()).group_by(e.lease_owner)
        return {owner: int(count) for owner, count in (await self.session.execute(query)).all()}

    async def release_all_others(self, owner: str) -> None:
        """Free every lease not held by ``owner`` (SQLite: the one process that can run holds the lock)."""
        e = ExecutionRow
        query = update(e).where(e.lease_expires_at.is_not(None), e.lease_owner != owner)
        await self.session.execute(
            query.values(lease_expires_at=None), execution_options={"synchronize_session": False}
        )


class ProcessRepository(Repository[EngineProcessRow]):
    """The engine process rows behind ``aerodrome status``."""

    async def beat(self, owner: str, now: ColumnElement[datetime], **values: Any) -> bool:
        """Record a heartbeat; False when the row is missing (the caller inserts it)."""
        p = EngineProcessRow
        query = update(p).where(p.owner == owner).values(heartbeat_at=now, **values)
        result = await self.session.execute(query, execution_options={"synchronize_session": False})
        return bool(getattr(result, "rowcount", 0))

    async def forget(self, owner: str) -> None:
        await self.session.execute(delete(EngineProcessRow).where(EngineProcessRow.owner == owner))

    async def forget_stale(self, before: datetime) -> None:
        """Drop rows of processes that stopped beating long ago (killed without a goodbye)."""
        await self.session.execute(delete(EngineProcessRow).where(EngineProcessRow.heartbeat_at < before))

    async def all(self) -> list[EngineProcessRow]:
        query = select(EngineProcessRow).order_by(EngineProcessRow.started_at)
        return list((await self.session.execute(query)).scalars().all())
