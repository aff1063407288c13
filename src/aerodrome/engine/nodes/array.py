"""Array nodes (map tasks): one run of the sub-task per index, gathered into lists.

Every index runs as its own attempts with ``FLYTE_K8S_ARRAY_INDEX`` (``array_items.py``: bounded runners,
batches of items in warm processes where the launcher can). Progress is one task execution whose
``external_resources`` hold a line per index, updated at most every ``PROGRESS_SECONDS`` so a map over
thousands of items does not flood the event log. The node fails as soon as ``min_successes`` can no
longer be reached; a failed index contributes ``None`` to the outputs.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flyteidl.core import execution_pb2 as core_exec
from flyteidl.core import literals_pb2
from flyteidl.event import event_pb2

from aerodrome.engine.active import Outcome
from aerodrome.engine.events import error
from aerodrome.engine.nodes.array_items import ArrayItems
from aerodrome.engine.nodes.task import provider_of
from aerodrome.phases.tables import TASK

if TYPE_CHECKING:
    from aerodrome.engine.context import NodeContext
    from aerodrome.engine.frames import Job

PROGRESS_SECONDS = 2.0
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
    outputs: dict[int, str | bytes] = field(default_factory=dict)  # an outputs.pb URL, or its bytes
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


async def _gather(g: NodeContext, job: Job, progress: Progress) -> literals_pb2.LiteralMap:
    """Each output a list over the indexes (None where an index failed); outputs that came back with the
    item's result are parsed from memory, the others read from the store."""
    assert job.node.task is not None
    names = list(job.node.task.interface.outputs.variables)
    columns: dict[str, list[literals_pb2.Literal]] = {name: [] for name in names}
    for index in range(progress.size):
        kept = progress.outputs.pop(index, None)
        if isinstance(kept, bytes):
            produced: literals_pb2.LiteralMap | None = literals_pb2.LiteralMap.FromString(kept)
        else:
            produced = await g.store.read_proto(kept, literals_pb2.LiteralMap) if kept else None
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

    await report.task(
        job.unique, task.id, attempt, TASK.RUNNING, input_uri=job.inputs_url, metadata=progress.resources(job)
    )
    items = ArrayItems(g, job, progress, await provider_of(g, job), attempt)
    running = asyncio.create_task(items.run(lambda: size - len(progress.errors) < needed))
    published = time.monotonic()
    try:
        while not running.done() and size - len(progress.errors) >= needed:
            items.changed.clear()
            changed = asyncio.ensure_future(items.changed.wait())
            await asyncio.wait({running, changed}, timeout=PROGRESS_SECONDS, return_when=asyncio.FIRST_COMPLETED)
            changed.cancel()
            if progress.dirty and not running.done() and time.monotonic() - published >= PROGRESS_SECONDS:
                await publish()
                published = time.monotonic()
    finally:
        if not running.done():
            running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    if not running.cancelled():
        running.result()  # a runner's unexpected error is the node's
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
