"""The SQLite dispatcher's skip list: an outcome still being written, or written after a read began, is skipped."""

from __future__ import annotations

from datetime import UTC, datetime

from aerodrome.db.models import OutboxRow
from aerodrome.db.repositories.outbox import Failure
from aerodrome.notifications.rounds import Unwritten


def _row(ident: int, lane: str = "nats|p/d/e") -> OutboxRow:
    return OutboxRow(id=ident, lane=lane)


def test_rows_stay_skipped_until_a_read_begins_after_their_commit() -> None:
    unwritten = Unwritten()
    unwritten.add([1], [])
    seen = unwritten.commits  # a read begins while the outcome of row 1 is being written …
    unwritten.committed([1], [])  # … and commits before the read's rows are looked at
    assert [r.id for r in unwritten.fresh([_row(1), _row(2)], seen)] == [2]  # its snapshot may be stale
    assert [r.id for r in unwritten.fresh([_row(2)], unwritten.commits)] == [2]
    assert unwritten.rows == {}


def test_a_lane_behind_an_unwritten_retry_is_held() -> None:
    unwritten = Unwritten()
    retry = Failure(5, 1, "down", datetime.now(UTC), give_up=False, lane="nats|p/d/e")
    given_up = Failure(6, 9, "down", datetime.now(UTC), give_up=True, lane="nats|p/d/f")
    unwritten.add([], [retry, given_up])
    rows = [_row(7, "nats|p/d/e"), _row(8, "nats|p/d/f")]
    assert [r.id for r in unwritten.fresh(rows, 0)] == [8]  # a failed-for-good row does not hold its lane
    unwritten.committed([], [retry, given_up])
    assert [r.id for r in unwritten.fresh(rows, unwritten.commits)] == [7, 8]
