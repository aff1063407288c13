"""Execution leases: which process's engine drives which execution (design decision 8).

Each process has an owner id. Its claim loop takes unfinished executions whose lease is free or expired
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so claimers never wait for each other) while the engine has
capacity; its heartbeat renews the leases of what it drives, in database time. A process that dies
stops renewing, its leases expire and another process claims the executions and resumes them the way a
restart does. A graceful stop hands the leases back at once. A lease the heartbeat finds taken (this
process stalled past the expiry) is dropped without a word: its new owner reports from now on.

SQLite serves one process: a lock file beside the database refuses a second one, and the process that
holds the lock frees every earlier lease at start (their owners are gone), so a restart resumes at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Protocol

from aerodrome.db.engine import Database, is_conflict, is_disconnect
from aerodrome.db.models import EngineProcessRow
from aerodrome.db.notify import Listener, notify
from aerodrome.db.repositories.leases import Leased
from aerodrome.engine.sqlite_lock import SqliteLock
from aerodrome.phases.tables import WF, WORKFLOW_TERMINAL
from aerodrome.settings import LeaseSettings

log = logging.getLogger("aerodrome.engine")
TERMINAL = [WF.Phase.Name(p) for p in WORKFLOW_TERMINAL]
ABORTING = WF.Phase.Name(WF.ABORTING)
ABORT_BATCH = 20
CLAIM_GAP_SECONDS = 0.02  # after a claim that took one execution (or none); grows with what a claim took
CLAIM_GAP_MAX_SECONDS = 0.1
# While creations arrive, a claim takes at most BUSY_CLAIM executions (the first events of one claim's starts
# are written in one batch on the event loop, which requests wait behind), and one that took that many is
# followed by another after BUSY_GAP_SECONDS: up to 400 starts per second meanwhile, full claims afterwards.
BUSY_CLAIM = 16
BUSY_GAP_SECONDS = 0.04
RENEW_RETRIES = 5  # a renewal that lost a deadlock is run again at once, this many times at most
RENEW_CHUNK = 250  # leases renewed per write transaction


def new_owner() -> str:
    """A lease owner id, unique per process start: host, pid and a random suffix (fits 64 characters)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


class Driver(Protocol):
    """What the lease keeper needs from the engine."""

    def capacity(self) -> int:
        """How many more executions it may take now."""

    def driving(self) -> list[int]:
        """Row ids of the executions it drives."""

    def task_processes(self) -> int:
        """Task processes it runs now."""

    def drive(self, leased: Leased) -> None:
        """Start driving a claimed execution."""

    def drop(self, row_id: int) -> None:
        """Stop driving without reporting (the lease is lost; another engine drives it now)."""

    def abort(self, project: str, domain: str, name: str) -> None:
        """Abort an execution it drives (TerminateExecution arrived elsewhere)."""


