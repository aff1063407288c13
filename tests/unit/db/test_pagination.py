"""Offset tokens, limits and sort keys as FlyteAdmin handles them."""

from __future__ import annotations

import pytest
from flyteidl.admin import common_pb2

from aerodrome.db.pagination import next_token, page, parse_token
from aerodrome.db.repositories.entities import TaskRepository
from aerodrome.errors import InvalidArgument

COLUMNS = TaskRepository.sort_columns()


def test_token_is_an_offset() -> None:
    assert parse_token("", "ListTasks") == 0
    assert parse_token("40", "ListTasks") == 40
    with pytest.raises(InvalidArgument, match="invalid pagination token -1 for ListTasks"):
        parse_token("-1", "ListTasks")
    with pytest.raises(InvalidArgument, match="invalid pagination token abc for ListTasks"):
        parse_token("abc", "ListTasks")


def test_next_token_only_for_full_pages() -> None:
    assert next_token(0, 10, 10) == "10"
    assert next_token(10, 10, 3) == ""
    assert next_token(0, None, 500) == ""


def test_limit_required_and_sort_keys_checked() -> None:
    with pytest.raises(InvalidArgument, match="invalid value for limit"):
        page("", 0, "ListTasks", None, COLUMNS)
    assert page("", 0, "ListProjects", None, COLUMNS, limit_required=False).limit is None
    with pytest.raises(InvalidArgument, match="invalid sort key 'nope'"):
        page("", 5, "ListTasks", common_pb2.Sort(key="nope"), COLUMNS)
    ordered = page("5", 5, "ListTasks", common_pb2.Sort(key="created_at"), COLUMNS)
    assert ordered.offset == 5
    assert str(ordered.order_by[0]) == "tasks.created_at DESC"
    unordered = page("", 5, "ListTasks", None, COLUMNS)
    assert unordered.order_by == ()
