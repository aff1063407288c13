"""A probe of the event loop's health: how late a short sleep wakes up.

Everything in aerodrome (both listeners, the engine, the dispatchers) shares one asyncio loop, so a
blocking call anywhere shows here first, before it shows as slow RPCs.
"""

from __future__ import annotations

import asyncio

from aerodrome.lifecycle import cancel
from aerodrome.observability.metrics import Metrics


class LoopLagMonitor:
    """A background service (see ``lifecycle``) that sleeps ``interval`` seconds and records the overshoot."""

    name = "loop-lag"

    def __init__(self, metrics: Metrics, interval: float = 0.5) -> None:
        self.metrics = metrics
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="aerodrome-loop-lag")

    async def stop(self) -> None:
        await cancel(self._task)
        self._task = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(self.interval)
            lag = max(loop.time() - before - self.interval, 0.0)
            self.metrics.loop_lag.set(lag)
            self.metrics.loop_lag_seconds.observe(lag)
