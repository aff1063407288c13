"""The outbox's SQL: claiming lanes safely across processes, recording outcomes, depth and age.

A lane (sink + execution) is delivered in id order by one dispatcher at a time. Claiming locks the lane's
head row ``FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite has a single writer and ignores the clause), so two
processes never claim one lane, and a claimed head hides the whole lane until ``claimed_until`` passes —
which is also how a crashed dispatcher's rows come back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ScalarSelect, and_, case, delete, func, or_, select, update
from sqlalchemy.orm import aliased

from aerodrome.db.models import OutboxRow
from aerodrome.db.models.outbox import DELIVERED, FAILED, PENDING
from aerodrome.db.repositories.base import Repository


@dataclass(frozen=True)
class OutboxStats:
    """What the health endpoint and the depth log line show."""

    pending: int
    failed: int
    oldest_pending: datetime | None


@dataclass(frozen=True)
class Failure:
    """One failed delivery attempt, to be recorded."""

    id: int
    attempts: int
    error: str
    next_attempt_at: datetime
    give_up: bool
    lane: str = ""


def _head() -> ScalarSelect[int]:
    """The id of the first pending row of the outer row's lane (correlated)."""
    earlier = aliased(OutboxRow)
    return (
        select(func.min(earlier.id)).where(earlier.status == PENDING, earlier.lane == OutboxRow.lane).scalar_subquery()
    )


class OutboxRepository(Repository[OutboxRow]):
    """Outbox rows."""

    async def due(self, now: datetime, limit: int) -> Sequence[OutboxRow]:
        """The pending rows of due lanes, in id order, without claiming them: for the single process of a SQLite
        database, whose dispatcher keeps its claims in memory (a read needs no turn at SQLite's one writer)."""
        return await self.claim(now, None, limit)

    async def claim(self, now: datetime, until: datetime | None, limit: int) -> Sequence[OutboxRow]:
        """Due lanes whose head nobody holds: their pending rows in id order, now held until ``until``."""
        head = _head()
        heads = (
            select(OutboxRow.lane)
            .where(
                OutboxRow.status == PENDING,
                OutboxRow.id == head,
                OutboxRow.next_attempt_at <= now,
                or_(OutboxRow.claimed_until.is_(None), OutboxRow.claimed_until < now),
            )
            .order_by(OutboxRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        lanes = list((await self.session.execute(heads)).scalars().all())
        if not lanes:
            return []
        rows = (
            (
                await self.session.execute(
                    select(OutboxRow)
                    .where(OutboxRow.status == PENDING, OutboxRow.lane.in_(lanes))
                    .order_by(OutboxRow.id)
                    .limit(limit)
                    .with_for_update()
                )
            )
            .scalars()
            .all()
        )
        if until is None:
            return rows
        ids = [row.id for row in rows]
        await self.session.execute(
            update(OutboxRow).where(OutboxRow.id.in_(ids)).values(claimed_until=until),
            execution_options={"synchronize_session": False},
        )
        return rows

    async def delivered(self, ids: Sequence[int], now: datetime, *, keep: bool) -> None:
        """Delivered rows are kept for the retention period (``keep``) or deleted at once."""
        if not ids:
            return
        if keep:
            statement = update(OutboxRow).where(OutboxRow.id.in_(ids))
            await self.session.execute(
                statement.values(status=DELIVERED, delivered_at=now, claimed_until=None),
                execution_options={"synchronize_session": False},
            )
        else:
            await self.session.execute(delete(OutboxRow).where(OutboxRow.id.in_(ids)))

    async def failed(self, failure: Failure) -> None:
        """Record one failed attempt: retried at ``next_attempt_at``, or failed for good after the limit."""
        await self.session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == failure.id)
            .values(
                attempts=failure.attempts,
                last_error=failure.error[:4000],
                next_attempt_at=failure.next_attempt_at,
                claimed_until=None,
                status=FAILED if failure.give_up else PENDING,
            ),
            execution_options={"synchronize_session": False},
        )

    async def release(self, ids: Sequence[int]) -> None:
        """Hand rows back untouched (their lane stopped at an earlier failure, or the dispatcher stops)."""
        if ids:
            await self.session.execute(
                update(OutboxRow).where(OutboxRow.id.in_(ids)).values(claimed_until=None),
                execution_options={"synchronize_session": False},
            )

    async def release_all(self) -> None:
        """Forget every claim (a SQLite database has one server process, so any claim is a dead one's)."""
        await self.session.execute(
            update(OutboxRow).where(OutboxRow.claimed_until.is_not(None)).values(claimed_until=None),
            execution_options={"synchronize_session": False},
        )

    async def stats(self) -> OutboxStats:
        query = select(OutboxRow.status, func.count(), func.min(OutboxRow.created_at)).where(
            OutboxRow.status.in_([PENDING, FAILED])
        )
        counts = {
            status: (n, oldest) for status, n, oldest in (await self.session.execute(query.group_by(OutboxRow.status)))
        }
        pending, oldest = counts.get(PENDING, (0, None))
        return OutboxStats(pending=pending, failed=counts.get(FAILED, (0, None))[0], oldest_pending=oldest)

    async def failures(self, limit: int = 20) -> Sequence[OutboxRow]:
        """The newest failed deliveries."""
        query = select(OutboxRow).where(OutboxRow.status == FAILED).order_by(OutboxRow.id.desc()).limit(limit)
        return (await self.session.execute(query)).scalars().all()

    async def retrying(self, limit: int = 20) -> Sequence[OutboxRow]:
        """Pending rows that have failed at least once (a sink down, a recipient refused), oldest first."""
        query = select(OutboxRow).where(OutboxRow.status == PENDING, OutboxRow.attempts > 0)
        return (await self.session.execute(query.order_by(OutboxRow.id).limit(limit))).scalars().all()

    async def next_due(self) -> datetime | None:
        """When the earliest lane head becomes due (its retry time, or the end of another process's claim),
        so an idle dispatcher sleeps until then; rows queued behind a head do not count."""
        due = case(
            (
                and_(OutboxRow.claimed_until.is_not(None), OutboxRow.claimed_until > OutboxRow.next_attempt_at),
                OutboxRow.claimed_until,
            ),
            else_=OutboxRow.next_attempt_at,
        )
        query = select(func.min(due)).where(OutboxRow.status == PENDING, OutboxRow.id == _head())
        value: datetime | None = (await self.session.execute(query)).scalar_one_or_none()
        return value

    async def purge(self, before: datetime) -> None:
        """Delete delivered rows older than the retention period."""
        await self.session.execute(
            delete(OutboxRow).where(OutboxRow.status == DELIVERED, OutboxRow.delivered_at < before)
        )
