"""Sorting and offset-token pagination as FlyteAdmin does them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flyteidl.admin import common_pb2
from sqlalchemy import ColumnElement

from aerodrome.errors import InvalidArgument


@dataclass(frozen=True)
class Page:
    """Where a list starts, how long it is and how it is ordered."""

    offset: int
    limit: int | None
    order_by: tuple[ColumnElement[Any], ...] = ()


def parse_token(token: str, rpc: str) -> int:
    """The token is a decimal offset; "" means the start."""
    if not token:
        return 0
    if not token.isdigit():
        raise InvalidArgument(f"invalid pagination token {token} for {rpc}")
    return int(token)


def order_by(sort: common_pb2.Sort | None, columns: Mapping[str, ColumnElement[Any]]) -> tuple[ColumnElement[Any], ...]:
    """ORDER BY for ``sort_by``; an unset sort gives no ordering (the database's order, as the reference)."""
    if sort is None or not sort.key:
        return ()
    column = columns.get(sort.key)
    if column is None:
        raise InvalidArgument(f"invalid sort key '{sort.key}'")
    if sort.direction == common_pb2.Sort.DESCENDING:
        return (column.desc(),)
    if sort.direction == common_pb2.Sort.ASCENDING:
        return (column.asc(),)
    raise InvalidArgument(f"invalid sort order specified: {sort.direction}")


def next_token(offset: int, limit: int | None, returned: int) -> str:
    """A token to the next page whenever this page is full (even if nothing follows), else ""."""
    if limit is not None and returned == limit:
        return str(offset + returned)
    return ""


def page(
    token: str,
    limit: int,
    rpc: str,
    sort: common_pb2.Sort | None,
    columns: Mapping[str, ColumnElement[Any]],
    *,
    limit_required: bool = True,
) -> Page:
    """Validate a list request's paging fields into a ``Page``."""
    if limit <= 0 and limit_required:
        raise InvalidArgument("invalid value for limit")
    return Page(parse_token(token, rpc), limit if limit > 0 else None, order_by(sort, columns))
