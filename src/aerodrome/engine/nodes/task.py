"""Task nodes: the cache, attempts with their retry budgets, and the hand-over to dynamic workflows.

A cacheable task (``metadata.discoverable``) is looked up before anything runs: a hit succeeds the node
with the cached outputs and starts no process. ``cache_serialize`` tasks hold a reservation while they
run so that concurrent runs with the same inputs wait for one result instead of computing it twice.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING

from flyteidl.core import catalog_pb2, identifier_pb2, literals_pb2, tasks_pb2
from flyteidl.core import execution_pb2 as core_exec
from flyteidl.event import event_pb2

from aerodrome.engine.active import Outcome
from aerodrome.engine.events import error
from aerodrome.engine.launchers.attempts import Attempt, AttemptResult
from aerodrome.engine.nodes.dynamic import run_dynamic
from aerodrome.phases.tables import NODE, TASK
from aerodrome.values.cache_keys import CacheKey, cache_key
from aerodrome.values.provider_runtime import ProviderRuntime

if TYPE_CHECKING:
    from aerodrome.engine.context import NodeContext
    from aerodrome.engine.frames import Job

SYSTEM_RETRIES = 3
RESERVATION_TTL = timedelta(seconds=30)
Cache = catalog_pb2.CatalogCacheStatus


@dataclass(frozen=True)
class Done:
    """A finished attempt loop: the last attempt's result and number."""

    result: AttemptResult
    attempt: int
    task_execution: identifier_pb2.TaskExecutionIdentifier


def task_execution_id(job: Job, attempt: int) -> identifier_pb2.TaskExecutionIdentifier:
    assert job.node.task is not None
    return identifier_pb2.TaskExecutionIdentifier(
        task_id=job.node.task.id,
        node_execution_id=job.run.report.node_id(job.unique),
        retry_attempt=attempt,
    )


def checkpoints(prefix: str) -> str:
    """Where an attempt under ``prefix`` writes its intra-task checkpoints (``{{.checkpointOutputPrefix}}``)."""
    return f"{prefix}/raw/_flytecheckpoints"


def attempt_spec(
    g: NodeContext, job: Job, attempt: int, prefix: str, envs: dict[str, str] | None = None, previous: str = ""
) -> Attempt:
    """The launcher's view of one attempt of the job's task; ``previous`` is the prefix of the attempt
    before it, whose checkpoint this one may read (``{{.prevCheckpointPrefix}}``)."""
    assert job.node.task is not None
    run = job.run
    timeout = (
        job.node.node.metadata.timeout.ToTimedelta().total_seconds()
        or job.node.task.metadata.timeout.ToTimedelta().total_seconds()
        or None
    )
    ident = run.ident
    return Attempt(
        execution=ident,
        node_id=job.unique,
        attempt=attempt,
        task=job.node.task,
        inputs_url=job.inputs_url,
        output_prefix=prefix,
        raw_output_prefix=f"{prefix}/raw",
        workdir=g.work_root
        / ident.project
        / ident.domain
        / ident.name
        / job.unique
        / prefix[len(job.prefix) :].strip("/"),
        workflow_name=run.workflow_name,
        launch_plan_name=run.spec.launch_plan.name,
        envs={**{kv.key: kv.value for kv in run.spec.envs.values}, **(envs or {})},
        timeout_seconds=timeout,
        prev_checkpoint=checkpoints(previous) if previous else "",
    )


@dataclass
class RetryBudget:
    """What is left of a node's retries: user errors spend ``user``, system errors ``system``."""

    user: int
    system: int = SYSTEM_RETRIES

    def spend(self, result: AttemptResult) -> bool:
        """Whether the failed ``result`` may be retried (and if so, take one retry from its budget)."""
        if not result.retryable:
            return False
        if result.system and self.system > 0:
            self.system -= 1
            return True
        if not result.system and self.user > 0:
            self.user -= 1
            return True
        return False


