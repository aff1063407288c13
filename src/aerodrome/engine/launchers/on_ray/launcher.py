"""The Ray launcher: task attempts on an existing Ray cluster, with the semantics of local attempts.

A plain task's attempt is one Ray task (``remote.run_attempt``) that runs the task's registered command in
a scratch directory on a worker, with the same variables as a local attempt (``commands.py``) and the
task's resources as Ray resources (``resources.py``); a request no node can ever hold fails at once. A
flytekit Ray task (type ``ray``) is a Ray job whose entrypoint is the task's command (``jobs.py``). Inputs,
code and outputs go through the blob store, so the cluster's nodes must reach it: an S3-compatible store,
or a local directory only when every node is this machine (``check_store``). The outcome is read from the
store as for local attempts (``outcomes.py``); the log comes back from the worker and is kept as task.log.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import shutil
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from aerodrome.blobstore.store import BlobStore
from aerodrome.engine.launchers import endings, map_batch, rehearsal, reuse, spares, unpack, wrapper, zygote
from aerodrome.engine.launchers.attempts import Attempt, AttemptResult, system_error, user_error
from aerodrome.engine.launchers.commands import container_args, task_variables
from aerodrome.engine.launchers.on_ray import jobs
from aerodrome.engine.launchers.on_ray.batches import RayBatches
from aerodrome.engine.launchers.on_ray.client import Cluster, RayDriver, RayUnavailable, StoreRefused
from aerodrome.engine.launchers.on_ray.remote import SCRATCH
from aerodrome.engine.launchers.on_ray.resources import QuantityError, ray_options, shortfall
from aerodrome.engine.launchers.on_ray.secrets import secret_request
from aerodrome.engine.launchers.outcomes import keep_log, outcome
from aerodrome.managers.secrets import SecretManager, SecretMissing

WRAPPER_SOURCE = Path(wrapper.__file__).read_text()
# The zygote and the modules it imports from beside itself, written into a directory on the worker.
ZYGOTE_FILES = {
    f"{module.__name__.rsplit('.', 1)[-1]}.py": Path(module.__file__ or "").read_text()
    for module in (zygote, map_batch, rehearsal, spares, endings, unpack, reuse)  # reuse: runs and reports attempts
}
# Imported by the workers' warm processes before they fork: with an S3 store every attempt reads its inputs
# with s3fs, whose import (about a second) a fork would otherwise pay each time.
S3_PRELOAD = ["s3fs"]
log = logging.getLogger("aerodrome.engine")


@dataclass(frozen=True)
class RayOptions:
    """The Ray launcher's settings (``AERODROME_ENGINE_RAY_*``)."""

    address: str  # the default cluster ('' = only providers with an address run on Ray)
    max_attempts: int
    scratch_dir: str  # on the nodes; '' = their temporary directory
    connect_seconds: float
    log_dir: Path  # the drivers' logs, on this machine
    store_is_local: bool  # the blob store is a directory of this machine
    keep_workdirs: bool = False  # keep the local directory (task.log) of succeeded attempts too
    warm: bool = True  # flytekit commands as forks of a zygote on each worker (AERODROME_ENGINE_WARM_PROCESSES)
    map_batch_size: int = 0  # map items per Ray task (AERODROME_ENGINE_MAP_BATCH_SIZE; 0: one Ray task per item)


