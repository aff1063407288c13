"""The item queue of an array node: every index once, in order, then retries and handed-back items first."""

from __future__ import annotations

from aerodrome.engine.nodes.array_items import ItemQueue, Pending


def test_indexes_come_from_a_cursor_and_handed_back_items_go_first() -> None:
    queue = ItemQueue(5)
    assert len(queue) == 5 and not queue.waiting  # nothing materialised for the indexes not yet taken
    first = queue.take(3)
    assert [p.index for p in first] == [0, 1, 2] and len(queue) == 2
    queue.put_back(first[1:])  # a batch that ended after its first item
    queue.put_back([Pending(0, 1, "prefix/0/0")])  # a retry of item 0
    assert [(p.index, p.attempt) for p in queue.take(10)] == [(0, 1), (1, 0), (2, 0), (3, 0), (4, 0)]
    assert len(queue) == 0 and queue.take(1) == []
