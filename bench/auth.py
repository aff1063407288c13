"""CreateExecution throughput with authentication off (mode none) and on (mode self), in the same run.

Two servers on SQLite, each with the same zero-second gate workflow; ``--count`` CreateExecution calls
from 8 concurrent clients per round, rounds alternating between the servers. With auth on, every call
carries a bearer token (a client made with ``aerodrome auth clients create``, token from the token
endpoint), so the server verifies the JWT and asks the policy on every call. Target: on/off >= 0.9.

    .venv/bin/python bench/auth.py [--count N] [--repeat R]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import grpc
import httpx
from flyteidl.admin import execution_pb2, launch_plan_pb2, workflow_pb2
from flyteidl.core import identifier_pb2, interface_pb2
from flyteidl.core import workflow_pb2 as core_wf
from flyteidl.service import admin_pb2_grpc
from google.protobuf import duration_pb2

sys.path.insert(0, str(Path(__file__).parent))
from _harness import aerodrome_server, median, run_concurrently

PROJECT, DOMAIN, VERSION = "flytesnacks", "development", "v1"


def ident(kind: int, name: str) -> identifier_pb2.Identifier:
    return identifier_pb2.Identifier(resource_type=kind, project=PROJECT, domain=DOMAIN, name=name, version=VERSION)


def gate_workflow() -> workflow_pb2.WorkflowCreateRequest:
    """One node that runs no task process (a zero-second sleep), so the control plane is what is measured."""
    template = core_wf.WorkflowTemplate(
        id=ident(identifier_pb2.WORKFLOW, "bench.gate"),
        interface=interface_pb2.TypedInterface(inputs=interface_pb2.VariableMap(), outputs=interface_pb2.VariableMap()),
        nodes=[
            core_wf.Node(
                id="n0",
                gate_node=core_wf.GateNode(sleep=core_wf.SleepCondition(duration=duration_pb2.Duration(seconds=0))),
            )
        ],
    )
    return workflow_pb2.WorkflowCreateRequest(id=template.id, spec=workflow_pb2.WorkflowSpec(template=template))


def client_token(home: Path, http: str) -> str:
    """A server-admin client made with the CLI, and an access token for it."""
    env = {**os.environ, "AERODROME_HOME": str(home)}
    done = subprocess.run(
        [sys.executable, "-m", "aerodrome", "auth", "clients", "create", "bench", "--server-admin"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    secret = re.search(r"FLYTE_CLIENT_SECRET=(\S+)", done.stderr)
    assert secret
    reply = httpx.post(f"{http}/oauth2/token", data={"grant_type": "client_credentials"}, auth=("bench", secret[1]))
    reply.raise_for_status()
    return str(reply.json()["access_token"])


async def prepare(stub: admin_pb2_grpc.AdminServiceStub, metadata: tuple[tuple[str, str], ...]) -> None:
    await stub.CreateWorkflow(gate_workflow(), metadata=metadata)
    spec = launch_plan_pb2.LaunchPlanSpec(workflow_id=ident(identifier_pb2.WORKFLOW, "bench.gate"))
    await stub.CreateLaunchPlan(
        launch_plan_pb2.LaunchPlanCreateRequest(id=ident(identifier_pb2.LAUNCH_PLAN, "bench.gate"), spec=spec),
        metadata=metadata,
    )


async def round_throughput(
    stub: admin_pb2_grpc.AdminServiceStub, metadata: tuple[tuple[str, str], ...], count: int
) -> float:
    """CreateExecution calls per second for ``count`` calls from 8 concurrent clients."""
    spec = execution_pb2.ExecutionSpec(launch_plan=ident(identifier_pb2.LAUNCH_PLAN, "bench.gate"))
    request = execution_pb2.ExecutionCreateRequest(project=PROJECT, domain=DOMAIN, spec=spec)
    calls = [lambda: stub.CreateExecution(request, metadata=metadata) for _ in range(count)]
    wall, _ = await run_concurrently(calls, 8)
    return count / wall


async def main(count: int, repeat: int) -> None:
    with (
        tempfile.TemporaryDirectory() as off_home,
        tempfile.TemporaryDirectory() as on_home,
        aerodrome_server(Path(off_home)) as off,
        aerodrome_server(Path(on_home), env_extra={"AERODROME_AUTH_MODE": "self"}) as on,
    ):
        token = client_token(Path(on_home), on.http)
        targets = {
            "off": (off.grpc, ()),
            "on": (on.grpc, (("flyte-authorization", f"Bearer {token}"),)),
        }
        results: dict[str, list[float]] = {"off": [], "on": []}
        channels = {name: grpc.aio.insecure_channel(addr) for name, (addr, _) in targets.items()}
        stubs = {name: admin_pb2_grpc.AdminServiceStub(ch) for name, ch in channels.items()}
        for name, (_, metadata) in targets.items():
            await prepare(stubs[name], metadata)
            await round_throughput(stubs[name], metadata, max(10, count // 10))  # warm-up
        for i in range(repeat):
            for name in ("off", "on") if i % 2 == 0 else ("on", "off"):
                rate = await round_throughput(stubs[name], targets[name][1], count)
                results[name].append(rate)
                print(f"round {i + 1} auth {name:3}: {rate:7.1f} CreateExecution/s", flush=True)
        for ch in channels.values():
            await ch.close()
    off, on = median(results["off"]), median(results["on"])
    load = os.getloadavg()
    print(
        f"median: auth off {off:.1f}/s  auth on {on:.1f}/s  ratio {on / off:.2f} (target >= 0.9)  "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.count, args.repeat))
