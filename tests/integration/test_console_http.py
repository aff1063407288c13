"""The console over plain HTTP on both backends: pages read through the managers (dashboard aggregates on
SQLite and PostgreSQL), errors are pages with the right status, user data is escaped, and the live stream
of a finished execution sends its parts and ends."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from flytekit.models.core.execution import WorkflowExecutionPhase

from tests.integration.conftest import Server
from tests.support.clients import flyte_remote
from tests.support.projects import register_project

PROJECT_DIR = Path(__file__).parent / "projects" / "console_app"
WF = "workflows.flows"
SCRIPT = "<script>window.__pwned=1</script>"


@pytest.fixture(scope="module")
def registered(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    yield server, register_project(server, PROJECT_DIR, tmp_path_factory.mktemp("console_http"))


@pytest.fixture(scope="module")
def finished(registered: tuple[Server, str]) -> tuple[Server, str, str]:
    """A succeeded execution with a ``<script>`` input, finished before the tests look at it."""
    server, version = registered
    remote = flyte_remote(server.grpc)
    lp = remote.fetch_launch_plan(name=f"{WF}.typed", version=version)
    done = remote.wait(
        remote.execute(lp, inputs={"text": SCRIPT, "n": 2}),
        timeout=timedelta(seconds=120),
        poll_interval=timedelta(seconds=0.5),
    )
    assert done.closure.phase == WorkflowExecutionPhase.SUCCEEDED, done.closure.error
    return server, version, done.id.name


def base(server: Server) -> str:
    return f"{server.http}/console/projects/flytesnacks/domains/development"


def test_execution_page_escapes_inputs_and_outputs(finished: tuple[Server, str, str]) -> None:
    server, _, name = finished
    page = httpx.get(f"{base(server)}/executions/{name}", timeout=30)
    assert page.status_code == 200
    assert SCRIPT not in page.text
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page.text


def test_label_filter_is_echoed_as_text(finished: tuple[Server, str, str]) -> None:
    server, _, _ = finished
    page = httpx.get(f"{base(server)}/executions", params={"label": SCRIPT}, timeout=30)
    assert page.status_code in (200, 400)
    assert SCRIPT not in page.text and "&lt;script&gt;" in page.text


def test_dashboard_counts_the_last_day(finished: tuple[Server, str, str]) -> None:
    server, _, name = finished
    page = httpx.get(base(server), timeout=30)
    assert page.status_code == 200
    assert "SUCCEEDED" in page.text and name in page.text
    assert "Last 24h" in page.text and "Last 7d" in page.text


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/console/projects/nosuch/domains/development", 404, "project [nosuch] not found"),
        ("/console/projects/flytesnacks/domains/nosuch", 404, "domain [nosuch]"),
        ("/console/projects/flytesnacks/domains/development/executions/nosuch", 404, "missing entity"),
        ("/console/projects/flytesnacks/domains/development/workflows/x/versions/y", 404, "missing entity"),
        ("/console/projects/flytesnacks/domains/development/launch_plans/x/versions/y/launch", 404, "missing"),
        ("/console/no/such/page", 404, "no console page"),
        ("/console/projects/flytesnacks/domains/development/executions?filters=eq(phase", 400, "filters"),
    ],
)
def test_errors_are_pages_with_a_way_back(registered: tuple[Server, str], path: str, status: int, words: str) -> None:
    server, _ = registered
    page = httpx.get(server.http + path, timeout=30)
    assert page.status_code == status
    assert words in page.text
    assert "Traceback" not in page.text
    assert "← Back" in page.text


def test_live_stream_of_a_finished_execution_sends_its_parts_and_ends(finished: tuple[Server, str, str]) -> None:
    server, _, name = finished
    with httpx.stream("GET", f"{base(server)}/executions/{name}/events", timeout=30) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        text = "".join(response.iter_text())
    events = [block for block in text.split("\n\n") if block.strip()]
    assert events[0].startswith("event: update") and events[-1].startswith("event: done")
    update = json.loads(events[0].split("data: ", 1)[1])
    assert update["phase"] == "SUCCEEDED"
    assert {"header", "dag", "nodes", "gantt", "gates", "outputs"} <= set(update["parts"])
    assert SCRIPT not in update["parts"]["outputs"]


def test_action_on_a_finished_execution_says_why(finished: tuple[Server, str, str]) -> None:
    server, _, name = finished
    response = httpx.post(f"{base(server)}/executions/{name}/terminate", data={"cause": "x"}, timeout=30)
    assert response.status_code == 409
    assert "Cannot abort an already terminated workflow execution" in response.text
    assert f"/executions/{name}" in response.text  # the way back is the execution


def test_registries_pages(registered: tuple[Server, str]) -> None:
    server, _ = registered
    for path, title in (("/console/providers", "Algorithm providers"), ("/console/products", "Product workflows")):
        page = httpx.get(server.http + path, timeout=30)
        assert page.status_code == 200 and title in page.text


def test_map_node_page_counts_its_items(registered: tuple[Server, str]) -> None:
    server, version = registered
    remote = flyte_remote(server.grpc)
    lp = remote.fetch_launch_plan(name=f"{WF}.squares", version=version)
    done = remote.wait(
        remote.execute(lp, inputs={"xs": [1, 2, 3, 4]}),
        timeout=timedelta(seconds=120),
        poll_interval=timedelta(seconds=0.5),
    )
    assert done.closure.phase == WorkflowExecutionPhase.SUCCEEDED, done.closure.error
    execution = httpx.get(f"{base(server)}/executions/{done.id.name}", timeout=30).text
    assert 'class="node kind-map' in execution and "4 succeeded" in execution  # one timeline row, items counted
    node = httpx.get(f"{base(server)}/executions/{done.id.name}/nodes/n0", timeout=30)
    assert node.status_code == 200 and "Map items" in node.text
    assert re.search(r"SUCCEEDED</span> <span class=\"num\">4</span>", node.text)
    assert "[1, 4, 9, 16]" not in node.text and "16" in node.text  # outputs listed item by item


def test_relaunch_from_the_console_starts_a_new_execution(finished: tuple[Server, str, str]) -> None:
    server, _, name = finished
    response = httpx.post(f"{base(server)}/executions/{name}/relaunch", timeout=30)
    assert response.status_code == 303
    location = response.headers["location"]
    assert re.fullmatch(r"/console/projects/flytesnacks/domains/development/executions/[a-z0-9]+", location)
    assert not location.endswith(f"/{name}")
    relaunched = flyte_remote(server.grpc).fetch_execution(name=location.rsplit("/", 1)[1])
    assert relaunched.spec.metadata.mode == 3 and relaunched.spec.metadata.reference_execution.name == name


def test_set_a_typed_gate_input_from_the_console(registered: tuple[Server, str]) -> None:
    server, version = registered
    remote = flyte_remote(server.grpc)
    execution = remote.execute(remote.fetch_launch_plan(name=f"{WF}.titled", version=version), inputs={"x": 1})
    url = f"{base(server)}/executions/{execution.id.name}"
    for _ in range(240):  # the gate's input box appears once the gate waits
        if "Waiting for <code>title</code>" in httpx.get(url, timeout=30).text:
            break
        time.sleep(0.5)
    else:
        pytest.fail("the gate never showed as waiting")
    response = httpx.post(f"{url}/signals/title", data={"value": "Quarterly <report>"}, timeout=30)
    assert response.status_code == 303
    done = remote.wait(execution, timeout=timedelta(seconds=120), poll_interval=timedelta(seconds=0.5))
    assert done.closure.phase == WorkflowExecutionPhase.SUCCEEDED, done.closure.error
    assert done.outputs["o0"] == "Quarterly <report>"
    again = httpx.post(f"{url}/signals/title", data={"value": "other"}, timeout=30)
    assert again.status_code == 409 and "already set" in again.text  # a signal is set once


def test_recover_from_the_console(registered: tuple[Server, str]) -> None:
    server, version = registered
    remote = flyte_remote(server.grpc)
    failed = remote.wait(
        remote.execute(remote.fetch_launch_plan(name=f"{WF}.broken", version=version), inputs={"x": 1}),
        timeout=timedelta(seconds=120),
        poll_interval=timedelta(seconds=0.5),
    )
    assert failed.closure.phase == WorkflowExecutionPhase.FAILED
    response = httpx.post(f"{base(server)}/executions/{failed.id.name}/recover", timeout=30)
    assert response.status_code == 303
    recovered = remote.fetch_execution(name=response.headers["location"].rsplit("/", 1)[1])
    assert recovered.spec.metadata.mode == 5 and recovered.spec.metadata.reference_execution.name == failed.id.name


def test_executions_list_filters_by_launch_plan_phase_and_time(finished: tuple[Server, str, str]) -> None:
    server, _, name = finished
    url = f"{base(server)}/executions"
    matching = {"launch_plan": f"{WF}.typed", "phase": "SUCCEEDED", "since": "1h", "sort": "duration", "order": "asc"}
    assert name in httpx.get(url, params=matching, timeout=30).text
    assert name not in httpx.get(url, params={**matching, "phase": "FAILED"}, timeout=30).text
    assert name not in httpx.get(url, params={**matching, "launch_plan": f"{WF}.broken"}, timeout=30).text
    assert name in httpx.get(url, params={"filters": f"eq(execution_name,{name})"}, timeout=30).text
