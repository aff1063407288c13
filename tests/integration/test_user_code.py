"""Everyday user code run as users run it (``pyflyte register`` + FlyteRemote, ``pyflyte run --remote``):
dataclass and pydantic attribute access, a map task that fails while its inputs are resolved, no-op
branches, subworkflows inside a dynamic workflow, checkpoints across retries and decks.

One server for the module, on SQLite and the local blob store.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flyteidl.admin import node_execution_pb2
from flytekit.models.core.execution import NodeExecutionPhase, WorkflowExecutionPhase
from flytekit.remote import FlyteRemote

from tests.integration.conftest import Server, start_server, stop_server
from tests.support.clients import admin_stub, flyte_remote
from tests.support.projects import register_project

PROJECT_DIR = Path(__file__).parent / "projects" / "user_code"
WF = "workflows.features"


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("aerodrome-user-code"), "", "sqlite")
    try:
        yield srv
    finally:
        stop_server(srv)


@pytest.fixture(scope="module")
def version(local: Server, tmp_path_factory: pytest.TempPathFactory) -> str:
    return register_project(local, PROJECT_DIR, tmp_path_factory.mktemp("user_code"))


@pytest.fixture(scope="module")
def client(local: Server) -> FlyteRemote:
    return flyte_remote(local.grpc)


def run(remote: FlyteRemote, version: str, name: str, inputs: dict[str, Any] | None = None) -> Any:
    lp = remote.fetch_launch_plan(name=f"{WF}.{name}", version=version)
    execution = remote.execute(lp, inputs=inputs or {})
    return remote.wait(execution, timeout=timedelta(seconds=180), poll_interval=timedelta(seconds=0.5))


def succeeded(done: Any) -> Any:
    assert done.closure.phase == WorkflowExecutionPhase.SUCCEEDED, done.closure.error
    return done.outputs


def test_dataclass_fields_pass_from_node_to_node(client: FlyteRemote, version: str) -> None:
    out = succeeded(run(client, version, "record_fields", {"name": "grace"}))
    assert out["o0"] == "GRACE"
    assert out["o1"] == 7.5  # count 5 * weights[1]
    assert out["o2"] == "second:5.0"
    assert out["o3"] == 7  # tags["b"] + count
    assert out["o4"] == "grace-inner:2.0"


def test_pydantic_fields_and_a_map_over_one(client: FlyteRemote, version: str) -> None:
    out = succeeded(run(client, version, "model_fields", {"title": "t"}))
    assert (out["o0"], out["o1"], out["o2"], out["o3"]) == ("T", 3.75, 15, [0.625, 1.25])


def test_a_pydantic_launch_plan_default_mapped_over(client: FlyteRemote, version: str) -> None:
    assert succeeded(run(client, version, "model_default"))["o0"] == [1.0, 2.0, 4.0]


def test_a_flyte_file_inside_a_dataclass(client: FlyteRemote, version: str) -> None:
    assert succeeded(run(client, version, "file_in_dataclass"))["o0"] == "payload in a dataclass"


def test_a_map_failing_on_its_inputs_names_the_key_and_syncs(client: FlyteRemote, version: str) -> None:
    done = run(client, version, "map_over_missing_key")
    assert done.closure.phase == WorkflowExecutionPhase.FAILED
    message = done.closure.error.message
    assert "'absent'" in message and "present" in message, message
    synced = client.sync_execution(done, sync_nodes=True)  # flytekit reads every node's metadata
    array = synced.node_executions["n1"]
    assert array.metadata.is_array


def test_a_no_op_branch_echoes_its_input(client: FlyteRemote, version: str) -> None:
    assert succeeded(run(client, version, "noop_branch", {"x": -4}))["o0"] == -4
    assert succeeded(run(client, version, "noop_branch", {"x": 3}))["o0"] == 3


def test_a_dynamic_workflow_calling_a_workflow_and_itself(client: FlyteRemote, version: str) -> None:
    numbers = [9, 3, 7, 1, 8, 2, 6, 5, 4]
    assert succeeded(run(client, version, "sorted_numbers", {"xs": numbers}))["o0"] == sorted(numbers)


def test_a_retry_reads_the_checkpoint_of_the_attempt_before(client: FlyteRemote, version: str, local: Server) -> None:
    done = run(client, version, "checkpointed", {"n": 2})
    assert succeeded(done)["o0"] == "finished after 2 checkpoints"
    synced = client.sync_execution(done, sync_nodes=True)
    node = synced.node_executions["n0"]
    assert len(node.task_executions) == 3
    with admin_stub(local.grpc) as stub:  # flytekit's model has no checkpoint_uri: read the record itself
        record = stub.GetNodeExecution(node_execution_pb2.NodeExecutionGetRequest(id=node.id.to_flyte_idl()))
    assert record.closure.task_node_metadata.checkpoint_uri.endswith("/2/raw/_flytecheckpoints")


def test_a_deck_is_linked_and_downloadable(client: FlyteRemote, version: str) -> None:
    done = run(client, version, "decked", {"text": "hello deck"})
    succeeded(done)
    synced = client.sync_execution(done, sync_nodes=True)
    node = synced.node_executions["n0"]
    assert node.closure.deck_uri.endswith("/0/deck.html")
    ident = done.id
    deck = client.get(f"flyte://v1/{ident.project}/{ident.domain}/{ident.name}/n0/d")  # how users read decks
    html = deck if isinstance(deck, bytes) else deck.data.encode()  # type: ignore[union-attr]
    assert b"hello deck" in html
    dynamic = run(client, version, "decked_dynamic", {"n": 2})  # a dynamic task's own deck too
    assert succeeded(dynamic)["o0"] == [0, 1]
    node = client.sync_execution(dynamic, sync_nodes=True).node_executions["n0"]
    assert node.closure.deck_uri.endswith("/0/deck.html")


SECRET = "s3cr3t-value-for-the-test"


def test_requested_secrets_reach_only_the_tasks_that_asked(client: FlyteRemote, version: str, local: Server) -> None:
    env = {**os.environ, "AERODROME_HOME": str(local.home)}
    env.pop("AERODROME_DB_URL", None)
    aerodrome = [sys.executable, "-m", "aerodrome", "secrets"]
    subprocess.run([*aerodrome, "set", "user-info", "user_secret"], input=SECRET, env=env, check=True, text=True)
    listed = subprocess.run([*aerodrome, "list"], env=env, check=True, text=True, capture_output=True).stdout
    assert listed.split() == ["user-info/user_secret"] and SECRET not in listed
    out = succeeded(run(client, version, "with_secrets"))
    assert out["o0"] == SECRET
    assert out["o1"] == f"{SECRET}|env=False"  # a FILE mount is a file only
    assert out["o2"] == "[]|"  # a task that requested nothing gets nothing
    missing = run(client, version, "with_unset_secret")
    assert missing.closure.phase == WorkflowExecutionPhase.FAILED
    assert "aerodrome secrets set user-info never_set" in missing.closure.error.message
    assert SECRET not in (local.home / "server.log").read_text()
    assert not list((local.home / "work").rglob(".secrets"))  # secret files do not outlive their attempt
    subprocess.run([*aerodrome, "delete", "user-info", "user_secret"], env=env, check=True, capture_output=True)
    gone = subprocess.run([*aerodrome, "delete", "user-info", "user_secret"], env=env, capture_output=True, text=True)
    assert gone.returncode != 0 and "no secret user-info/user_secret" in gone.stderr


def test_a_sensor_waits_for_its_file_and_times_out_without_it(
    client: FlyteRemote, version: str, tmp_path: Path
) -> None:
    target = tmp_path / "arrives-later.txt"
    lp = client.fetch_launch_plan(name=f"{WF}.sensed", version=version)
    execution = client.execute(lp, inputs={"path": str(target)})
    time.sleep(3)
    target.write_text("it came")
    done = client.wait(execution, timeout=timedelta(seconds=180), poll_interval=timedelta(seconds=0.5))
    assert succeeded(done)["o0"] == "it came"
    never = run(client, version, "sensed_never", {"path": str(tmp_path / "never.txt")})
    assert never.closure.phase == WorkflowExecutionPhase.FAILED
    assert "timeout" in never.closure.error.message.lower(), never.closure.error.message


def test_map_nodes_that_never_ran_still_sync(client: FlyteRemote, version: str) -> None:
    """Whatever event first records an array node (skipped, aborted, failed early) marks it as one."""
    failed = run(client, version, "map_after_failure")
    assert failed.closure.phase == WorkflowExecutionPhase.FAILED
    synced = client.sync_execution(failed, sync_nodes=True)
    skipped = synced.node_executions["n1"]
    assert skipped.closure.phase == NodeExecutionPhase.SKIPPED and skipped.metadata.is_array
    assert succeeded(run(client, version, "map_in_untaken_branch", {"x": -2}))["o0"] == [-2.0]