async def launch(g: NodeContext, job: Job, spec: Attempt) -> AttemptResult:
    """Run one attempt within the execution's ``max_parallelism``."""
    if job.run.slots is None:
        return await g.launcher.run(spec)
    async with job.run.slots:
        return await g.launcher.run(spec)


async def provider_of(g: NodeContext, job: Job) -> ProviderRuntime | None:
    """The provider frozen for the node's top-level ancestor (or the node itself) when the execution was
    created; None means the server's defaults."""
    return await g.provider_runtime(job)


async def attempts(g: NodeContext, job: Job) -> Done:
    """Run attempts until one succeeds or the user and system retry budgets are spent."""
    assert job.node.task is not None
    run, task_id = job.run, job.node.task.id
    recorded = run.succeeded_attempts.pop(job.unique, None)
    if recorded is not None:  # it succeeded before the server stopped; only its node's event was lost
        attempt, outputs = recorded
        futures = f"{job.prefix}/{attempt}/futures.pb"
        dynamic = futures if await g.store.exists(futures) else ""
        return Done(AttemptResult(outputs_url=outputs, dynamic_url=dynamic), attempt, task_execution_id(job, attempt))
    budget = RetryBudget(job.node.retries)
    attempt = run.attempts.get(job.unique, 0)
    provider = await provider_of(g, job)
    while True:
        previous = f"{job.prefix}/{attempt - 1}" if attempt > 0 else ""
        spec = replace(attempt_spec(g, job, attempt, f"{job.prefix}/{attempt}", previous=previous), provider=provider)
        await run.report.task(job.unique, task_id, attempt, TASK.RUNNING, input_uri=job.inputs_url)
        result = await launch(g, job, spec)
        run.attempts[job.unique] = attempt + 1
        logs = [core_exec.TaskLog(name="task log", uri=result.log_url)] if result.log_url else []
        usage = {"cpu_seconds": result.cpu_seconds, "peak_rss_bytes": float(result.peak_rss_bytes)}
        if result.ok:
            await run.report.task(  # held: sent with the node's next event, in one transaction
                job.unique,
                task_id,
                attempt,
                TASK.SUCCEEDED,
                logs=logs,
                usage=usage,
                output_uri=result.outputs_url,
                hold=True,
            )
            return Done(result, attempt, task_execution_id(job, attempt))
        failure = result.error
        assert failure is not None
        await run.report.task(job.unique, task_id, attempt, TASK.FAILED, error=failure, logs=logs, usage=usage)
        if budget.spend(result):
            attempt += 1
            continue
        return Done(result, attempt, task_execution_id(job, attempt))


def exhausted(job: Job, done: Done) -> core_exec.ExecutionError:
    """The node's error once no retry is left, worded as propeller words it."""
    failure = done.result.error
    assert failure is not None
    kind = core_exec.ExecutionError.ErrorKind.Name(failure.kind)
    return core_exec.ExecutionError(
        code=failure.code,
        kind=failure.kind,
        error_uri=failure.error_uri,
        message=(
            f"[{done.attempt + 1}/{job.node.retries + 1}] currentAttempt done. Last Error: {kind}::{failure.message}"
        ),
    )


@contextlib.asynccontextmanager
async def reservation(g: NodeContext, job: Job, key: CacheKey) -> AsyncIterator[None]:
    """Hold the cache reservation of ``key`` (renewed while held); waits while another run holds it."""
    owner = f"{job.run.ident.name}-{job.unique}"
    await job.run.report.flush(job.unique)  # the node shows RUNNING while it waits for the reservation
    while not await g.catalog.reserve(key, owner, RESERVATION_TTL):
        await asyncio.sleep(1.0)
        if not job.run.spec.overwrite_cache and await g.catalog.get(key) is not None:
            break

    async def renew() -> None:
        while True:
            await asyncio.sleep(RESERVATION_TTL.total_seconds() / 3)
            await g.catalog.reserve(key, owner, RESERVATION_TTL)

    renewer = asyncio.create_task(renew())
    try:
        yield
    finally:
        renewer.cancel()
        with contextlib.suppress(BaseException):
            await renewer
        await g.catalog.release(key, owner)


