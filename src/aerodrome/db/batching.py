"""Group commit: concurrent inserts share one transaction instead of queueing for a commit each.

SQLite allows one writer at a time, so under concurrent registration most of a request's time is spent
waiting for its own BEGIN … COMMIT. Requests that arrive while a transaction is in flight are collected
and written together in the next one (on SQLite that whole transaction is one hop to the driver's thread,
see ``db/inserts.py``). If that shared transaction fails, each request of the batch is retried in a
transaction of its own, so every caller gets exactly its own outcome (AlreadyExists, …) and nothing
half-written is ever visible.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from aerodrome.db.engine import Database
from aerodrome.db.inserts import NewRow


@dataclass
class _Pending:
    rows: Sequence[NewRow]
    done: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


def _settle(done: asyncio.Future[None], exc: Exception | None = None) -> None:
    if done.done():  # the caller was cancelled
        return
    if exc is None:
        done.set_result(None)
    else:
        done.set_exception(exc)


class InsertBatcher:
    """Inserts each caller's rows atomically, batching concurrent callers into one transaction."""

    def __init__(self, db: Database, *, max_batch: int = 64) -> None:
        self.db = db
        self.max_batch = max_batch
        self._queue: list[_Pending] = []
        self._writer: asyncio.Task[None] | None = None

    async def insert(self, rows: Sequence[NewRow]) -> None:
        """Insert ``rows`` atomically; raises what inserting them alone would raise."""
        pending = _Pending(rows)
        self._queue.append(pending)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        # Not shielded: a cancelled caller cancels only its own future, which the writer then skips
        # (its rows are written regardless, as they would be had the cancellation come a moment later).
        await pending.done

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            if not await self._write_each(batch):
                for pending in batch:
                    await self._write_alone(pending)

    async def _write_each(self, batch: list[_Pending]) -> bool:
        try:
            outcomes = await self.db.insert_each([pending.rows for pending in batch])
        except Exception:
            return False
        for pending, exc in zip(batch, outcomes, strict=True):
            _settle(pending.done, exc)
        return True

    async def _write_alone(self, pending: _Pending) -> None:
        try:
            await self.db.insert(pending.rows)
        except Exception as exc:
            _settle(pending.done, exc)
        else:
            _settle(pending.done)
