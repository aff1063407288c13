"""Executions end to end: real flytekit task processes launched, observed, retried, terminated, relaunched."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest
from flyteidl.admin import common_pb2, execution_pb2, task_execution_pb2
from flyteidl.core import identifier_pb2, literals_pb2
from flytekit.configuration import Config
from flytekit.models.core.execution import WorkflowExecutionPhase
from flytekit.remote import FlyteRemote

from tests.integration.conftest import Server
from tests.support.clients import admin_stub
from tests.support.projects import register_project
from tests.support.stored_inputs import inputs_objects, string_input

PROJECT_DIR = Path(__file__).parent / "projects" / "exec_app"
PYFLYTE = str(Path(sys.executable).with_name("pyflyte"))
WF = "workflows.basics"


@pytest.fixture(scope="module")
def registered(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    """The exec_app project registered (fast registration) once per server."""
    yield server, register_project(server, PROJECT_DIR, tmp_path_factory.mktemp("exec_app"))


def run(remote: FlyteRemote, version: str, name: str, inputs: dict[str, object], timeout: int = 120):  # type: ignore[no-untyped-def]
    lp = remote.fetch_launch_plan(name=f"{WF}.{name}", version=version)
    execution = remote.execute(lp, inputs=inputs)
    return remote.wait(execution, timeout=timeout, poll_interval=0.5)


def test_pyflyte_run_remote_wait(server: Server, tmp_path: Path) -> None:
    shutil.copytree(PROJECT_DIR, tmp_path / "app", ignore=shutil.ignore_patterns("__pycache__"))
    result = subprocess.run(
        [
            PYFLYTE,
            "-c",
            str(server.config),
            "run",
            "--remote",
            "--wait",
            "--poll-interval",
            "1",
            "workflows/basics.py",
            "two_tasks",
            "--a",
            "3",
            "--b",
            "4",
            "--name",
            "bob",
        ],
        cwd=tmp_path / "app",
        env=server.env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    match = re.search(r"executions/([a-zA-Z0-9]+)", output)
    assert match and len(match.group(1)) == 20 and match.group(1).isalnum(), output
    assert "has succeeded" in output
    remote = FlyteRemote(
        Config.for_endpoint(server.grpc, insecure=True), default_project="flytesnacks", default_domain="development"
    )
    execution = remote.fetch_execution(name=match.group(1))
    assert execution.outputs["o0"] == "hello bob 7"


def test_execute_and_inspect_nodes(registered: tuple[Server, str], remote: FlyteRemote) -> None:
    _, version = registered
    done = run(remote, version, "two_tasks", {"a": 2, "b": 5, "name": "ann"})
    assert done.closure.phase == WorkflowExecutionPhase.SUCCEEDED
    assert done.outputs["o0"] == "hello ann 7"
    assert done.closure.duration.total_seconds() > 0
    synced = remote.sync_execution(done, sync_nodes=True)
    nodes = synced.node_executions
    assert nodes["start-node"].closure.phase == 3 and nodes["end-node"].closure.phase == 3
    n0 = nodes["n0"]
    assert n0.inputs["a"] == 2 and n0.inputs["b"] == 5 and n0.outputs["o0"] == 7
    attempt = n0.task_executions[0]
    assert attempt.inputs["a"] == 2 and attempt.outputs["o0"] == 7
    assert attempt.closure.logs, "the task log is linked from the task execution"
    with admin_stub(registered[0].grpc) as stub:
        raw = stub.GetTaskExecution(task_execution_pb2.TaskExecutionGetRequest(id=attempt.id.to_flyte_idl()))
    usage = raw.closure.custom_info
    assert usage["cpu_seconds"] > 0 and usage["peak_rss_bytes"] > 10_000_000
    span = remote.client.get_execution_metrics(done.id)
    assert {s.operation_id for s in span.spans} >= {"WORKFLOW_SETUP", "WORKFLOW_RUNTIME"}
    assert {s.node_id.node_id for s in span.spans if s.HasField("node_id")} >= {"n0", "n1"}


def test_failure_and_retries(registered: tuple[Server, str], remote: FlyteRemote, tmp_path: Path) -> None:
    _, version = registered
    failed = run(remote, version, "failing", {"x": 4})
    assert failed.closure.phase == WorkflowExecutionPhase.FAILED
    assert "boom from user code with 4" in failed.closure.error.message

    retried = run(remote, version, "retried", {"marker_dir": str(tmp_path / "markers")})
    assert retried.closure.phase == WorkflowExecutionPhase.SUCCEEDED
    assert retried.outputs["o0"] == 2
    synced = remote.sync_execution(retried, sync_nodes=True)
    attempts = synced.node_executions["n0"].task_executions
    assert [t.closure.phase for t in attempts] == [5, 5, 3]  # FAILED, FAILED, SUCCEEDED


def test_terminate_kills_the_process(registered: tuple[Server, str], remote: FlyteRemote, tmp_path: Path) -> None:
    _, version = registered
    pid_file = tmp_path / "sleep.pid"
    lp = remote.fetch_launch_plan(name=f"{WF}.sleepy", version=version)
    execution = remote.execute(lp, inputs={"seconds": 600, "pid_file": str(pid_file)})
    deadline = time.monotonic() + 60
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    pid = int(pid_file.read_text())
    started = time.monotonic()
    remote.terminate(execution, cause="test says stop")
    while time.monotonic() - started < 2:
        if remote.fetch_execution(name=execution.id.name).closure.phase == WorkflowExecutionPhase.ABORTED:
            break
        time.sleep(0.1)
    aborted = remote.fetch_execution(name=execution.id.name)
    assert aborted.closure.phase == WorkflowExecutionPhase.ABORTED
    assert aborted.closure.abort_metadata.cause == "test says stop"
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_relaunch_uses_the_same_inputs(registered: tuple[Server, str], remote: FlyteRemote) -> None:
    _, version = registered
    first = run(remote, version, "two_tasks", {"a": 10, "b": 1, "name": "re"})
    new_id = remote.client.relaunch_execution(first.id)
    again = remote.wait(remote.fetch_execution(name=new_id.name), timeout=120, poll_interval=0.5)
    assert again.closure.phase == WorkflowExecutionPhase.SUCCEEDED
    assert again.outputs["o0"] == "hello re 11"
    assert again.spec.metadata.mode == execution_pb2.ExecutionMetadata.RELAUNCH
    assert again.spec.metadata.reference_execution.name == first.id.name


def test_single_task_execution_and_lists(registered: tuple[Server, str], remote: FlyteRemote) -> None:
    server, version = registered
    task = remote.fetch_task(name=f"{WF}.add", version=version)
    done = remote.wait(remote.execute(task, inputs={"a": 20, "b": 22}), timeout=120, poll_interval=0.5)
    assert done.closure.phase == WorkflowExecutionPhase.SUCCEEDED
    assert done.outputs["o0"] == 42
    with admin_stub(server.grpc) as stub:
        wf = stub.GetWorkflow(
            common_pb2.ObjectGetRequest(
                id=identifier_pb2.Identifier(
                    resource_type=identifier_pb2.WORKFLOW,
                    project="flytesnacks",
                    domain="development",
                    name=f".flytegen.{WF}.add",
                    version=version,
                )
            )
        )
        assert wf.closure.compiled_workflow.primary.template.nodes[2].metadata.retries.retries == 0
        scope = common_pb2.NamedEntityIdentifier(project="flytesnacks", domain="development")

        def names(filters: str) -> set[str]:
            listed = stub.ListExecutions(common_pb2.ResourceListRequest(id=scope, limit=1000, filters=filters))
            return {e.id.name for e in listed.executions}

        assert done.id.name in names("eq(phase,SUCCEEDED)+gte(duration,0)")
        assert done.id.name not in names("value_in(phase,FAILED;ABORTED)")
        assert done.id.name in names(f"eq(task.name,{WF}.add)")
        assert done.id.name in names("gt(execution_created_at,2020-01-01T00:00:00Z)")
        flytegen = names(f"eq(launch_plan.name,.flytegen.{WF}.add)")
        assert done.id.name in flytegen
        stub.UpdateExecution(
            execution_pb2.ExecutionUpdateRequest(id=done.id.to_flyte_idl(), state=execution_pb2.EXECUTION_ARCHIVED)
        )
        assert done.id.name not in names("eq(phase,SUCCEEDED)")
        assert done.id.name in names("eq(state,1)")


def test_duplicate_name_is_already_exists(registered: tuple[Server, str], remote: FlyteRemote) -> None:
    _, version = registered
    lp = remote.fetch_launch_plan(name=f"{WF}.two_tasks", version=version)
    name = f"dup{uuid.uuid4().hex[:8]}"
    first = remote.execute(lp, inputs={"a": 1, "b": 1, "name": "d"}, execution_name=name)
    again = remote.execute(lp, inputs={"a": 1, "b": 1, "name": "d"}, execution_name=name)  # flytekit returns it
    assert again.id.name == first.id.name == name
    assert remote.wait(again, timeout=120, poll_interval=0.5).outputs["o0"] == "hello d 2"


def test_concurrent_creations_of_one_name_keep_one_execution_and_no_stray_inputs(
    registered: tuple[Server, str], remote: FlyteRemote
) -> None:
    """CreateExecution stores the inputs before its one insert: of several racing requests for one name,
    exactly one wins, the others get ALREADY_EXISTS and leave nothing behind (the same inputs are one object
    under their content's key, the one the winner refers to; nothing under the execution's own key)."""
    server, version = registered
    lp = remote.fetch_launch_plan(name=f"{WF}.two_tasks", version=version)
    name = f"race{uuid.uuid4().hex[:8]}"
    said = f"r{uuid.uuid4().hex[:8]}"  # inputs never stored before
    request = execution_pb2.ExecutionCreateRequest(
        project="flytesnacks",
        domain="development",
        name=name,
        spec=execution_pb2.ExecutionSpec(launch_plan=lp.id.to_flyte_idl()),
        inputs=literals_pb2.LiteralMap(literals={"name": string_input(said)}),
    )

    def create(_: int) -> str:
        with admin_stub(server.grpc) as stub:
            try:
                stub.CreateExecution(request)
            except grpc.RpcError as exc:
                return str(exc.code().name)
            return "OK"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(create, range(8)))
    assert outcomes.count("OK") == 1 and outcomes.count("ALREADY_EXISTS") == 7, outcomes
    done = remote.wait(remote.fetch_execution(name=name), timeout=120, poll_interval=0.5)
    assert done.outputs["o0"] == f"hello {said} 3"
    blobs = server.home / "blobs"
    stored = inputs_objects(blobs, "flytesnacks", "development", said)
    assert sorted(len(m.literals) for m in stored) == [1, 3], "the user's inputs and the full inputs, once each"
    prefix = blobs / "flytesnacks" / "development" / "executions" / name
    assert not list(prefix.rglob("user_inputs.pb"))