class LeaseKeeper:
    """The claim loop and the heartbeat of one process."""

    def __init__(self, db: Database, settings: LeaseSettings, *, version: str, owner: str | None = None) -> None:
        self.db = db
        self.settings = settings
        self.version = version
        self.owner = owner or new_owner()
        self.ttl = timedelta(seconds=settings.ttl_seconds)
        self.lock = SqliteLock.for_url(db.url) if db.is_sqlite else None
        self.listener = Listener(db, self._on_nudge)
        self._wake = asyncio.Event()
        self._loops: list[asyncio.Task[None]] = []
        self._driver: Driver | None = None
        self._last_beat = time.monotonic()
        self._full = False  # the last claim found no capacity: tell the others about new work
        self._claim_gap = CLAIM_GAP_SECONDS
        self._last_created = 0.0  # when this process last created an execution (``created``)
        self._abort_asked = False  # a terminate in this process: claim ABORTING executions even when full
        self._last_full_claim = 0.0

    # Lifecycle ---------------------------------------------------------------------------------------

    async def start(self, driver: Driver) -> None:
        """Take the SQLite lock, register this process, then claim and beat in the background."""
        if self.lock is not None:
            self.lock.acquire()
            async with self.db.transaction(write=True) as uow:
                await uow.leases.release_all_others(self.owner)
        self._driver = driver
        await self.beat()
        await self.listener.ensure()
        self._loops = [
            asyncio.create_task(self._every(self.settings.claim_seconds, self.claim, wake=True), name="lease claims"),
            asyncio.create_task(self._every(self.settings.heartbeat, self.heartbeat), name="lease heartbeat"),
        ]
        self.nudge()

    async def stop_claiming(self) -> None:
        for loop in self._loops:
            loop.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        self._loops = []
        await self.listener.close()

    async def stop(self) -> None:
        """Hand every lease back and deregister (graceful shutdown); errors are logged, not raised."""
        await self.stop_claiming()
        if self._driver is not None:
            try:
                async with self.db.transaction(write=True) as uow:
                    await uow.leases.release(self.owner)
                    await uow.processes.forget(self.owner)
            except Exception as exc:
                log.warning("could not hand leases back (%s); they expire in %s", exc, self.ttl)
        if self.lock is not None:
            self.lock.release()

    async def release(self, row_id: int) -> None:
        """Hand back the lease of one execution this process stopped driving; errors are logged, not raised."""
        try:
            async with self.db.transaction(write=True) as uow:
                await uow.leases.release(self.owner, [row_id])
        except Exception as exc:  # the lease then simply expires
            log.warning("could not release the lease of execution row %d: %s", row_id, exc)

    # Nudges ------------------------------------------------------------------------------------------

    def created(self) -> None:
        """An execution was created in this process: claim soon, in small batches while creations go on."""
        self._last_created = time.monotonic()
        self._wake.set()

    def nudge(self) -> None:
        """Claim now (a new execution was created in this process)."""
        self._wake.set()

    async def announce_abort(self, project: str, domain: str, name: str) -> None:
        """A terminate for an execution another process may drive: tell them, and claim it if nobody does."""
        self._abort_asked = True
        self.nudge()
        with contextlib.suppress(Exception):  # the heartbeat finds ABORTING anyway
            await notify(self.db, f"abort:{project}/{domain}/{name}")

    def _on_nudge(self, payload: str) -> None:
        kind, _, rest = payload.partition(":")
        if kind == "abort" and self._driver is not None and rest.count("/") == 2:
            project, domain, name = rest.split("/")
            self._driver.abort(project, domain, name)
        elif kind == "work":
            self._wake.set()

    # Loops -------------------------------------------------------------------------------------------

    async def _every(self, seconds: float, work: Callable[[], Awaitable[None]], *, wake: bool = False) -> None:
        """Run ``work`` every ``seconds`` (sooner when nudged, for the claim loop); failures are logged."""
        last = 0.0
        while True:
            if wake:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), seconds)
                # A burst nudges once per creation: claim at once after a quiet spell, else wait out a gap that
                # grows with what the last claim took (to CLAIM_GAP_MAX_SECONDS), so that one claim, one read and
                # shared event transactions start what arrived meanwhile: the engine lags a burst a moment.
                gap = self._claim_gap - (time.monotonic() - last)
                if gap > 0:
                    await asyncio.sleep(gap)
                self._wake.clear()
            else:
                await asyncio.sleep(seconds)
            last = time.monotonic()
            try:
                await work()
            except Exception as exc:
                level = logging.WARNING if is_disconnect(exc) else logging.ERROR
                log.log(
                    level,
                    "%s failed: %s",
                    getattr(work, "__name__", "lease work"),
                    exc,
                    exc_info=not is_disconnect(exc),
                )

    async def claim(self) -> None:
        """Claim free or expired executions up to the engine's capacity and start driving them."""
        assert self._driver is not None
        room = self._driver.capacity()
        if room <= 0 and not self._full:
            self._full = True
            await notify(self.db, "work")  # someone else may have room for what arrived here
        self._full = room <= 0
        if self._full:  # ABORTING executions only: on a terminate here, else every claim_seconds (a
            # creation's nudge brings nothing a full engine takes: no write transaction beside each request)
            if not self._abort_asked and time.monotonic() - self._last_full_claim < self.settings.claim_seconds:
                return
            self._abort_asked, self._last_full_claim = False, time.monotonic()
        busy = time.monotonic() - self._last_created < CLAIM_GAP_MAX_SECONDS
        room = min(room, BUSY_CLAIM) if busy else room
        async with self.db.transaction(write=True) as uow:
            if room > 0:
                claimed = await uow.leases.claim(self.owner, self.ttl, room, TERMINAL)
            else:  # full, yet a terminate must not wait for room: aborting takes none
                claimed = await uow.leases.claim(self.owner, self.ttl, ABORT_BATCH, TERMINAL, only=[ABORTING])
        capped = busy and len(claimed) >= room > 0  # more may wait: claim again after a short gap
        self._claim_gap = (
            BUSY_GAP_SECONDS if capped else min(CLAIM_GAP_MAX_SECONDS, CLAIM_GAP_SECONDS * max(1, len(claimed)))
        )
        if capped:
            self._wake.set()
        for leased in claimed:
            self._driver.drive(leased)
        if claimed:
            log.debug("claimed %d execution(s)", len(claimed))  # every new execution: not for the console

    async def _renew(self, ids: list[int]) -> list[Leased]:
        """Extend this process's leases, RENEW_CHUNK per write transaction: one UPDATE of thousands of rows
        held SQLite's write lock long enough to be the 1-client p99 of CreateExecution (whose insert waits
        for it); between chunks the requests' inserts go first (``db/write_lock.py``)."""
        held: list[Leased] = []
        for start in range(0, len(ids), RENEW_CHUNK):
            held += await self._renew_chunk(ids[start : start + RENEW_CHUNK])
        return held

    async def _renew_chunk(self, ids: list[int]) -> list[Leased]:
        """A renewal that lost a lock conflict (PostgreSQL's deadlock victim, against event writes locking the
        same execution rows) is run again at once: waiting for the next beat could let the leases expire and
        another process take executions still driven here."""
        for retry in range(RENEW_RETRIES):
            try:
                async with self.db.transaction(write=True) as uow:
                    return await uow.leases.renew(self.owner, self.ttl, ids)
            except Exception as exc:
                if not is_conflict(exc) or retry == RENEW_RETRIES - 1:
                    raise
                await asyncio.sleep(random.uniform(0.01, 0.05))
        raise AssertionError("unreachable")

    async def heartbeat(self) -> None:
        """Renew the leases of what this process drives; drop lost ones, abort ABORTING ones, beat."""
        assert self._driver is not None
        ids = self._driver.driving()
        try:
            held = await self._renew(ids)
            await self.beat()
        except Exception as exc:
            if is_disconnect(exc) and time.monotonic() - self._last_beat > self.settings.ttl_seconds:
                log.warning("the database was unreachable longer than a lease: dropping %d execution(s)", len(ids))
                for row_id in ids:
                    self._driver.drop(row_id)
            raise
        self._last_beat = time.monotonic()
        kept = {lease.id for lease in held}
        for row_id in set(ids) - kept:
            log.warning("lease of execution row %d was taken over; this process stops driving it", row_id)
            self._driver.drop(row_id)
        for lease in held:
            if lease.phase == ABORTING:
                self._driver.abort(lease.project, lease.domain, lease.name)
        await self.listener.ensure()

    async def beat(self) -> None:
        """Upsert this process's row (``aerodrome status`` reads it) and forget long-dead processes."""
        assert self._driver is not None
        stats = {
            "executions": len(self._driver.driving()),
            "task_processes": self._driver.task_processes(),
            "max_executions": self.settings.max_executions,
        }
        async with self.db.transaction(write=True) as uow:
            now = uow.leases.now()
            if not await uow.processes.beat(self.owner, now, **stats):
                at = await uow.leases.db_time()
                host, pid, _ = self.owner.rsplit(":", 2)
                row = EngineProcessRow(
                    owner=self.owner, host=host, pid=int(pid), version=self.version, started_at=at, heartbeat_at=at
                )
                row.executions, row.task_processes, row.max_executions = (
                    stats["executions"],
                    stats["task_processes"],
                    stats["max_executions"],
                )
                await uow.add_all([row])
            await uow.processes.forget_stale(await uow.leases.db_time() - 20 * self.ttl)
