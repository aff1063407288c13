"""Array nodes (map tasks): one run of the sub-task per index, gathered into lists.

Every index gets the array node's own ``inputs.pb`` (full lists) and ``FLYTE_K8S_ARRAY_INDEX``; flytekit
slices the lists itself. Progress is one task execution whose ``external_resources`` hold a line per
index, updated at most every ``PROGRESS_SECONDS`` so a map over thousands of items does not flood the
event log. The node fails as soon as ``min_successes`` can no longer be reached; a failed index
contributes ``None`` to the outputs.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from flyteidl.core import execution_pb2 as core_exec
from flyteidl.core import literals_pb2
from flyteidl.event import event_pb2

from aerodrome.engine.active import Outcome
from aerodrome.engine.events import error
from aerodrome.engine.launchers.local import AttemptResult
from aerodrome.engine.nodes.task import RetryBudget, attempt_spec, launch, provider_of
from aerodrome.phases.tables import TASK
from aerodrome.values.provider_runtime import ProviderRuntime

if TYPE_CHECKING:
    from aerodrome.engine.context import NodeContext
    from aerodrome.engine.frames import Job

PROGRESS_SECONDS = 2.0
INDEX_ENV = "FLYTE_K8S_ARRAY_INDEX"
NONE = literals_pb2.Literal(scalar=literals_pb2.Scalar(none_type=literals_pb2.Void()))


class ArraySizeError(Exception):
    pass


def array_size(job: Job) -> int:
    """How many sub-node runs: the common length of the mapped (unbound collection) inputs."""
    bound = set(job.node.node.array_node.bound_inputs)
    lengths = {
        name: len(lit.collection.literals)
        for name, lit in job.inputs.literals.items()
        if name not in bound and lit.HasField("collection")
    }
    if not lengths:
        if job.inputs.literals and all(name in bound for name in job.inputs.literals):
            return 1
        raise ArraySizeError("no input array provided")
    sizes = sorted(set(lengths.values()))
    if len(sizes) > 1:
        raise ArraySizeError(f"input arrays have different lengths: expecting '{sizes[0]}' found '{sizes[1]}'")
    return sizes[0]


def min_successes(job: Job, size: int) -> int:
    array = job.node.node.array_node
    criterion = array.WhichOneof("success_criteria")
    if criterion == "min_successes" and array.min_successes > 0:
        return min(array.min_successes, size)
    if criterion == "min_success_ratio":
        return math.ceil(array.min_success_ratio * size)
    return size


@dataclass
class Progress:
    """Per-index state, reported as external resources."""

    size: int
    phases: list[int] = field(default_factory=list)
    attempts: list[int] = field(default_factory=list)
    outputs: dict[int, str] = field(default_factory=dict)
    errors: dict[int, core_exec.ExecutionError] = field(default_factory=dict)
    version: int = 0
    dirty: bool = True

    def __post_init__(self) -> None:
        self.phases = [TASK.QUEUED] * self.size
        self.attempts = [0] * self.size

    def set(self, index: int, phase: int, attempt: int) -> None:
        self.phases[index], self.attempts[index], self.dirty = phase, attempt, True

    def resources(self, job: Job) -> event_pb2.TaskExecutionMetadata:
        return event_pb2.TaskExecutionMetadata(
            external_resources=[
                event_pb2.ExternalResourceInfo(
                    external_id=f"{job.unique}-{i}",
                    index=i,
                    retry_attempt=self.attempts[i],
                    phase=self.phases[i],  # type: ignore[arg-type]
                )
                for i in range(self.size)
            ]
        )


async def _index(
    g: NodeContext,
    job: Job,
    index: int,
    progress: Progress,
    gate: asyncio.Semaphore | None,
    provider: ProviderRuntime | None,
    run_number: int,
) -> None:
    """Run one index with its own retry budgets."""
    assert job.node.task is not None
    budget, attempt, previous = RetryBudget(max(job.node.retries, job.node.task.metadata.retries.retries)), 0, ""
    envs = {INDEX_ENV: str(index), "BATCH_JOB_ARRAY_INDEX_VAR_NAME": INDEX_ENV}
    while True:
        # <node>/<index>/<attempt> as propeller lays it out; a rerun after a restart never reuses a directory.
        where = f"{index}/{attempt}" if run_number == 0 else f"{index}/r{run_number}-{attempt}"
        spec = replace(attempt_spec(g, job, attempt, f"{job.prefix}/{where}", envs, previous), provider=provider)
        previous = f"{job.prefix}/{where}"
        progress.set(index, TASK.RUNNING, attempt)
        result: AttemptResult
        if gate is None:
            result = await launch(g, job, spec)
        else:
            async with gate:
                result = await launch(g, job, spec)
        if result.ok and result.outputs_url:
            progress.outputs[index] = result.outputs_url
            progress.set(index, TASK.SUCCEEDED, attempt)
            return
        failure = result.error or error("MissingOutputs", f"index {index} wrote no outputs")
        if not budget.spend(result):
            progress.errors[index] = failure
            progress.set(index, TASK.FAILED, attempt)
            return
        attempt += 1


async def _gather(g: NodeContext, job: Job, progress: Progress) -> literals_pb2.LiteralMap:
    assert job.node.task is not None
    names = list(job.node.task.interface.outputs.variables)
    columns: dict[str, list[literals_pb2.Literal]] = {name: [] for name in names}
    for index in range(progress.size):
        url = progress.outputs.get(index)
        produced = await g.store.read_proto(url, literals_pb2.LiteralMap) if url else None
        for name in names:
            columns[name].append(produced.literals[name] if produced and name in produced.literals else NONE)
    return literals_pb2.LiteralMap(
        literals={
            n: literals_pb2.Literal(collection=literals_pb2.LiteralCollection(literals=v)) for n, v in columns.items()
        }
    )


async def run_array(g: NodeContext, job: Job) -> Outcome:
    task = job.node.task
    if task is None or not task.HasField("container"):
        return await g.fail(job, error("Unsupported", f"array node {job.node.id} must map a container task", user=True))
    recorded = job.run.succeeded_attempts.pop(job.unique, None)
    if recorded is not None:  # it succeeded before the server stopped; only its node's event was lost
        return await g.succeed(job, recorded[1])
    try:
        size = array_size(job)
    except ArraySizeError as exc:
        return await g.fail(job, error("InvalidArrayLength", str(exc), user=True))
    if size == 0:
        return await g.succeed(job, await g.write_outputs(job, await _gather(g, job, Progress(0))))
    needed = min_successes(job, size)
    progress = Progress(size)
    report = job.run.report
    # The node's task execution: a new attempt number after a restart interrupted an earlier one.
    attempt = job.run.attempts.get(job.unique, 0)
    job.run.attempts[job.unique] = attempt + 1

    async def publish(phase: int = TASK.RUNNING, **fields: Any) -> None:
        progress.version += 1
        progress.dirty = False
        await report.task(
            job.unique,
            task.id,
            attempt,
            phase,
            phase_version=progress.version,
            metadata=progress.resources(job),
            **fields,
        )

    parallelism = job.node.node.array_node.parallelism
    gate = asyncio.Semaphore(parallelism) if parallelism > 0 else None
    await report.task(
        job.unique, task.id, attempt, TASK.RUNNING, input_uri=job.inputs_url, metadata=progress.resources(job)
    )
    provider = await provider_of(g, job)
    runs = [asyncio.create_task(_index(g, job, i, progress, gate, provider, attempt)) for i in range(size)]
    pending = set(runs)
    try:
        while pending:
            done, pending = await asyncio.wait(pending, timeout=PROGRESS_SECONDS, return_when=asyncio.FIRST_COMPLETED)
            for finished in done:
                finished.result()
            if size - len(progress.errors) < needed:
                break
            if progress.dirty and pending:
                await publish()
    finally:
        for run in pending:
            run.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    if len(progress.outputs) < needed:
        messages = "; ".join(f"[{i}] {e.message}" for i, e in sorted(progress.errors.items())[:5])
        failure = error(
            "ArrayNodeFailed",
            f"{len(progress.errors)} of {size} sub-tasks failed (at least {needed} had to succeed): {messages}",
            user=True,
        )
        await publish(TASK.FAILED, error=failure)
        return await g.fail(job, failure)
    outputs_url = await g.write_outputs(job, await _gather(g, job, progress))
    await publish(TASK.SUCCEEDED, output_uri=outputs_url)
    return await g.succeed(job, outputs_url)
