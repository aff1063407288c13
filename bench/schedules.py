"""Scheduler fire lag and CPU per fire, next to the cost of a plain CreateExecution in the same run.

Run: ``.venv/bin/python bench/schedules.py`` (``--db-url postgresql+asyncpg://…`` for PostgreSQL,
``--schedules N --every S --seconds T`` to change the load; defaults 1,000 schedules firing every 10 s
for 120 s).

The launch plans run a workflow without nodes (its output is its input), so what is measured is the
control plane: creating the execution and driving it to SUCCEEDED, with no task process. Baseline: the
server CPU per execution for ``--baseline`` CreateExecution calls of the same kind of launch plan (8 at a
time), each run to SUCCEEDED. Fire lag = ``created_at - scheduled_at`` of each scheduled execution.
Targets: p99 lag < 1 s, CPU per fire <= 1.5 x a CreateExecution.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

from flyteidl.admin import common_pb2, execution_pb2, launch_plan_pb2, schedule_pb2, workflow_pb2
from flyteidl.core import identifier_pb2, interface_pb2, literals_pb2, types_pb2
from flyteidl.core import workflow_pb2 as core_wf
from flyteidl.service import admin_pb2_grpc
from google.protobuf import duration_pb2, timestamp_pb2
from grpc import aio

sys.path.insert(0, str(Path(__file__).parent))
from _harness import aerodrome_process, cpu_seconds, median, percentile, run_concurrently

PROJECT, DOMAIN, VERSION = "flytesnacks", "development", "v1"
DATETIME = types_pb2.LiteralType(simple=types_pb2.DATETIME)
SUCCEEDED = 4


def ident(kind: int, name: str) -> identifier_pb2.Identifier:
    return identifier_pb2.Identifier(resource_type=kind, project=PROJECT, domain=DOMAIN, name=name, version=VERSION)


def passthrough_workflow() -> workflow_pb2.WorkflowCreateRequest:
    """A ``run_at`` input and one node that runs no task process: a gate that sleeps zero seconds."""
    template = core_wf.WorkflowTemplate(
        id=ident(identifier_pb2.WORKFLOW, "bench.passthrough"),
        interface=interface_pb2.TypedInterface(
            inputs=interface_pb2.VariableMap(variables={"run_at": interface_pb2.Variable(type=DATETIME)}),
            outputs=interface_pb2.VariableMap(),
        ),
        nodes=[
            core_wf.Node(
                id="n0",
                gate_node=core_wf.GateNode(sleep=core_wf.SleepCondition(duration=duration_pb2.Duration(seconds=0))),
            )
        ],
    )
    return workflow_pb2.WorkflowCreateRequest(id=template.id, spec=workflow_pb2.WorkflowSpec(template=template))


def launch_plan(name: str, every_seconds: int) -> launch_plan_pb2.LaunchPlanCreateRequest:
    spec = launch_plan_pb2.LaunchPlanSpec(workflow_id=ident(identifier_pb2.WORKFLOW, "bench.passthrough"))
    if every_seconds:
        spec.entity_metadata.schedule.CopyFrom(
            schedule_pb2.Schedule(
                cron_schedule=schedule_pb2.CronSchedule(schedule=f"@every {every_seconds}s"),
                kickoff_time_input_arg="run_at",
            )
        )
    return launch_plan_pb2.LaunchPlanCreateRequest(id=ident(identifier_pb2.LAUNCH_PLAN, name), spec=spec)


async def executions(stub: admin_pb2_grpc.AdminServiceStub, filters: str) -> list[execution_pb2.Execution]:
    found: list[execution_pb2.Execution] = []
    token = ""
    while True:
        page = await stub.ListExecutions(
            common_pb2.ResourceListRequest(
                id=common_pb2.NamedEntityIdentifier(project=PROJECT, domain=DOMAIN),
                filters=filters,
                limit=2000,
                token=token,
            )
        )
        found += page.executions
        token = page.token
        if not token:
            return found


async def settle(stub: admin_pb2_grpc.AdminServiceStub, filters: str) -> None:
    """Wait (up to 10 minutes) until no execution matching ``filters`` is still running."""
    deadline = time.monotonic() + 600
    while await executions(stub, f"{filters}+value_not_in(phase,SUCCEEDED;FAILED;ABORTED;TIMED_OUT)"):
        if time.monotonic() > deadline:
            raise RuntimeError("executions did not finish")
        await asyncio.sleep(0.5)


async def baseline(stub: admin_pb2_grpc.AdminServiceStub, pid: int, count: int) -> float:
    """Server CPU seconds per plain CreateExecution run to its end."""
    now = timestamp_pb2.Timestamp()
    now.GetCurrentTime()
    inputs = literals_pb2.LiteralMap(
        literals={
            "run_at": literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(datetime=now)))
        }
    )
    spec = execution_pb2.ExecutionSpec(launch_plan=ident(identifier_pb2.LAUNCH_PLAN, "bench.plain"))
    calls = [
        lambda: stub.CreateExecution(
            execution_pb2.ExecutionCreateRequest(project=PROJECT, domain=DOMAIN, spec=spec, inputs=inputs)
        )
        for _ in range(count)
    ]
    before = cpu_seconds(pid)
    await run_concurrently(calls, 8)
    await settle(stub, "eq(launch_plan.name,bench.plain)")
    return (cpu_seconds(pid) - before) / count


async def main(db_url: str, schedules: int, every: int, seconds: int, baseline_count: int) -> None:
    with (
        tempfile.TemporaryDirectory() as home,
        aerodrome_process(Path(home), db_url, {"AERODROME_DB_POOL_SIZE": "20"}) as (address, pid),
    ):
        async with aio.insecure_channel(address) as channel:
            stub = admin_pb2_grpc.AdminServiceStub(channel)
            await stub.CreateWorkflow(passthrough_workflow())
            await stub.CreateLaunchPlan(launch_plan("bench.plain", 0))
            names = [f"bench.s{i:04d}" for i in range(schedules)]
            await run_concurrently([lambda n=n: stub.CreateLaunchPlan(launch_plan(n, every)) for n in names], 8)
            per_create = median([await baseline(stub, pid, baseline_count) for _ in range(3)])

            await run_concurrently(
                [
                    lambda n=n: stub.UpdateLaunchPlan(
                        launch_plan_pb2.LaunchPlanUpdateRequest(
                            id=ident(identifier_pb2.LAUNCH_PLAN, n), state=launch_plan_pb2.ACTIVE
                        )
                    )
                    for n in names
                ],
                8,
            )
            before = cpu_seconds(pid)
            await asyncio.sleep(seconds)
            await run_concurrently(
                [
                    lambda n=n: stub.UpdateLaunchPlan(
                        launch_plan_pb2.LaunchPlanUpdateRequest(
                            id=ident(identifier_pb2.LAUNCH_PLAN, n), state=launch_plan_pb2.INACTIVE
                        )
                    )
                    for n in names
                ],
                8,
            )
            await settle(stub, "eq(mode,1)")
            fired = await executions(stub, "eq(mode,1)")
            per_fire = (cpu_seconds(pid) - before) / max(1, len(fired))
    lags = [
        e.closure.created_at.ToDatetime().timestamp() - e.spec.metadata.scheduled_at.ToDatetime().timestamp()
        for e in fired
    ]
    backend = "PostgreSQL" if db_url else "SQLite"
    if not lags:
        print(f"{backend}: no fire in {seconds}s (use --seconds larger than --every)")
        return
    expected = schedules * seconds / every
    p50, p99 = percentile(lags, 0.5) * 1000, percentile(lags, 0.99) * 1000
    print(f"{backend}: {schedules} schedules @every {every}s for {seconds}s: {len(fired)} fires (~{expected:.0f})")
    print(f"  fire lag   p50 {p50:7.1f} ms   p99 {p99:7.1f} ms   max {max(lags) * 1000:7.1f} ms   (target p99 < 1 s)")
    print(
        f"  server CPU per fire {per_fire * 1000:6.2f} ms   per CreateExecution {per_create * 1000:6.2f} ms   "
        f"ratio {per_fire / per_create:4.2f} (target <= 1.5)"
    )
    print(f"  load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db-url", default="")
    parser.add_argument("--schedules", type=int, default=1000)
    parser.add_argument("--every", type=int, default=10)
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--baseline", type=int, default=300)
    a = parser.parse_args()
    asyncio.run(main(a.db_url, a.schedules, a.every, a.seconds, a.baseline))