class RayLauncher:
    """Runs attempts on Ray clusters: the default one and those named by ray providers."""

    def __init__(
        self, store: BlobStore, options: RayOptions, *, platform_url: str, extra_env: dict[str, str]
    ) -> None:
        self.store = store
        self.options = options
        self.platform_url = platform_url
        self.extra_env = extra_env
        self.credentials: Callable[[Attempt], dict[str, str]] | None = None
        self.secrets: SecretManager | None = None  # set by the composition root, as for the local launcher
        self.drivers: dict[str, RayDriver] = {}
        self.slots = asyncio.Semaphore(options.max_attempts)
        self.running = 0
        self.cold_reasons: set[str] = set()  # why Ray workers could not start a warm process (logged once)
        size = options.map_batch_size if options.warm else 0
        self.batches = RayBatches(self, size) if size > 0 else None

    def has_free_slot(self) -> bool:
        return self.running < self.options.max_attempts

    def address_of(self, attempt: Attempt) -> str:
        return (attempt.provider.address if attempt.provider else "") or self.options.address

    def refusal(self, attempt: Attempt) -> str:
        """Attempts with no cluster to go to, or with nothing to run there."""
        if not self.address_of(attempt):
            return (
                "no Ray cluster is configured for this task: set AERODROME_ENGINE_RAY_ADDRESS, or the address "
                "in the metadata of its ray provider"
            )
        if not attempt.task.HasField("container"):
            return f"task type {attempt.task.type!r} has no command to run on a Ray cluster (it runs locally)"
        if attempt.task.type == "ray" and attempt.task.security_context.secrets:
            return "Ray job tasks that request secrets cannot run on the Ray launcher yet (run them locally)"
        return ""

    def batches_for(self, attempt: Attempt) -> RayBatches | None:
        """Map items in batches, one Ray task each, when the workers keep warm processes (``batches.py``)."""
        return self.batches if self.batches is not None and self.batches.accepts(attempt) else None

    async def cluster(self, address: str) -> tuple[RayDriver, Cluster]:
        """The driver of a cluster, connected, and the cluster checked against the blob store."""
        driver = self.drivers.get(address)
        if driver is None:
            name = hashlib.sha256(address.encode()).hexdigest()[:12]
            driver = RayDriver(address, self.options.log_dir / f"ray-driver-{name}.log", self.options.connect_seconds)
            self.drivers[address] = driver
        cluster = await driver.connect()
        problem = check_store(self.options.store_is_local, [n["address"] for n in cluster.nodes], address)
        if problem:
            raise StoreRefused(problem)
        return driver, cluster

    async def run(self, attempt: Attempt) -> AttemptResult:
        address = self.address_of(attempt)
        try:
            options = ray_options(attempt.task)
        except QuantityError as exc:
            return user_error("InvalidResources", f"the task's resources cannot be read: {exc}")
        try:
            driver, cluster = await self.cluster(address)
        except RayUnavailable as exc:
            return replace(system_error("RayUnavailable", str(exc)), retryable=True, system=True)
        async with self.slots:
            self.running += 1
            try:
                if attempt.task.type == "ray":
                    return await self._job(driver, cluster, attempt)
                why = shortfall(options, cluster.resources, address)
                if why:  # the cluster may have grown since the driver connected: ask again before refusing
                    why = shortfall(options, [n["resources"] for n in await driver.nodes()], address)
                if why:
                    return user_error("ResourceUnavailable", why)
                return await self._task(driver, attempt, options)
            finally:
                self.running -= 1

    def _variables(self, attempt: Attempt) -> dict[str, str]:
        return task_variables(attempt, self.platform_url, self.extra_env, self.credentials)

    def _key(self, attempt: Attempt) -> str:
        ex = attempt.execution
        return f"{ex.name}-{attempt.node_id}-{attempt.attempt}".replace("/", "_")

    async def request(self, attempt: Attempt) -> dict[str, Any]:
        """What ``remote.run_attempt`` needs to run the attempt's command on a worker. Raises SecretMissing."""
        secret_env, secret_files = await secret_request(self.secrets, attempt)
        return {
            "argv": container_args(attempt, SCRATCH),
            "env": {**self._variables(attempt), **secret_env},
            "secret_files": secret_files,
            "timeout": attempt.timeout_seconds,
            "key": self._key(attempt),
            "scratch_root": self.options.scratch_dir,
            "wrapper": WRAPPER_SOURCE,
            "zygote": ZYGOTE_FILES if self.options.warm else {},
            "preload": [] if self.options.store_is_local else S3_PRELOAD,
        }

    def options_of(self, attempt: Attempt, options: dict[str, Any]) -> dict[str, Any]:
        """The Ray task options: the task's resources and its provider's ``runtime_env``."""
        if attempt.provider is not None and attempt.provider.runtime_env not in ("", "{}"):
            return {**options, "runtime_env": json.loads(attempt.provider.runtime_env)}
        return options

    def note_cold(self, result: dict[str, Any]) -> None:
        """Log, once per reason, that a worker could not start its warm process (it repeats per attempt)."""
        cold = result.get("zygote_error", "")
        if cold and cold not in self.cold_reasons:
            self.cold_reasons.add(cold)
            log.warning("a Ray worker on node %s runs attempts in fresh processes: %s", result.get("node_id"), cold)

    async def _task(self, driver: RayDriver, attempt: Attempt, options: dict[str, Any]) -> AttemptResult:
        try:
            request = await self.request(attempt)
        except SecretMissing as exc:
            return user_error("SecretNotFound", str(exc))
        message = {"op": "task", "request": request, "options": self.options_of(attempt, options)}
        reply = await driver.call(message)
        if "result" not in reply:
            return self._lost(attempt, reply)
        result = reply["result"]
        self.note_cold(result)
        return await self._finish(attempt, result["log"], result["timed_out"], result["exit_code"], result["usage"])

    async def _job(self, driver: RayDriver, cluster: Cluster, attempt: Attempt) -> AttemptResult:
        try:
            spec = jobs.parse(attempt.task)
        except jobs.RayJobSpecError as exc:
            return user_error("InvalidRayJob", str(exc))
        why = jobs.shape_shortfall(spec, cluster.resources, cluster.address)
        if why:
            return user_error("ResourceUnavailable", why)
        provider_env = json.loads(attempt.provider.runtime_env) if attempt.provider else {}
        key = self._key(attempt)
        message = {
            "op": "job",
            "submission_id": f"aerodrome-{key}-{hashlib.sha256(attempt.output_prefix.encode()).hexdigest()[:8]}",
            "entrypoint": jobs.entrypoint(container_args(attempt, SCRATCH), self.options.scratch_dir, key),
            "runtime_env": jobs.job_runtime_env(spec, provider_env, self._variables(attempt)),
        }
        try:
            reply = await asyncio.wait_for(driver.call(message), attempt.timeout_seconds)
        except TimeoutError:
            return await self._finish(attempt, "", True, None, {})
        if "result" not in reply:
            return self._lost(attempt, reply)
        result = reply["result"]
        log = result["log"] + (f"\n[aerodrome] Ray job {result['status']}: {result['message']}\n")
        return await self._finish(attempt, log, False, 0 if result["status"] == "SUCCEEDED" else 1, {})

    def _lost(self, attempt: Attempt, reply: dict[str, Any]) -> AttemptResult:
        """The driver or the worker died under the attempt: a system error, retried like a lost process."""
        message = f"the Ray attempt {attempt.attempt} of {attempt.node_id} was lost: {reply.get('error', reply)}"
        return replace(system_error("RayAttemptLost", message), retryable=True, system=True)

    async def _finish(
        self, attempt: Attempt, log: str, timed_out: bool, code: int | None, usage: dict[str, float]
    ) -> AttemptResult:
        attempt.workdir.mkdir(parents=True, exist_ok=True)
        log_path = attempt.workdir / "task.log"
        await asyncio.to_thread(log_path.write_text, log)
        log_url = await keep_log(self.store, attempt, log_path)
        result = await outcome(self.store, attempt, timed_out, code, log_path, log_url, usage)
        if result.ok and not self.options.keep_workdirs:
            shutil.rmtree(attempt.workdir, ignore_errors=True)
        return result

    async def close(self) -> None:
        await asyncio.gather(*(driver.close() for driver in self.drivers.values()), return_exceptions=True)


