"""The one lifecycle every background service shares (design decision 11).

The engine, the scheduler and the event and notification dispatchers each run inside the server
process beside the listeners. The composition root starts them in order once the listeners are up and
stops them in reverse order on shutdown, so tests, SIGTERM and several processes on one database see
the same behaviour whichever services are switched on.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol


class BackgroundService(Protocol):
    """A service the composition root starts after the listeners and stops before them."""

    name: str

    async def start(self) -> None:
        """Begin work; return once the service is running (long work goes into its own tasks)."""

    async def stop(self) -> None:
        """Stop work and wait for it; must not raise on a service that never started."""


async def cancel(task: asyncio.Task[None] | None) -> None:
    """Cancel a service's own task and wait until it has ended (nothing to do if it never started)."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
