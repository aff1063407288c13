"""Group commit of event writes: events that arrive while a write transaction is in flight share the next one.

Every phase change of every node and task is one event, and each used to be a write transaction of its
own: on SQLite one writer at a time, so a 100-wide fan-out queued its events behind each other for a
BEGIN … COMMIT each, and a node's RUNNING and its first attempt's RUNNING were two transactions. Here the
EventManager hands each event over as a *unit* (reads, the transition check, the row changes, the event
log and outbox rows, as a plain function of the transaction's records); the writer runs every unit queued
so far in one transaction, in the order they were queued, through ``Database.write_conn`` (on SQLite the
whole batch runs without a thread hop, however many statements its units run) as Core statements
(``EventRecords``): changed records and new log and outbox rows are written when the batch ends.

Crash semantics are those of one transaction per event: a caller is answered, and watchers are told,
only after the transaction holding its event committed. A unit that breaks a rule raises an
``AdminError`` before it changes anything, so it is answered with its error while the others of its
batch commit. Any other failure (a constraint, the database going away) rolls the batch back and each
unit is then written in a transaction of its own, so every caller gets exactly its own outcome.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from sqlalchemy import Connection

from aerodrome.db.engine import Database, is_conflict
from aerodrome.db.repositories.event_records import EventRecords, Key
from aerodrome.errors import AdminError

log = logging.getLogger("aerodrome.events")
R = TypeVar("R")
CONFLICT_RETRIES = 5  # a deadlock victim is written again this many times before its caller hears of it
Unit = Callable[[EventRecords], R]


@dataclass
class _Pending(Generic[R]):
    unit: Unit[R]
    lock: Key | None  # the execution the unit locks, for locking a batch's executions in order up front
    done: asyncio.Future[R] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


def _settle(done: asyncio.Future[R], result: R | None = None, exc: BaseException | None = None) -> None:
    if done.done():  # the caller was cancelled; its event is written regardless, as a moment later it would be
        return
    if exc is not None:
        done.set_exception(exc)
    else:
        done.set_result(result)  # type: ignore[arg-type]


def _alone(unit: Unit[R]) -> Callable[[Connection], R]:
    def body(conn: Connection) -> R:
        records = EventRecords(conn)
        try:
            result = unit(records)
            records.flush()
            return result
        finally:
            records.close()

    return body


class EventWriter(Generic[R]):
    """Runs units of event work in shared write transactions; ``committed`` is called with each unit's
    result right after its transaction commits (before its caller resumes)."""

    def __init__(self, db: Database, committed: Callable[[R], None], *, max_batch: int = 128) -> None:
        self.db = db
        self.committed = committed
        self.max_batch = max_batch
        self._queue: list[_Pending[R]] = []
        self._writer: asyncio.Task[None] | None = None

    def submit(self, units: Sequence[Unit[R]], locks: Sequence[Key | None] = ()) -> list[asyncio.Future[R]]:
        """Queue units in order (units submitted together land in the same transaction unless the batch is
        full); each future resolves once its unit is durable, or with its own error. ``locks``: per unit,
        the execution it locks (see ``EventRecords.lock_in_order``)."""
        pending = [_Pending(unit, lock) for unit, lock in zip(units, [*locks, *[None] * len(units)], strict=False)]
        self._queue.extend(pending)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain(), name="event writer")
        return [p.done for p in pending]

    async def write(self, unit: Unit[R], lock: Key | None = None) -> R:
        """Write one unit and wait until it is durable."""
        (done,) = self.submit([unit], [lock])
        return await done

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            try:
                if len(batch) == 1 or not await self._write_together(batch):
                    for pending in batch:
                        await self._write_alone(pending)
            except BaseException as exc:  # cancelled (the loop is closing): nobody waits forever
                for pending in [*batch, *self._queue]:
                    _settle(pending.done, exc=exc if isinstance(exc, Exception) else asyncio.CancelledError())
                self._queue.clear()
                raise

    async def _write_together(self, batch: list[_Pending[R]]) -> bool:
        def body(conn: Connection) -> list[tuple[R | None, AdminError | None]]:
            records = EventRecords(conn)
            try:
                records.lock_in_order([p.lock for p in batch if p.lock is not None])
                outcomes: list[tuple[R | None, AdminError | None]] = []
                for pending in batch:
                    try:
                        outcomes.append((pending.unit(records), None))
                    except AdminError as exc:  # raised before the unit changed anything
                        outcomes.append((None, exc))
                records.flush()
                return outcomes
            finally:
                records.close()

        try:
            outcomes = await self.db.write_conn(body)
        except Exception as exc:
            log.debug("a batch of %d events failed together (%s); writing them one by one", len(batch), exc)
            return False
        for pending, (result, error) in zip(batch, outcomes, strict=True):
            if error is None:
                self._committed(result)  # type: ignore[arg-type]
            _settle(pending.done, result, error)
        return True

    async def _write_alone(self, pending: _Pending[R]) -> None:
        for retry in range(CONFLICT_RETRIES + 1):
            try:
                result = await self.db.write_conn(_alone(pending.unit))
                break
            except Exception as exc:
                # Another process's transaction (a lease heartbeat, its own events) locked the same rows in
                # another order and PostgreSQL picked this one to fail: run it again after a short pause.
                if is_conflict(exc) and retry < CONFLICT_RETRIES:
                    await asyncio.sleep(random.uniform(0.01, 0.05) * (retry + 1))
                    continue
                _settle(pending.done, exc=exc)
                return
        self._committed(result)
        _settle(pending.done, result)

    def _committed(self, result: R) -> None:
        try:
            self.committed(result)
        except Exception:  # a watcher's bug must not turn a stored event into an error for its sender
            log.exception("telling watchers of a committed event failed")