def check_store(store_is_local: bool, node_addresses: Sequence[str], cluster: str) -> str:
    """A local blob directory serves a Ray cluster only when every node is this machine (the workers read
    and write the same directory); '' when the store will do."""
    if not store_is_local:
        return ""
    elsewhere = sorted({a for a in node_addresses if not is_this_machine(a)})
    if not elsewhere:
        return ""
    return (
        f"the Ray cluster at {cluster} has nodes on other machines ({', '.join(elsewhere)}) and the blob store is a "
        "local directory they cannot read: configure an S3-compatible store (AERODROME_BLOB_URL=s3://...)"
    )


def is_this_machine(address: str) -> bool:
    """Whether ``address`` is one of this machine's own (it can be bound here)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind((address, 0))
        except OSError:
            return False
    return True


class RayClusterCheck:
    """Connects to the default cluster when the server starts, so that a local blob directory with nodes on
    other machines stops the start with the reason; an unreachable cluster only warns (its attempts fail and
    are retried until it answers)."""

    name = "ray"

    def __init__(self, launcher: RayLauncher) -> None:
        self.launcher = launcher

    async def start(self) -> None:
        try:
            await self.launcher.cluster(self.launcher.options.address)
        except StoreRefused as exc:
            raise RayConfigError(str(exc)) from None
        except RayUnavailable as exc:
            log.warning("Ray: %s", exc)

    async def stop(self) -> None:
        return None


class RayConfigError(ValueError):
    """A Ray configuration the server must not start with."""
