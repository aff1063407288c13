"""Registration throughput and filtered-list latency, next to a bare grpc.aio echo baseline.

Run: ``.venv/bin/python bench/registration.py`` (add ``--db-url postgresql+asyncpg://…`` for PostgreSQL).

Registers 2,000 tasks and 500 workflows over gRPC with 1 and 8 concurrent clients, then lists with
filters over 10,000 tasks. The baseline sends messages of the same size to an echo server in the same
run, so the ratio does not depend on the machine. Each figure is the median of ``--repeat`` rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

import grpc
from flyteidl.admin import common_pb2, task_pb2, workflow_pb2
from flyteidl.core import identifier_pb2, interface_pb2, literals_pb2, tasks_pb2, types_pb2
from flyteidl.core import workflow_pb2 as core_wf
from flyteidl.service import admin_pb2_grpc
from grpc import aio

sys.path.insert(0, str(Path(__file__).parent))
from _harness import aerodrome, echo_server, median, percentile, run_concurrently

PROJECT, DOMAIN = "flytesnacks", "development"
INT = types_pb2.LiteralType(simple=types_pb2.INTEGER)
VARS = interface_pb2.VariableMap(variables={"x": interface_pb2.Variable(type=INT)})
OUT = interface_pb2.VariableMap(variables={"o0": interface_pb2.Variable(type=INT)})


def task_request(name: str, version: str) -> task_pb2.TaskCreateRequest:
    ident = identifier_pb2.Identifier(
        resource_type=identifier_pb2.TASK, project=PROJECT, domain=DOMAIN, name=name, version=version
    )
    template = tasks_pb2.TaskTemplate(
        id=ident,
        type="python-task",
        metadata=tasks_pb2.TaskMetadata(
            runtime=tasks_pb2.RuntimeMetadata(type=tasks_pb2.RuntimeMetadata.FLYTE_SDK, version="1.16.31"),
            retries=literals_pb2.RetryStrategy(retries=2),
        ),
        interface=interface_pb2.TypedInterface(inputs=VARS, outputs=OUT),
        container=tasks_pb2.Container(
            image="cr.flyte.org/flyteorg/flytekit:py3.11-1.16.31",
            args=[
                "pyflyte-fast-execute",
                "--additional-distribution",
                "s3://bucket/fast.tar.gz",
                "--dest-dir",
                "/root",
                "--",
                "pyflyte-execute",
                "--inputs",
                "{{.input}}",
                "--output-prefix",
                "{{.outputPrefix}}",
                "--raw-output-data-prefix",
                "{{.rawOutputDataPrefix}}",
                "--resolver",
                "flytekit.core.python_auto_container.default_task_resolver",
                "--",
                "task-module",
                "bench.tasks",
                "task-name",
                name,
            ],
        ),
    )
    return task_pb2.TaskCreateRequest(id=ident, spec=task_pb2.TaskSpec(template=template))


def workflow_request(
    name: str, version: str, first: identifier_pb2.Identifier, second: identifier_pb2.Identifier
) -> workflow_pb2.WorkflowCreateRequest:
    ident = identifier_pb2.Identifier(
        resource_type=identifier_pb2.WORKFLOW, project=PROJECT, domain=DOMAIN, name=name, version=version
    )

    def bind(node: str, var: str) -> literals_pb2.BindingData:
        return literals_pb2.BindingData(promise=types_pb2.OutputReference(node_id=node, var=var))

    nodes = [
        core_wf.Node(
            id="n0",
            task_node=core_wf.TaskNode(reference_id=first),
            inputs=[literals_pb2.Binding(var="x", binding=bind("start-node", "x"))],
        ),
        core_wf.Node(
            id="n1",
            task_node=core_wf.TaskNode(reference_id=second),
            upstream_node_ids=["n0"],
            inputs=[literals_pb2.Binding(var="x", binding=bind("n0", "o0"))],
        ),
    ]
    template = core_wf.WorkflowTemplate(
        id=ident,
        interface=interface_pb2.TypedInterface(inputs=VARS, outputs=OUT),
        nodes=nodes,
        outputs=[literals_pb2.Binding(var="o0", binding=bind("n1", "o0"))],
    )
    return workflow_pb2.WorkflowCreateRequest(id=ident, spec=workflow_pb2.WorkflowSpec(template=template))


async def echo_rate(address: str, payload: bytes, count: int, concurrency: int) -> float:
    async with aio.insecure_channel(address) as channel:
        call = channel.unary_unary("/bench.Echo/Call", request_serializer=None, response_deserializer=None)
        wall, _ = await run_concurrently([lambda: call(payload) for _ in range(count)], concurrency)
    return count / wall


async def register_rate(address: str, requests: list, method: str, concurrency: int) -> float:  # type: ignore[type-arg]
    async with aio.insecure_channel(address) as channel:
        stub = admin_pb2_grpc.AdminServiceStub(channel)
        rpc = getattr(stub, method)

        async def one(request: object) -> None:
            try:
                await rpc(request)
            except aio.AioRpcError as exc:
                if exc.code() != grpc.StatusCode.ALREADY_EXISTS:
                    raise

        wall, _ = await run_concurrently([lambda r=r: one(r) for r in requests], concurrency)
    return len(requests) / wall


async def list_latencies(address: str, queries: list[str], rounds: int) -> list[float]:
    async with aio.insecure_channel(address) as channel:
        stub = admin_pb2_grpc.AdminServiceStub(channel)
        calls = []
        for i in range(rounds):
            filters = queries[i % len(queries)]
            request = common_pb2.ResourceListRequest(
                id=common_pb2.NamedEntityIdentifier(project=PROJECT, domain=DOMAIN),
                limit=100,
                filters=filters,
                sort_by=common_pb2.Sort(key="created_at", direction=common_pb2.Sort.DESCENDING),
            )
            calls.append(lambda request=request: stub.ListTasks(request))
        _, latencies = await run_concurrently(calls, 1)
    return latencies


async def main(db_url: str, repeat: int) -> None:
    sample = task_request("bench.tasks.sample_task_name", "v0000").SerializeToString()
    rows = []
    with tempfile.TemporaryDirectory() as tmp, echo_server() as echo, aerodrome(Path(tmp), db_url) as server:
        for concurrency in (1, 8):
            echo_rates, task_rates, wf_rates = [], [], []
            for r in range(repeat):
                tag = f"c{concurrency}r{r}"
                echo_rates.append(await echo_rate(echo, sample, 2000, concurrency))
                tasks = [task_request(f"bench.tasks.t{i % 200}", f"{tag}-{i}") for i in range(2000)]
                task_rates.append(await register_rate(server, tasks, "CreateTask", concurrency))
                wfs = [
                    workflow_request(f"bench.wf.w{i % 50}", f"{tag}-{i}", tasks[2 * i].id, tasks[2 * i + 1].id)
                    for i in range(500)
                ]
                wf_rates.append(await register_rate(server, wfs, "CreateWorkflow", concurrency))
            rows.append((concurrency, median(echo_rates), median(task_rates), median(wf_rates)))

        registered = 2000 * 2 * repeat
        filler = [task_request(f"bench.fill.t{i % 500}", f"fill-{i}") for i in range(max(0, 10_000 - registered))]
        if filler:
            await register_rate(server, filler, "CreateTask", 8)
        queries = [
            "eq(name,bench.fill.t42)",
            "contains(name,t1)+gte(version,fill-5)",
            "value_in(version,fill-1;fill-2;fill-3)",
            "eq(name,bench.tasks.t7)+ne(version,x)",
        ]
        latencies = await list_latencies(server, queries, 200)

    print(f"database: {db_url or 'SQLite (embedded default)'}; medians of {repeat} rounds")
    print(f"{'clients':>7} {'echo calls/s':>13} {'CreateTask/s':>13} {'ratio':>6} {'CreateWorkflow/s':>17}")
    for concurrency, echo, task_rate, wf_rate in rows:
        print(f"{concurrency:>7} {echo:>13.0f} {task_rate:>13.0f} {task_rate / echo:>6.2f} {wf_rate:>17.0f}")
    print(
        f"filtered ListTasks over {max(registered, 10_000)} tasks (limit 100): "
        f"p50 {percentile(latencies, 0.5) * 1000:.1f} ms, p95 {percentile(latencies, 0.95) * 1000:.1f} ms"
    )
    print("targets: CreateTask ≥ 0.40 of echo on SQLite; filtered list p95 < 50 ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db-url", default="", help="database URL (default: embedded SQLite)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per figure")
    args = parser.parse_args()
    asyncio.run(main(args.db_url, args.repeat))
