"""The live hub: events wake only the watchers of their execution, bursts collapse, stop ends streams."""

from __future__ import annotations

import asyncio

from flyteidl.core import identifier_pb2

from aerodrome.managers.events import Recorded
from aerodrome.transport.http.console.live import LiveHub


def _recorded(name: str) -> Recorded:
    ex = identifier_pb2.WorkflowExecutionIdentifier(project="p", domain="d", name=name)
    return Recorded("node", ex, "RUNNING", node_id="n0")


async def _next(changes: object) -> bool:
    return await asyncio.wait_for(changes.__anext__(), timeout=2)  # type: ignore[attr-defined, no-any-return]


async def test_wakes_watchers_of_that_execution_once_per_burst() -> None:
    hub = LiveHub()
    await hub.start()
    mine, other = hub.subscribe(("p", "d", "a")), hub.subscribe(("p", "d", "b"))
    for _ in range(50):
        hub.notify(_recorded("a"))
    assert mine.queue.qsize() == 1 and other.queue.qsize() == 0
    assert await _next(mine.changes(heartbeat=5)) is True
    hub.unsubscribe(("p", "d", "a"), mine)
    assert hub.watchers(("p", "d", "a")) == 0
    hub.notify(_recorded("a"))  # nobody watching: nothing happens, nothing raises


async def test_quiet_gives_a_heartbeat_and_stop_ends_the_stream() -> None:
    hub = LiveHub()
    await hub.start()
    sub = hub.subscribe(("p", "d", "a"))
    changes = sub.changes(heartbeat=0.05)
    assert await _next(changes) is False
    hub.notify(_recorded("a"))
    await hub.stop()
    rest = [c async for c in changes]
    assert rest == []


async def test_notify_from_another_thread_is_delivered_on_the_loop() -> None:
    hub = LiveHub()
    await hub.start()
    sub = hub.subscribe(("p", "d", "a"))
    await asyncio.to_thread(hub.notify, _recorded("a"))
    assert await _next(sub.changes(heartbeat=5)) is True
