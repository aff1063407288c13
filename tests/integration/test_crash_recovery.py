"""SIGKILL the server in the middle of a chain; after a restart the execution finishes without re-running
the nodes that had already succeeded."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from flytekit.models.core.execution import WorkflowExecutionPhase

from tests.integration.conftest import start_server, stop_server
from tests.support.clients import flyte_remote
from tests.support.projects import register_project

PROJECT_DIR = Path(__file__).parent / "projects" / "exec_app"


def test_sigkill_mid_chain_then_restart(tmp_path: Path) -> None:
    home = tmp_path / "home"
    server = start_server(home, "", "sqlite", {"AERODROME_ENGINE_WARM_PROCESSES": "false"})  # fresh interpreters
    version = register_project(server, PROJECT_DIR, tmp_path)
    remote = flyte_remote(server.grpc)
    lp = remote.fetch_launch_plan(name="workflows.basics.chain", version=version)
    execution = remote.execute(lp, inputs={"x": 0, "pause": 2.0})
    name = execution.id.name

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # wait until two steps are done and the third runs
        nodes = remote.client.list_node_executions(execution.id, limit=100)[0]
        done = {n.id.node_id for n in nodes if n.closure.phase == 3 and not n.id.node_id.endswith("-node")}
        if {"n0", "n1"} <= done:
            break
        time.sleep(0.2)
    os.kill(server.pid, signal.SIGKILL)
    server.process.wait()

    restarted = start_server(home, "", "sqlite")
    try:
        remote = flyte_remote(restarted.grpc)
        finished = remote.wait(remote.fetch_execution(name=name), timeout=180, poll_interval=0.5)
        assert finished.closure.phase == WorkflowExecutionPhase.SUCCEEDED
        assert finished.outputs["o0"] == 5
        synced = remote.sync_execution(finished, sync_nodes=True)
        for node_id in done:
            attempts = synced.node_executions[node_id].task_executions
            assert len(attempts) == 1, f"{node_id} ran again after the restart"
        assert all(n.closure.phase == 3 for k, n in synced.node_executions.items())
    finally:
        stop_server(restarted)


def test_sigkill_mid_map_then_restart(tmp_path: Path) -> None:
    """A map node interrupted by a crash runs again as a new attempt of its task execution and finishes."""
    home = tmp_path / "home"
    server = start_server(home, "", "sqlite")
    version = register_project(server, PROJECT_DIR, tmp_path)
    remote = flyte_remote(server.grpc)
    lp = remote.fetch_launch_plan(name="workflows.basics.slow_map", version=version)
    execution = remote.execute(lp, inputs={"xs": list(range(6)), "pause": 1.5})
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # wait until the map node runs
        nodes = remote.client.list_node_executions(execution.id, limit=100)[0]
        if any(n.id.node_id == "n0" and n.closure.phase == 2 for n in nodes):
            break
        time.sleep(0.2)
    time.sleep(2.0)
    os.kill(server.pid, signal.SIGKILL)
    server.process.wait()

    restarted = start_server(home, "", "sqlite")
    try:
        remote = flyte_remote(restarted.grpc)
        finished = remote.wait(remote.fetch_execution(name=execution.id.name), timeout=180, poll_interval=0.5)
        assert finished.closure.phase == WorkflowExecutionPhase.SUCCEEDED, finished.closure.error
        assert finished.outputs["o0"] == [1, 2, 3, 4, 5, 6]
        synced = remote.sync_execution(finished, sync_nodes=True)
        attempts = synced.node_executions["n0"].task_executions
        assert [t.closure.phase for t in attempts] == [5, 3]  # interrupted (FAILED), then SUCCEEDED
    finally:
        stop_server(restarted)
