"""The in-process lock of SQLite's single writer, with a turn for requests waiting on an answer.

Every write transaction of the process queues on this lock. First come, first served put a
CreateExecution's insert behind whatever the engine had queued (a claim, a batch of event writes, a lease
renewal): the caller waited for work done for other executions. Here a waiter marked ``urgent`` (a
request's own group-committed insert) goes before the background's waiters, but never twice in a row
while the background waits: the two queues alternate, so neither can starve the other (the engine's
heartbeat must renew its leases in time).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType


class WriteLock:
    """A mutex with two FIFO queues (urgent, background) served in alternation when both wait."""

    def __init__(self) -> None:
        self._held = False
        self._urgent_last = False
        self._queues: dict[bool, deque[asyncio.Future[None]]] = {True: deque(), False: deque()}

    async def acquire(self, *, urgent: bool = False) -> None:
        if not self._held and not self._queues[True] and not self._queues[False]:
            self._held, self._urgent_last = True, urgent
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queues[urgent].append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed the lock just as the caller was cancelled: pass it on
            elif waiter in self._queues[urgent]:  # (a release may have dropped it already)
                self._queues[urgent].remove(waiter)
            raise
        self._urgent_last = urgent

    def release(self) -> None:
        """Hand the lock to the next waiter: urgent first, unless the last holder was urgent too and the
        background waits."""
        urgent, background = self._queues[True], self._queues[False]
        for queue in (background, urgent) if self._urgent_last and background else (urgent, background):
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)  # stays held: ownership passes to the waiter
                    return
        self._held = False

    @asynccontextmanager
    async def urgent(self) -> AsyncIterator[None]:
        """Hold the lock, ahead of background writers."""
        await self.acquire(urgent=True)
        try:
            yield
        finally:
            self.release()

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
