"""The outbox dispatcher: a background service that delivers outbox rows, in order per lane, at least once.

Each round takes due lanes (claimed in the database on PostgreSQL, see ``OutboxRepository.claim``; held
in memory by the single process of a SQLite database), delivers every lane's rows one after the other
(lanes run concurrently), and records the outcomes in one transaction: delivered rows are marked,
a failed row is retried after an exponential backoff (its lane waits behind it) until ``max_attempts``,
then recorded as failed — logged and visible on ``/healthz/outbox``, never silent, and never touching the
execution. A local event wakes the dispatcher at once; rows written by other processes are found by polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from itertools import groupby

from aerodrome.db.engine import Database
from aerodrome.db.models import OutboxRow
from aerodrome.db.repositories.outbox import Failure
from aerodrome.db.unit_of_work import UnitOfWork
from aerodrome.lifecycle import cancel
from aerodrome.managers.events import Recorded
from aerodrome.notifications.rounds import Outcome, Unwritten
from aerodrome.notifications.sinks import PermanentError, Sink
from aerodrome.settings import EventSettings

log = logging.getLogger("aerodrome.outbox")
LANE_CONCURRENCY = 32


def backoff(settings: EventSettings, attempts: int) -> float:
    """Seconds before attempt ``attempts + 1``: doubling from the initial delay, capped."""
    delay: float = settings.backoff_initial_seconds * 2.0 ** max(0, attempts - 1)
    return min(settings.backoff_max_seconds, delay)


class Dispatcher:
    """Drains the outbox into the configured sinks."""

    name = "outbox-dispatcher"

    def __init__(
        self,
        db: Database,
        sinks: Mapping[str, Sink],
        settings: EventSettings,
        watch: Callable[[Callable[[Recorded], None]], Callable[[], None]] | None = None,
        on_stop: Sequence[Callable[[], Awaitable[None]]] = (),
    ) -> None:
        self.db = db
        self.sinks = dict(sinks)
        self.settings = settings
        self._watch = watch
        self._on_stop = list(on_stop)
        self._unwatch: Callable[[], None] | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last_stats = 0.0
        self._last_purge = 0.0
        self._done = Outcome()  # delivered, failed and released rows not yet written back
        self.batch = settings.batch_size
        self._unwritten = Unwritten()  # SQLite: outcomes not yet committed, skipped by the next reads
        self._writer: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.db.is_sqlite:  # one server per SQLite database: any claim left behind is a dead process's
            async with self.db.transaction(write=True) as uow:
                await uow.outbox.release_all()
        if self._watch is not None:
            self._unwatch = self._watch(self._on_event)
        self._task = asyncio.create_task(self._run(), name=self.name)

    def _on_event(self, recorded: Recorded) -> None:
        """Wake up for events whose transaction added outbox rows; the others give it nothing to send (and a
        round costs two reads, for every event of every node)."""
        if recorded.outboxed:
            self._wake.set()

    async def stop(self) -> None:
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None
        await cancel(self._task)
        self._task = None
        await cancel(self._writer)
        self._writer = None
        try:
            await self.flush()  # what was delivered is recorded, so a clean restart does not resend it
        except Exception:
            log.exception("recording outbox deliveries on stop failed; they will be delivered again")
        for sink in self.sinks.values():
            with contextlib.suppress(Exception):
                await sink.close()
        for release in self._on_stop:
            with contextlib.suppress(Exception):
                await release()

    async def _run(self) -> None:
        while True:
            try:
                handled = await self.drain_once()
                await self._housekeeping()
            except Exception:  # background work logs and carries on; the rows stay in the outbox
                log.exception("outbox dispatch round failed; retrying")
                handled = 0
            if handled:
                continue
            try:
                await self.flush()
            except Exception:
                log.exception("recording outbox deliveries failed; retrying")
            self._wake.clear()
            try:
                idle = await self._idle_seconds()
            except Exception:
                log.exception("reading the outbox failed; retrying")
                idle = self.settings.poll_seconds
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=idle)
            # An event rarely comes alone: wait a moment so one round carries the burst, not one round each.
            await asyncio.sleep(self.settings.batch_wait_seconds)

    async def _idle_seconds(self) -> float:
        """Sleep until the next retry falls due, a local event arrives, or the poll interval passes."""
        async with self.db.transaction() as uow:
            due = await uow.outbox.next_due()
        if due is None:
            return self.settings.poll_seconds
        return max(0.01, min(self.settings.poll_seconds, (due - datetime.now(UTC)).total_seconds()))

    async def drain_once(self) -> int:
        """Deliver one round; returns the number of rows it took."""
        if self.db.is_sqlite:
            return await self._drain_in_memory()
        return await self._drain_claimed()

    async def _drain_claimed(self) -> int:
        """Several processes (PostgreSQL): record the previous round and claim the next in one transaction,
        then deliver. The outcome is written by the next round (or by ``flush``)."""
        loop = asyncio.get_running_loop()
        began = loop.time()
        done, self._done = self._done, Outcome()
        try:
            async with self.db.transaction(write=True) as uow:
                await self._record(uow, done)
                now = datetime.now(UTC)
                rows = await uow.outbox.claim(now, now + timedelta(seconds=self.settings.claim_seconds), self.batch)
        except BaseException:
            self._done.merge(done)  # not written: try again with the next round
            raise
        if rows:
            await self._deliver_all(rows, self._done, began)
        return len(rows)

    async def _drain_in_memory(self) -> int:
        """One process (SQLite): read the due rows without a turn at SQLite's single writer, skip those whose
        outcome is still being written, deliver, and write the outcome in the background, so delivery never
        queues behind the engine's writes."""
        began = asyncio.get_running_loop().time()
        seen = self._unwritten.commits  # a read that starts now sees every outcome committed so far
        async with self.db.transaction() as uow:
            rows = self._unwritten.fresh(await uow.outbox.due(datetime.now(UTC), self.batch), seen)
        if not rows:
            return 0
        outcome = Outcome()
        try:
            await self._deliver_all(rows, outcome, began)
        finally:  # also when stopped mid-round: what was delivered gets written by ``stop``
            outcome.released.clear()  # nothing was claimed in the database
            self._unwritten.add(outcome.delivered, outcome.failures)
            self._done.merge(outcome)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_in_background(), name="outbox-writer")
        return len(rows)

    async def _write_in_background(self) -> None:
        while self._done.delivered or self._done.failures or self._done.released:
            try:
                await self.flush()
            except Exception:
                log.exception("recording outbox deliveries failed; retrying")
                await asyncio.sleep(0.5)

    async def _deliver_all(self, rows: Sequence[OutboxRow], outcome: Outcome, began: float) -> None:
        loop = asyncio.get_running_loop()
        limit = asyncio.Semaphore(LANE_CONCURRENCY)
        ordered = sorted(rows, key=lambda r: (r.lane, r.id))
        lanes = [list(group) for _, group in groupby(ordered, key=lambda r: r.lane)]
        # Stop starting deliveries while one could still outlast the claim: after it, another process may own the lane.
        started = loop.time()
        claim, timeout = self.settings.claim_seconds, self.settings.timeout_seconds
        deadline = started + max(claim / 2, claim - timeout - 5)
        await asyncio.gather(*(self._lane(lane, outcome, limit, deadline) for lane in lanes))
        log.debug(
            "outbox round: %d rows in %d lanes, taken in %.3f s, delivered in %.3f s",
            len(rows),
            len(lanes),
            started - began,
            loop.time() - started,
        )

    async def flush(self) -> None:
        """Write the outcome of the rounds so far (when idle, in the background, and when stopping)."""
        done, self._done = self._done, Outcome()
        if not (done.delivered or done.failures or done.released):
            return
        try:
            async with self.db.transaction(write=True) as uow:
                await self._record(uow, done)
        except BaseException:
            self._done.merge(done)  # not written: try again later
            raise
        self._unwritten.committed(done.delivered, done.failures)

    async def _lane(
        self, rows: Sequence[OutboxRow], outcome: Outcome, limit: asyncio.Semaphore, deadline: float
    ) -> None:
        async with limit:
            loop = asyncio.get_running_loop()
            for index, row in enumerate(rows):
                if loop.time() >= deadline:
                    outcome.released.extend(r.id for r in rows[index:])
                    return
                try:
                    await self._deliver(row)
                except asyncio.CancelledError:
                    outcome.released.extend(r.id for r in rows[index:])
                    raise
                except Exception as exc:
                    failure = self._failure(row, exc)
                    outcome.failures.append(failure)
                    if not failure.give_up:  # the rest of the lane waits behind the retried row
                        outcome.released.extend(r.id for r in rows[index + 1 :])
                        return
                else:
                    outcome.delivered.append(row.id)

    async def _deliver(self, row: OutboxRow) -> None:
        sink = self.sinks.get(row.sink)
        if sink is None:
            raise PermanentError(f"sink {row.sink!r} is not configured")
        await asyncio.wait_for(sink.deliver(row), timeout=self.settings.timeout_seconds + 5)

    def _failure(self, row: OutboxRow, exc: Exception) -> Failure:
        attempts = row.attempts + 1
        give_up = isinstance(exc, PermanentError) or attempts >= self.settings.max_attempts
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        execution = f"{row.execution_project}/{row.execution_domain}/{row.execution_name}"
        if give_up:
            log.error(
                "delivery of %s to %s for execution %s failed for good after %d attempt(s): %s",
                row.message_id,
                row.sink,
                execution,
                attempts,
                error,
            )
        else:
            log.warning(
                "delivery of %s to %s for execution %s failed (attempt %d of %d), retrying: %s",
                row.message_id,
                row.sink,
                execution,
                attempts,
                self.settings.max_attempts,
                error,
            )
        next_at = datetime.now(UTC) + timedelta(seconds=backoff(self.settings, attempts))
        return Failure(row.id, attempts, error, next_at, give_up, row.lane)

    async def _record(self, uow: UnitOfWork, outcome: Outcome) -> None:
        await uow.outbox.delivered(outcome.delivered, datetime.now(UTC), keep=self.settings.retention_hours > 0)
        for failure in outcome.failures:
            await uow.outbox.failed(failure)
        await uow.outbox.release(outcome.released)

    async def _housekeeping(self) -> None:
        """The depth log line while rows wait, and the purge of delivered rows past retention."""
        loop = asyncio.get_running_loop()
        if loop.time() - self._last_stats >= self.settings.stats_log_seconds:
            self._last_stats = loop.time()
            async with self.db.transaction() as uow:
                stats = await uow.outbox.stats()
            if stats.pending or stats.failed:
                age = (datetime.now(UTC) - stats.oldest_pending).total_seconds() if stats.oldest_pending else 0.0
                log.info("outbox: %d pending (oldest %.1f s), %d failed", stats.pending, age, stats.failed)
        if self.settings.retention_hours > 0 and loop.time() - self._last_purge >= 600:
            self._last_purge = loop.time()
            before = datetime.now(UTC) - timedelta(hours=self.settings.retention_hours)
            async with self.db.transaction(write=True) as uow:
                await uow.outbox.purge(before)
