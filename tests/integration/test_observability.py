"""/metrics and JSON logs of a real server while flytekit runs a workflow through it.

One server for the module (SQLite; the sampled SQL is plain GROUP BY, run on PostgreSQL by the unit
tests of the repositories), started with AERODROME_LOG_FORMAT=json at DEBUG.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from flyteidl.admin import common_pb2
from flyteidl.core import identifier_pb2
from flytekit.models.core.execution import WorkflowExecutionPhase
from flytekit.remote import FlyteRemote
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.conftest import Server, start_server, stop_server
from tests.support.clients import admin_stub, flyte_remote, status_of
from tests.support.projects import register_project

PROJECT_DIR = Path(__file__).parent / "projects" / "exec_app"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    home = tmp_path_factory.mktemp("observed")
    server = start_server(home, "", "sqlite", {"AERODROME_LOG_FORMAT": "json"}, log_level="DEBUG")
    try:
        yield server, register_project(server, PROJECT_DIR, tmp_path_factory.mktemp("observed_app"))
    finally:
        stop_server(server)


def scrape(server: Server) -> Samples:
    response = httpx.get(f"{server.http}/metrics", timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def labelled(samples: Samples, name: str, label: str) -> dict[str, float]:
    return {dict(key)[label]: v for (n, key), v in samples.items() if n == name and label in dict(key)}


def test_metrics_move_with_a_flytekit_run(observed: tuple[Server, str]) -> None:
    server, version = observed
    before = scrape(server)
    remote: FlyteRemote = flyte_remote(server.grpc)
    lp = remote.fetch_launch_plan(name="workflows.basics.chain", version=version)
    execution = remote.execute(lp, inputs={"x": 0, "pause": 0.4})

    # While it runs: a lease held by this process and a task process running.
    deadline, busy = time.monotonic() + 60, None
    while time.monotonic() < deadline:
        busy = scrape(server)
        if value(busy, "aerodrome_task_processes_running") >= 1 and sum(
            labelled(busy, "aerodrome_leases", "owner").values()
        ):
            break
        time.sleep(0.2)
    assert busy is not None and value(busy, "aerodrome_task_processes_running") >= 1
    assert sum(labelled(busy, "aerodrome_leases", "owner").values()) >= 1
    assert labelled(busy, "aerodrome_executions", "phase").get("RUNNING", 0) >= 1

    done = remote.wait(execution, timeout=120, poll_interval=0.5)
    assert done.closure.phase == WorkflowExecutionPhase.SUCCEEDED and done.outputs["o0"] == 5
    with admin_stub(server.grpc) as stub:  # one failing gRPC call, by code
        missing = identifier_pb2.Identifier(
            resource_type=identifier_pb2.TASK, project="flytesnacks", domain="development", name="nope", version="v"
        )
        with pytest.raises(grpc.RpcError) as failed:
            stub.GetTask(common_pb2.ObjectGetRequest(id=missing))
        assert status_of(failed.value) == grpc.StatusCode.NOT_FOUND
    gateway = httpx.get(f"{server.http}/api/v1/tasks/flytesnacks/development/nope/v", timeout=10)
    assert gateway.status_code == 404
    after = scrape(server)

    grpc_calls = "aerodrome_rpc_duration_seconds_count"
    assert value(after, grpc_calls, transport="grpc", method="CreateExecution") >= 1 + value(
        before, grpc_calls, transport="grpc", method="CreateExecution"
    )
    assert value(after, "aerodrome_rpc_duration_seconds_bucket", transport="grpc", method="CreateExecution", le="+Inf")
    errors = "aerodrome_rpc_errors_total"
    assert value(after, errors, transport="grpc", method="GetTask", code="NOT_FOUND") == 1 + value(
        before, errors, transport="grpc", method="GetTask", code="NOT_FOUND"
    )
    assert value(after, errors, transport="http", method="GetTask", code="404") == 1
    assert value(after, grpc_calls, transport="http", method="GetTask") >= 1
    # The task processes' own event reports arrive over gRPC too (CreateTaskEvent is not sent by the local launcher,
    # so the state counts come from the database and the event watcher).
    assert value(after, "aerodrome_events_total", kind="workflow", phase="SUCCEEDED") >= 1
    assert value(after, "aerodrome_events_total", kind="task", phase="SUCCEEDED") >= 5
    executions = labelled(after, "aerodrome_executions", "phase")
    assert executions.get("SUCCEEDED", 0) == labelled(before, "aerodrome_executions", "phase").get("SUCCEEDED", 0) + 1
    assert "RUNNING" not in executions
    attempts = labelled(after, "aerodrome_task_attempts", "phase")
    assert attempts.get("SUCCEEDED", 0) >= 5 + labelled(before, "aerodrome_task_attempts", "phase").get("SUCCEEDED", 0)
    assert value(after, "aerodrome_task_processes_running") == 0
    assert value(after, "aerodrome_event_loop_lag_seconds_count") >= 1
    assert value(after, "aerodrome_db_pool_size", engine="read") >= 1
    assert (
        value(after, "aerodrome_outbox_pending") == 0
        and value(after, "aerodrome_outbox_oldest_pending_age_seconds") == 0
    )
    assert value(after, "aerodrome_metrics_sample_errors_total") == 0


def test_logs_are_json_lines_with_request_and_execution_ids(observed: tuple[Server, str]) -> None:
    server, _ = observed
    records = [json.loads(line) for line in (server.home / "server.log").read_text().splitlines() if line.strip()]
    assert records, "the server logged at INFO"
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    with_execution = [r for r in records if r.get("execution_id", "").startswith("flytesnacks:development:")]
    assert any("driving the graph" in r["message"] for r in with_execution), "engine lines carry the execution id"
    with_request = [r for r in records if r.get("request_id") and r["logger"] == "aerodrome.grpc"]
    assert with_request, "lines logged while serving a call carry its request id"
    assert len({r["request_id"] for r in with_request}) > 1
