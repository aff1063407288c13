"""Insert a registered entity under its id, or hand back what is already stored there.

Registration answers a taken id from the stored row (identical body → ALREADY_EXISTS, a different one →
INVALID_ARGUMENT with the diff), so the caller needs that row whichever way the id came to be taken: before
our read, or between our read and our insert by a concurrent caller (PostgreSQL runs both at once).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from aerodrome.db.engine import Database
from aerodrome.db.unit_of_work import UnitOfWork
from aerodrome.errors import AlreadyExists

Row = TypeVar("Row")


async def insert_or_find(
    db: Database,
    find: Callable[[UnitOfWork], Awaitable[Row | None]],
    insert: Callable[[UnitOfWork], Awaitable[object]],
) -> Row | None:
    """Run ``insert`` unless ``find`` sees a row; return that row, or None when ours was inserted."""
    try:
        async with db.transaction(write=True) as uow:
            existing = await find(uow)
            if existing is None:
                await insert(uow)
            return existing
    except AlreadyExists:
        # Another caller stored this id between our read and our insert: answer as if we had come second.
        async with db.transaction() as uow:
            existing = await find(uow)
        if existing is None:
            raise
        return existing
