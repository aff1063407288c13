"""The items of one array node, run by a bounded set of runners instead of one asyncio task per item.

A queue hands out item attempts: every index once (a cursor, not a list of 10,000 pending specs), then
retries. Each runner takes a batch and runs it in one warm process when the launcher that runs the items
offers it (``Launcher.batches_for``), else one attempt at a time through the launcher; at most
``parallelism`` runners (the array node's, else the launcher's process capacity) run at once. Every item
keeps its own retry budgets, attempt numbers and directories ``<node>/<index>/<attempt>``
(``r<run>-<attempt>`` after a restart).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from aerodrome.engine.events import error
from aerodrome.engine.launchers.attempts import Attempt
from aerodrome.engine.launchers.batches import Done
from aerodrome.engine.launchers.protocol import ItemBatches
from aerodrome.engine.launchers.warm import WarmUnavailable
from aerodrome.engine.nodes.task import RetryBudget, attempt_spec, checkpoints, launch
from aerodrome.phases.tables import TASK
from aerodrome.values.provider_runtime import ProviderRuntime

if TYPE_CHECKING:
    from aerodrome.engine.context import NodeContext
    from aerodrome.engine.frames import Job
    from aerodrome.engine.nodes.array import Progress

INDEX_ENV = "FLYTE_K8S_ARRAY_INDEX"
log = logging.getLogger("aerodrome.engine")
SINGLE_RUNNERS = 256  # runners when each item is its own process (the launcher's slots bound the processes)


@dataclass(frozen=True)
class Pending:
    """One attempt of one index, waiting for a runner."""

    index: int
    attempt: int
    previous: str  # the prefix of the index's attempt before this one ('' for the first)


class ItemQueue:
    """Indexes not yet started (a cursor) and retries; unstarted items handed back go first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.cursor = 0
        self.waiting: deque[Pending] = deque()

    def __len__(self) -> int:
        return len(self.waiting) + self.size - self.cursor

    def take(self, count: int) -> list[Pending]:
        taken: list[Pending] = []
        while self.waiting and len(taken) < count:
            taken.append(self.waiting.popleft())
        while self.cursor < self.size and len(taken) < count:
            taken.append(Pending(self.cursor, 0, ""))
            self.cursor += 1
        return taken

    def put_back(self, items: list[Pending]) -> None:
        self.waiting.extendleft(reversed(items))


class ArrayItems:
    """Runs every index of an array node to success or to the end of its retries."""

    def __init__(
        self, g: NodeContext, job: Job, progress: Progress, provider: ProviderRuntime | None, run_number: int
    ) -> None:
        assert job.node.task is not None
        self.g, self.job, self.progress, self.provider, self.run_number = g, job, progress, provider, run_number
        self.queue = ItemQueue(progress.size)
        self.retries = max(job.node.retries, job.node.task.metadata.retries.retries)
        self.budgets: dict[int, RetryBudget] = {}
        self.changed = asyncio.Event()
        envs = {INDEX_ENV: "0", "BATCH_JOB_ARRAY_INDEX_VAR_NAME": INDEX_ENV}
        self.first = replace(attempt_spec(g, job, 0, f"{job.prefix}/0/0", envs), provider=provider)
        self.workdirs = str(self.first.workdir.parent.parent)  # <work>/<execution>/<node>
        self.batches = g.launcher.batches_for(self.first)
        parallelism = job.node.node.array_node.parallelism
        limit = self.batches.capacity if self.batches is not None else SINGLE_RUNNERS
        wanted = parallelism if parallelism > 0 else limit
        if self.batches is not None:  # more batch runners than the launcher's capacity only make smaller batches
            wanted = min(wanted, limit)
        self.runners = max(1, min(progress.size, wanted))

    def spec(self, item: Pending) -> Attempt:
        """The item's attempt: the node's first one with the item's numbers, prefix and directory."""
        run = "" if self.run_number == 0 else f"r{self.run_number}-"  # a rerun never reuses a directory
        where = f"{item.index}/{run}{item.attempt}"
        prefix = f"{self.job.prefix}/{where}"
        return replace(
            self.first,
            attempt=item.attempt,
            output_prefix=prefix,
            raw_output_prefix=f"{prefix}/raw",
            workdir=Path(f"{self.workdirs}/{where}"),
            envs={**self.first.envs, INDEX_ENV: str(item.index)},
            prev_checkpoint=checkpoints(item.previous) if item.previous else "",
        )

    async def run(self, stop: Callable[[], bool]) -> None:
        """Run runners until the queue is empty or ``stop()`` says the node's outcome is decided."""
        self.stop = stop
        await asyncio.gather(*(self._runner() for _ in range(self.runners)))

    def _batch_size(self) -> int:
        if self.batches is None:
            return 1
        return max(1, min(self.batches.size, math.ceil(len(self.queue) / self.runners)))

    async def _runner(self) -> None:
        while not self.stop() and (items := self.queue.take(self._batch_size())):
            for item in items:
                self.progress.set(item.index, TASK.RUNNING, item.attempt)
            if self.batches is not None:
                try:
                    await self._batch(self.batches, items)
                    continue
                except WarmUnavailable as exc:  # run them one per process instead
                    log.warning("map items of %s run one per process: %s", self.job.unique, exc)
                    self.batches = None
                    self.queue.put_back(items)
                    continue
            item = items[0]
            self._ended(item, Done(await launch(self.g, self.job, self.spec(item))))

    async def _batch(self, batches: ItemBatches, items: list[Pending]) -> None:
        specs = [self.spec(item) for item in items]
        slots = self.job.run.slots

        def on_done(position: int, done: Done) -> None:
            self._ended(items[position], done)

        async with slots if slots is not None else contextlib.nullcontext():
            unstarted = await batches.run(specs, on_done)
        self.queue.put_back([items[i] for i in unstarted])

    def _ended(self, item: Pending, done: Done) -> None:
        result, progress = done.result, self.progress
        if result.ok and result.outputs_url:
            progress.outputs[item.index] = done.outputs if done.outputs is not None else result.outputs_url
            progress.set(item.index, TASK.SUCCEEDED, item.attempt)
        else:
            failure = result.error or error("MissingOutputs", f"index {item.index} wrote no outputs")
            budget = self.budgets.setdefault(item.index, RetryBudget(self.retries))
            if budget.spend(result):
                prefix = self.spec(item).output_prefix
                self.queue.put_back([Pending(item.index, item.attempt + 1, prefix)])
                progress.set(item.index, TASK.RUNNING, item.attempt + 1)
            else:
                self.budgets.pop(item.index, None)
                progress.errors[item.index] = failure
                progress.set(item.index, TASK.FAILED, item.attempt)
        self.changed.set()
