"""Statements compiled once and run on the DBAPI cursor (``db/compiled.py``), on SQLite and PostgreSQL: they
read and write the values SQLAlchemy's own execution would, tell ``before_cursor_execute`` listeners, and
raise SQLAlchemy's exceptions, so the callers' error handling sees what it always saw."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, bindparam, insert, select
from sqlalchemy import event as sa_event
from sqlalchemy.exc import IntegrityError
from tests.support.postgres import fresh_database

from aerodrome.db import migrate
from aerodrome.db.compiled import Statements
from aerodrome.db.engine import Database
from aerodrome.db.inserts import row_values, table_of
from aerodrome.db.models import EventRow, NodeExecutionRow

T0 = datetime(2026, 1, 1, 12, 30, 15, 123456, tzinfo=UTC)
EVENTS, NODES = table_of(EventRow), table_of(NodeExecutionRow)
_INSERT = insert(EVENTS)
_SELECT = select(EVENTS.c.node_id, EVENTS.c.occurred_at, EVENTS.c.payload, EVENTS.c.created_at).where(
    EVENTS.c.execution_name == bindparam("n")
)
_NODE_INSERT = insert(NODES)


def _event(node_id: str, at: datetime) -> dict[str, Any]:
    given = {
        "kind": "node",
        "execution_project": "p",
        "execution_domain": "d",
        "execution_name": "e",
        "node_id": node_id,
        "retry_attempt": 0,
        "phase": "RUNNING",
        "occurred_at": at,
        "payload": b"\x00\x01",
    }
    return row_values(EVENTS, given)


def _node(node_id: str) -> dict[str, Any]:
    given = {
        "execution_id": 999,  # no such execution: a foreign-key violation on PostgreSQL
        "execution_project": "p",
        "execution_domain": "d",
        "execution_name": "e",
        "node_id": node_id,
        "closure": b"",
        "node_execution_created_at": T0,
        "node_execution_updated_at": T0,
    }
    return row_values(NODES, given)


def _body(conn: Connection) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[str]]:
    seen: list[str] = []

    def listener(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement.split()[0])

    sa_event.listen(conn, "before_cursor_execute", listener)
    sql = Statements(conn)
    rows = [_event("a", T0), _event("b", T0 + timedelta(seconds=1))]
    sql.executemany(sql.prepare(_INSERT, list(rows[0])), rows)
    sql.execute(sql.prepare(_INSERT, list(rows[0])), _event("c", T0 - timedelta(days=1)))
    ours = sql.rows(sql.prepare(_SELECT), {"n": "e"})
    theirs = [tuple(r) for r in conn.execute(_SELECT, {"n": "e"})]
    sql.close()
    sa_event.remove(conn, "before_cursor_execute", listener)
    return ours, theirs, seen


async def _scenario(url: str) -> None:
    db = Database(url)
    await migrate.upgrade(db)
    ours, theirs, seen = await db.write_conn(_body)
    assert ours == theirs and len(ours) == 3
    assert ours[0][1] == T0 and ours[0][1].tzinfo is not None  # an aware UTC datetime, to the microsecond
    assert ours[0][2] == b"\x00\x01"
    assert seen[:2] == ["INSERT", "INSERT"] and "SELECT" in seen

    def duplicate_or_orphan(conn: Connection) -> None:
        sql = Statements(conn)
        statement = sql.prepare(_NODE_INSERT, list(_node("x")))
        sql.execute(statement, _node("x"))
        sql.execute(statement, _node("x"))  # the unique key (and, on PostgreSQL, the foreign key) refuse it

    with pytest.raises(IntegrityError):
        await db.write_conn(duplicate_or_orphan)
    ours_again, _, _ = await db.write_conn(_body)  # the connection is still good; the failed one left nothing
    assert len(ours_again) == 6
    await db.dispose()


def test_statements_read_and_write_as_sqlalchemy_does(tmp_path: Any) -> None:
    asyncio.run(_scenario(f"sqlite+aiosqlite:///{tmp_path / 'compiled.db'}"))
    if os.environ.get("AERODROME_TEST_DATABASE_URL"):
        with fresh_database() as url:
            asyncio.run(_scenario(url))