def cache_status(
    status: int, key: CacheKey | None = None, artifact: str = "", source: object = None
) -> dict[str, object]:
    metadata = event_pb2.TaskNodeMetadata(cache_status=status)  # type: ignore[arg-type]
    if key is not None:
        metadata.catalog_key.CopyFrom(key.metadata(artifact, source))  # type: ignore[arg-type]
    return {"task_node_metadata": metadata}


def echoed(task: tasks_pb2.TaskTemplate, inputs: literals_pb2.LiteralMap) -> literals_pb2.LiteralMap:
    """An echo task's outputs: each input under the output name at the same position of the interface
    (flytekit names the inputs after the branch's variables and the outputs ``o0``, ``o1``...)."""
    names = list(task.interface.outputs.variables)
    return literals_pb2.LiteralMap(
        literals={
            out: inputs.literals[name]
            for out, name in zip(names, task.interface.inputs.variables, strict=False)
            if name in inputs.literals
        }
    )


async def run_task(g: NodeContext, job: Job) -> Outcome:
    task = job.node.task
    if task is None:
        return await g.fail(job, error("TaskNotFound", f"node {job.node.id}: its task is not in the workflow closure"))
    if not task.HasField("container") and task.type == "echo":
        return await g.succeed(job, await g.write_outputs(job, echoed(task, job.inputs)))
    # Any other task without a container (sensors, agent task types) runs through flytekit's connectors.
    key = cache_key(task, job.inputs) if task.metadata.discoverable else None
    overwrite = job.run.spec.overwrite_cache
    if key is not None and not overwrite and (hit := await g.catalog.get(key)) is not None:
        return await g.succeed(job, hit.outputs_uri, **cache_status(Cache.CACHE_HIT, key, hit.artifact_id, hit.source))
    serialize = key is not None and task.metadata.cache_serializable
    async with reservation(g, job, key) if serialize and key is not None else contextlib.nullcontext():
        if serialize and key is not None and not overwrite and (hit := await g.catalog.get(key)) is not None:
            return await g.succeed(
                job, hit.outputs_uri, **cache_status(Cache.CACHE_HIT, key, hit.artifact_id, hit.source)
            )
        done = await attempts(g, job)
        result = done.result
        status: dict[str, object] = {}
        if result.ok and not result.dynamic_url and key is not None and task.interface.outputs.variables:
            # Written while the reservation is still held, so a waiting run finds it when it takes over.
            artifact = await g.catalog.put(key, result.outputs_url, done.task_execution, overwrite=overwrite)
            code = Cache.CACHE_SKIPPED if overwrite else Cache.CACHE_POPULATED
            status = cache_status(code, key, artifact.artifact_id, done.task_execution)
        elif key is not None:
            status = cache_status(Cache.CACHE_DISABLED)
    last = f"{job.prefix}/{done.attempt}"
    metadata = status.setdefault("task_node_metadata", event_pb2.TaskNodeMetadata())
    metadata.checkpoint_uri = checkpoints(last)  # type: ignore[attr-defined]
    if task.metadata.generates_deck and await g.store.exists(f"{last}/deck.html"):
        status["deck_uri"] = f"{last}/deck.html"  # flytekit writes it beside the attempt's outputs
    if not result.ok:
        return await g.fail(job, exhausted(job, done), NODE.FAILED, **status)
    if result.dynamic_url:
        return await run_dynamic(g, job, done.attempt, result.dynamic_url, str(status.get("deck_uri", "")))
    if result.outputs is not None:  # as read when the attempt ended: downstream nodes need not read it again
        job.frame.outputs[job.node.id] = result.outputs
    return await g.succeed(job, result.outputs_url, **status)
