"""Shared repository plumbing: inserts that map unique violations, and filtered, paged selects."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from aerodrome.db.models.base import Base
from aerodrome.db.pagination import Page
from aerodrome.errors import AlreadyExists

RowT = TypeVar("RowT", bound=Base)


class Repository(Generic[RowT]):
    """Base of all repositories: holds the session of the current unit of work."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: RowT) -> RowT:
        """Insert a row; a unique violation becomes AlreadyExists (and the unit of work rolls back)."""
        try:
            self.session.add(row)
            await self.session.flush()
        except IntegrityError as exc:
            raise AlreadyExists(f"value with matching already exists ({exc.orig})") from None
        return row


def paged(query: Select[Any], where: Sequence[ColumnElement[bool]], page: Page) -> Select[Any]:
    """Apply conditions, ordering, offset and limit to a select."""
    query = query.where(*where).order_by(*page.order_by).offset(page.offset)
    return query.limit(page.limit) if page.limit is not None else query
