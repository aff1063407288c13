"""Map items on Ray in batches: many items of one array node in one Ray task, as one fork of the worker's
warm process (``remote_batch.py`` there, ``map_batch.py`` in the fork).

One process per item pays, for every item, loading the task's module (and whatever it imports), making
an S3 client and reading the whole input list; a batch pays them once. Each item keeps its own attempt:
directory, output prefix, log, retries, ``FLYTE_K8S_ARRAY_INDEX``. An item that crashes the fork or
outlives its timeout fails alone and the items after it come back unstarted (another batch runs them).
A batch that cannot run at all (no warm process on the worker, the cluster unreachable, resources no node
has) raises ``WarmUnavailable``: the items then run one Ray task each, which reports those errors per item.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aerodrome.engine.launchers.attempts import Attempt, AttemptResult
from aerodrome.engine.launchers.batches import COMMAND, OPT_OUT, RECYCLE_BYTES, Done, OnDone
from aerodrome.engine.launchers.commands import container_args
from aerodrome.engine.launchers.distributions import FastCommand
from aerodrome.engine.launchers.on_ray.client import RayUnavailable, StoreRefused
from aerodrome.engine.launchers.on_ray.remote import SCRATCH
from aerodrome.engine.launchers.on_ray.resources import QuantityError, ray_options, shortfall
from aerodrome.engine.launchers.outcomes import item_succeeded, item_usage, keep_log, outcome
from aerodrome.engine.launchers.warm import WarmUnavailable
from aerodrome.managers.secrets import SecretMissing

if TYPE_CHECKING:
    from aerodrome.engine.launchers.on_ray.launcher import RayLauncher

INDEX_ENV = "FLYTE_K8S_ARRAY_INDEX"


class RayBatches:
    """Runs batches of map items as Ray tasks, each holding one of the Ray launcher's attempt slots."""

    def __init__(self, launcher: RayLauncher, size: int) -> None:
        self.launcher = launcher
        self.size = size

    @property
    def capacity(self) -> int:
        """The CPUs of the clusters connected so far (batches beyond what runs at once would only be
        smaller), at most the launcher's attempts; those attempts before any cluster answered."""
        drivers = self.launcher.drivers.values()
        cpus = sum(int(n.get("CPU", 0)) for d in drivers if d.cluster for n in d.cluster.resources)
        return max(1, min(cpus, self.launcher.options.max_attempts)) if cpus else self.launcher.options.max_attempts

    def accepts(self, attempt: Attempt) -> bool:
        """``pyflyte-map-execute`` items (fast-registered or not) that the Ray launcher would run, unless the
        task asked for a process per item (``AERODROME_MAP_BATCH=false``)."""
        if self.launcher.refusal(attempt) or attempt.task.type == "ray" or attempt.task.metadata.is_eager:
            return False
        env = {kv.key: kv.value for kv in attempt.task.container.env}
        if env.get(OPT_OUT, "").strip().lower() in {"0", "false", "no", "off"}:
            return False
        args = container_args(attempt, SCRATCH)
        fast = FastCommand.parse(args)
        inner = fast.inner if fast else args
        return bool(inner) and Path(inner[0]).name == COMMAND

    async def run(self, items: list[Attempt], on_done: OnDone) -> list[int]:
        launcher, first = self.launcher, items[0]
        try:
            options = ray_options(first.task)
            driver, cluster = await launcher.cluster(launcher.address_of(first))
        except (QuantityError, RayUnavailable, StoreRefused) as exc:
            raise WarmUnavailable(str(exc)) from None
        if shortfall(options, cluster.resources, cluster.address):
            raise WarmUnavailable("no node can hold the items' resources")
        try:
            request = await launcher.request(first)
        except SecretMissing as exc:  # each item fails with it, one Ray task each
            raise WarmUnavailable(str(exc)) from None
        request["batch"] = {"items": [_item(item) for item in items], "recycle_bytes": RECYCLE_BYTES}
        message = {"op": "task", "request": request, "options": launcher.options_of(first, options)}
        async with launcher.slots:
            launcher.running += 1
            try:
                reply = await driver.call(message)
            finally:
                launcher.running -= 1
        result = reply.get("result") or {}
        batch = result.get("batch")
        if not batch or "lost" in batch:
            launcher.note_cold(result)
            why = (batch or {}).get("lost") or result.get("zygote_error") or reply.get("error") or "no warm process"
            raise WarmUnavailable(f"a Ray batch of map items did not run: {why}")
        return await self._ended(items, batch, on_done)

    async def _ended(self, items: list[Attempt], batch: dict[str, Any], on_done: OnDone) -> list[int]:
        """Report every item the batch ended, then the one it died in; the rest were not started."""
        for message in batch["done"]:
            position = int(message["done"])
            on_done(position, Done(await self._done(items[position], message)))
        current = batch.get("current")
        if current is None:
            return list(range(len(batch["done"]), len(items)))
        item = items[int(current)]
        log_path, log_url = await self._log(item, batch.get("current_log", ""))
        timed_out, code = bool(batch["timed_out"]), batch["exit_code"]
        result = await outcome(self.launcher.store, item, timed_out, code, log_path, log_url, {})
        on_done(int(current), Done(result))
        return list(range(int(current) + 1, len(items)))

    async def _done(self, item: Attempt, message: dict[str, Any]) -> AttemptResult:
        usage = item_usage(message)
        log_path, log_url = await self._log(item, message.get("log", ""))
        if message.get("has_outputs"):
            result = item_succeeded(item, log_url, usage)
        else:
            result = await outcome(self.launcher.store, item, False, 0, log_path, log_url, usage)
        if result.ok and not self.launcher.options.keep_workdirs:
            shutil.rmtree(item.workdir, ignore_errors=True)
        return result

    async def _log(self, item: Attempt, text: str) -> tuple[Path, str]:
        item.workdir.mkdir(parents=True, exist_ok=True)
        path = item.workdir / "task.log"
        await asyncio.to_thread(path.write_text, text)
        return path, await keep_log(self.launcher.store, item, path)


def _item(item: Attempt) -> dict[str, Any]:
    """What the worker needs of one item (``map_batch.py``'s item, less the directories it makes there)."""
    return {
        "i": int(item.envs.get(INDEX_ENV, "0")),
        "a": item.attempt,
        "prefix": item.output_prefix,
        "prev": item.prev_checkpoint,
        "timeout": item.timeout_seconds,
        "remove": False,
    }
