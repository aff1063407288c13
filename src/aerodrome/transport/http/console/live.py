"""Live updates for the console: committed events fanned out to the pages watching that execution.

``LiveHub.notify`` is the EventManager watcher (called after each commit; it only marks queues, never
blocks or raises). Each open execution page holds one subscription; bursts of events collapse into one
wake-up, and the page re-renders the changed parts once per wake-up, so a 1,000-item map costs a handful
of renders per second, not one per event. ``stop`` ends every stream so the HTTP server can shut down.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator

from aerodrome.managers.events import Recorded

log = logging.getLogger("aerodrome.console.live")
Key = tuple[str, str, str]


class Subscription:
    """One watcher of one execution: a flag-like queue of at most one pending wake-up."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[bool] = asyncio.Queue(maxsize=1)

    def wake(self) -> None:
        if self.queue.empty():
            self.queue.put_nowait(False)

    def close(self) -> None:
        """Replace any pending wake-up by the end of the stream."""
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(True)

    async def changes(self, heartbeat: float) -> AsyncIterator[bool]:
        """Yields True after a change, False after ``heartbeat`` seconds of quiet; ends when the hub stops."""
        while True:
            try:
                stop = await asyncio.wait_for(self.queue.get(), timeout=heartbeat)
            except TimeoutError:
                yield False
                continue
            if stop:
                return
            yield True


class LiveHub:
    """In-process fan-out from the event watcher to subscribers, keyed by execution (project, domain, name)."""

    name = "console-live"

    def __init__(self) -> None:
        self._subscribers: dict[Key, set[Subscription]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: int | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()

    async def stop(self) -> None:
        for subscribers in list(self._subscribers.values()):
            for sub in list(subscribers):
                sub.close()
        self._subscribers.clear()

    def subscribe(self, key: Key) -> Subscription:
        sub = Subscription()
        self._subscribers.setdefault(key, set()).add(sub)
        return sub

    def unsubscribe(self, key: Key, sub: Subscription) -> None:
        subscribers = self._subscribers.get(key)
        if subscribers is not None:
            subscribers.discard(sub)
            if not subscribers:
                del self._subscribers[key]

    def watchers(self, key: Key) -> int:
        return len(self._subscribers.get(key, ()))

    def notify(self, recorded: Recorded) -> None:
        """The EventManager watcher: wake the subscribers of this execution (thread-safe, never raises)."""
        try:
            ex = recorded.execution
            key = (ex.project, ex.domain, ex.name)
            if key not in self._subscribers:
                return
            if self._loop is not None and threading.get_ident() != self._thread:
                self._loop.call_soon_threadsafe(self._wake, key)
            else:
                self._wake(key)
        except Exception:  # a watcher must not fail the event it watches
            log.exception("console live update failed")

    def _wake(self, key: Key) -> None:
        for sub in list(self._subscribers.get(key, ())):
            sub.wake()
