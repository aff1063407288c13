"""Task attempts on a real Ray cluster (a head and a worker node on loopback), with real flytekit and
SeaweedFS as the blob store: plain tasks as Ray tasks, a flytekit RayJobConfig task as a Ray job, resource
refusal, terminate, retries, timeouts, provider routing (ray and local in one execution) and a map task.

The server's default launcher is Ray. The module runs only inside a private network namespace (see
tests/support/ray_cluster.py; ``.ci/run`` runs it so) and on SQLite: PostgreSQL's TCP port is not reachable
from that namespace, and nothing of the Ray launcher touches the database beyond the provider resolution,
which runs on both databases in test_providers.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from flytekit.core.options import Options
from flytekit.models.common import Annotations
from flytekit.models.core.execution import WorkflowExecutionPhase as Phase
from flytekit.remote import FlyteRemote
from flytekit.remote.executions import FlyteWorkflowExecution

from tests.integration.conftest import Server, start_server, stop_server
from tests.support.clients import flyte_remote
from tests.support.projects import register_project
from tests.support.ray_cluster import RayCluster, ray_cluster, require_ray
from tests.support.seaweed import seaweed, unique_prefix

pytestmark = pytest.mark.slow
PROJECT_DIR = Path(__file__).parent / "projects" / "ray_app"
MODULE = "workflows.on_ray"
MAPS = "workflows.ray_maps"  # without Ray's import, which each batch of map items would pay


@dataclass(frozen=True)
class Setup:
    server: Server
    cluster: RayCluster
    version: str
    scratch: Path

    def remote(self) -> FlyteRemote:
        return flyte_remote(self.server.grpc)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    require_ray()
    scratch = tmp_path_factory.mktemp("ray-launcher")
    with ray_cluster(scratch / "cluster") as cluster, seaweed(scratch / "weed") as weed:
        env = {
            **weed.blob_env(unique_prefix()),
            "AERODROME_ENGINE_RAY_ADDRESS": cluster.address,
            "AERODROME_ENGINE_LAUNCHER": "ray",
            "AERODROME_ENGINE_RAY_SCRATCH_DIR": str(scratch / "on-workers"),
        }
        server = start_server(scratch / "home", "", "sqlite", extra_env=env)
        try:
            yield Setup(server, cluster, register_project(server, PROJECT_DIR, scratch), scratch)
        finally:
            stop_server(server)


def run(
    setup: Setup, workflow: str, inputs: dict[str, Any] | None = None, module: str = MODULE, **options: Any
) -> FlyteWorkflowExecution:
    remote = setup.remote()
    plan = remote.fetch_launch_plan(name=f"{module}.{workflow}", version=setup.version)
    return remote.execute(plan, inputs=inputs or {}, options=Options(**options) if options else None)


def finished(setup: Setup, execution: FlyteWorkflowExecution, timeout: float = 120) -> FlyteWorkflowExecution:
    return setup.remote().wait(execution, timeout=timeout, poll_interval=0.2)


def test_three_tasks_run_in_ray_worker_processes(setup: Setup) -> None:
    done = finished(setup, run(setup, "three"))
    assert done.closure.phase == Phase.SUCCEEDED, done.closure.error
    outputs = [done.outputs[f"o{i}"] for i in range(3)]
    nodes = set(setup.cluster.node_ids())
    for index, line in enumerate(outputs, start=1):
        x, node, pid, parent = line.split(":", 3)
        assert x == str(index) and node in nodes, (line, nodes)  # the Ray node id the worker set
        assert int(pid) != setup.server.pid
        assert parent == "zygote", line  # forked from the worker's warm process, not a fresh interpreter


def test_a_gpu_task_on_a_cluster_without_gpus_fails_at_once_naming_the_resource(setup: Setup) -> None:
    started = time.monotonic()
    done = finished(setup, run(setup, "gpu"), timeout=60)
    assert done.closure.phase == Phase.FAILED
    message = done.closure.error.message
    assert "1 GPU" in message and "no node of the Ray cluster" in message, message
    assert time.monotonic() - started < 20


def test_a_ray_job_task_maps_remote_calls_on_the_cluster_with_its_runtime_env(setup: Setup) -> None:
    done = finished(setup, run(setup, "ray_job"), timeout=150)
    assert done.closure.phase == Phase.SUCCEEDED, done.closure.error
    assert done.outputs["o0"] == f"{sum(i * i for i in range(20))}:hello from runtime_env"


def test_a_ray_job_wider_than_the_cluster_is_a_clear_error(setup: Setup) -> None:
    done = finished(setup, run(setup, "wide_job"), timeout=60)
    assert done.closure.phase == Phase.FAILED
    message = done.closure.error.message
    assert "worker group 'many' needs 5 worker node(s)" in message, message


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "\nState:\tZ" in status.read_text())


def test_terminate_aborts_within_five_seconds_and_leaves_no_process(setup: Setup) -> None:
    marker = setup.scratch / f"sleeper-{uuid.uuid4().hex[:6]}"
    execution = run(setup, "sleepy", {"marker": str(marker)})
    deadline = time.monotonic() + 90
    while not marker.exists():
        assert time.monotonic() < deadline, "the task did not start on Ray"
        time.sleep(0.1)
    pids = [int(p) for p in marker.read_text().split()]
    remote = setup.remote()
    asked = time.monotonic()
    remote.terminate(execution, cause="test")
    while remote.fetch_execution(name=execution.id.name).closure.phase != Phase.ABORTED:
        assert time.monotonic() - asked < 5, "not ABORTED within 5 s"
        time.sleep(0.1)
    while any(_alive(pid) for pid in pids):
        assert time.monotonic() - asked < 5, f"processes of the attempt left: {pids}"
        time.sleep(0.1)


def test_retries_behave_as_for_local_attempts(setup: Setup) -> None:
    done = finished(setup, run(setup, "retried"))
    assert done.closure.phase == Phase.SUCCEEDED, done.closure.error
    attempt, node = done.outputs["o0"].split(":")
    assert attempt == "1" and node in setup.cluster.node_ids()


def test_a_timeout_fails_the_attempt_as_for_local_attempts(setup: Setup) -> None:
    started = time.monotonic()
    done = finished(setup, run(setup, "timed_out"), timeout=90)
    assert done.closure.phase == Phase.FAILED
    assert "exceeded its timeout of 3.0s" in done.closure.error.message, done.closure.error.message
    assert time.monotonic() - started < 60


def test_a_ray_provider_routes_its_node_to_ray_and_a_local_one_runs_locally(setup: Setup) -> None:
    for device, metadata in (("ray", {"address": setup.cluster.address}), ("local", {})):
        body = {"name": "fate", "version": "2.0.1", "device": device, "metadata": metadata}
        answer = httpx.post(f"{setup.server.http}/api/v1/providers", json=body, timeout=60)
        assert answer.status_code == 200, answer.text
    tasks = {"n0": {"conf": {"provider": "fate:2.0.1@ray"}}, "n1": {"conf": {"provider": "fate:2.0.1@local"}}}
    conf = {"dag": {"tasks": tasks}}
    done = finished(setup, run(setup, "routed", annotations=Annotations({"aerodrome/job-conf": json.dumps(conf)})))
    assert done.closure.phase == Phase.SUCCEEDED, done.closure.error.message
    assert done.outputs["o0"] in setup.cluster.node_ids()
    assert done.outputs["o1"] == ""


MAP_ITEMS = int(os.environ.get("AERODROME_RAY_MAP_ITEMS", "200"))  # the issue's figure


def test_a_map_on_ray_runs_its_items_in_batches_of_warm_forks(setup: Setup) -> None:
    # Bounded generously so that the module's own `timeout` in .ci/run, not this wait, stops a hung run.
    done = finished(setup, run(setup, "mapped", {"xs": list(range(MAP_ITEMS))}, MAPS), timeout=600)
    assert done.closure.phase == Phase.SUCCEEDED, done.closure.error
    outputs = [line.split(":") for line in done.outputs["o0"]]
    assert [int(value) for value, _, _ in outputs] == [2 * x for x in range(MAP_ITEMS)]
    # Every item ran in a fork of its Ray worker's warm process, many items to one fork (a batch).
    assert {parent for _, parent, _ in outputs} == {"zygote"}, outputs
    assert len({pid for _, _, pid in outputs}) < MAP_ITEMS / 2, outputs


def test_map_items_on_ray_keep_their_own_retries_when_one_kills_its_batch(setup: Setup) -> None:
    done = finished(setup, run(setup, "hazards", {"xs": list(range(8))}, MAPS), timeout=300)
    assert done.closure.phase == Phase.SUCCEEDED, done.closure.error
    # Batches of 4: items 1 (its process died under it) and 5 (a recoverable error) succeeded on their second
    # attempt, every other item on its first, including 2 and 3 after 1 in its batch; each saw its own index.
    expected = [f"{x}:{x}:{1 if x in (1, 5) else 0}" for x in range(8)]
    assert done.outputs["o0"] == expected


def test_requested_secrets_reach_a_ray_attempt_as_variables_and_files(setup: Setup) -> None:
    secret = f"ray-secret-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "AERODROME_HOME": str(setup.server.home)}
    env.pop("AERODROME_DB_URL", None)
    command = [sys.executable, "-m", "aerodrome", "secrets", "set", "ray-info", "token"]
    subprocess.run(command, input=secret, env=env, check=True, text=True, capture_output=True)
    done = finished(setup, run(setup, "with_secrets"))
    assert done.closure.phase == Phase.SUCCEEDED, done.closure.error
    from_env, from_file, node = done.outputs["o0"].split("|")
    assert from_env == from_file == secret and node in setup.cluster.node_ids()
    assert secret not in (setup.server.home / "server.log").read_text()
    assert not list((setup.scratch / "on-workers").rglob(".secrets"))  # gone with the attempt's scratch
