"""SQLite's in-process write lock: one holder at a time, a request's insert before the engine's queued
writes, the two queues alternating so neither starves, and a cancelled waiter never loses the lock."""

from __future__ import annotations

import asyncio

import pytest

from aerodrome.db.write_lock import WriteLock


async def _take(lock: WriteLock, name: str, order: list[str], *, urgent: bool, hold: float = 0.0) -> None:
    await lock.acquire(urgent=urgent)
    try:
        order.append(name)
        await asyncio.sleep(hold)
    finally:
        lock.release()


async def test_one_holder_at_a_time() -> None:
    lock, inside, most = WriteLock(), [0], [0]

    async def work(urgent: bool) -> None:
        async with lock.urgent() if urgent else lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
            await asyncio.sleep(0)
            inside[0] -= 1

    await asyncio.gather(*(work(i % 3 == 0) for i in range(30)))
    assert most[0] == 1


async def test_urgent_waiters_go_before_queued_background_ones_but_alternate_with_them() -> None:
    lock, order = WriteLock(), []
    await lock.acquire()  # held by the background while everyone queues
    tasks = [asyncio.create_task(_take(lock, f"b{i}", order, urgent=False)) for i in range(3)]
    tasks += [asyncio.create_task(_take(lock, f"u{i}", order, urgent=True)) for i in range(3)]
    await asyncio.sleep(0)
    lock.release()
    await asyncio.gather(*tasks)
    assert order == ["u0", "b0", "u1", "b1", "u2", "b2"]


async def test_urgent_after_urgent_when_nobody_else_waits() -> None:
    lock, order = WriteLock(), []
    await lock.acquire(urgent=True)
    tasks = [asyncio.create_task(_take(lock, f"u{i}", order, urgent=True)) for i in range(2)]
    await asyncio.sleep(0)
    lock.release()
    await asyncio.gather(*tasks)
    assert order == ["u0", "u1"]


@pytest.mark.parametrize("when", ["waiting", "handed"])
async def test_a_cancelled_waiter_leaves_the_lock_to_the_next(when: str) -> None:
    lock, order = WriteLock(), []
    await lock.acquire()
    cancelled = asyncio.create_task(_take(lock, "cancelled", order, urgent=True))
    nxt = asyncio.create_task(_take(lock, "next", order, urgent=False))
    await asyncio.sleep(0)
    if when == "handed":
        lock.release()  # the lock passes to the urgent waiter, which is cancelled before it runs
        cancelled.cancel()
    else:
        cancelled.cancel()
        await asyncio.sleep(0)
        lock.release()
    await asyncio.wait_for(nxt, 5)
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert order == ["next"]
    await asyncio.wait_for(lock.acquire(), 5)  # free again
