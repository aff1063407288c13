"""Gate nodes: wait for an approval, for a typed input, or for time to pass.

Approve and signal gates create their signal (GetOrCreateSignal, through the same manager the API uses) and
wait for its value (SetSignal wakes them); the node metadata's timeout bounds the wait (TIMED_OUT). An
approval passes the node's inputs through; a rejection fails the node as a user error.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from flyteidl.admin import signal_pb2
from flyteidl.core import identifier_pb2, literals_pb2, types_pb2

from aerodrome.engine.active import Outcome
from aerodrome.engine.events import error
from aerodrome.phases.tables import NODE

if TYPE_CHECKING:
    from aerodrome.engine.context import NodeContext
    from aerodrome.engine.frames import Job

BOOLEAN = types_pb2.LiteralType(simple=types_pb2.BOOLEAN)


async def _wait_for(g: NodeContext, job: Job, signal_id: str, kind: types_pb2.LiteralType) -> literals_pb2.Literal:
    ident = identifier_pb2.SignalIdentifier(signal_id=signal_id, execution_id=job.run.ident)
    return await g.signals.wait(signal_pb2.SignalGetOrCreateRequest(id=ident, type=kind))


async def _gate(g: NodeContext, job: Job) -> Outcome:
    gate = job.node.node.gate_node
    if gate.HasField("sleep"):
        await asyncio.sleep(gate.sleep.duration.ToTimedelta().total_seconds())
        return await g.succeed(job, await g.write_outputs(job, literals_pb2.LiteralMap()))
    if gate.HasField("approve"):
        value = await _wait_for(g, job, gate.approve.signal_id, BOOLEAN)
        scalar = value.scalar
        if not scalar.HasField("primitive") or scalar.primitive.WhichOneof("value") != "boolean":
            failure = error("RuntimeExecutionError", f"received a non-boolean approve signal value [{value}]")
            return await g.fail(job, failure)
        if not scalar.primitive.boolean:
            failure = error(
                "ReceivedRejectSignal", "received a reject signal to disapprove the node input values", user=True
            )
            return await g.fail(job, failure)
        return await g.succeed(job, await g.write_outputs(job, job.inputs))
    if gate.HasField("signal"):
        value = await _wait_for(g, job, gate.signal.signal_id, gate.signal.type)
        outputs = literals_pb2.LiteralMap(literals={gate.signal.output_variable_name: value})
        return await g.succeed(job, await g.write_outputs(job, outputs))
    return await g.fail(job, error("MalformedGate", f"gate node {job.node.id} has no condition", user=True))


async def run_gate(g: NodeContext, job: Job) -> Outcome:
    timeout = job.node.node.metadata.timeout.ToTimedelta().total_seconds() or None
    try:
        return await asyncio.wait_for(_gate(g, job), timeout)
    except TimeoutError:
        failure = error("Timeout", f"gate node {job.node.id} timed out after {timeout}s", user=True)
        return await g.fail(job, failure, phase=NODE.TIMED_OUT)
