"""Isolation of task processes (warm forks and map batches): a task that crashes (SIGSEGV, abort), leaves
with ``os._exit``, hangs past its timeout, leaks memory, allocates past its memory limit, or changes its
directory and environment affects neither the server, nor the next attempt, nor another map item, nor
another execution.

One server for the module (SQLite: nothing here depends on the database), warm processes on (the default).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flytekit.models.core.execution import WorkflowExecutionPhase
from flytekit.remote import FlyteRemote

from tests.integration.conftest import Server, start_server, stop_server
from tests.support.clients import flyte_remote
from tests.support.projects import register_project

PROJECT_DIR = Path(__file__).parent / "projects" / "isolation_app"
WF = "workflows.hazards"


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("aerodrome-isolation"), "", "sqlite")
    try:
        yield srv
    finally:
        stop_server(srv)


@pytest.fixture(scope="module")
def version(local: Server, tmp_path_factory: pytest.TempPathFactory) -> str:
    return register_project(local, PROJECT_DIR, tmp_path_factory.mktemp("isolation_app"))


@pytest.fixture(scope="module")
def client(local: Server) -> FlyteRemote:
    return flyte_remote(local.grpc)


def start(remote: FlyteRemote, version: str, name: str, inputs: dict[str, Any]) -> Any:
    return remote.execute(remote.fetch_launch_plan(name=f"{WF}.{name}", version=version), inputs=inputs)


def run(remote: FlyteRemote, version: str, name: str, inputs: dict[str, Any]) -> Any:
    done = remote.wait(start(remote, version, name, inputs), timeout=timedelta(seconds=240), poll_interval=0.5)
    return done


def rss(pid: int) -> int:
    line = next(x for x in Path(f"/proc/{pid}/status").read_text().splitlines() if x.startswith("VmRSS:"))
    return int(line.split()[1]) * 1024


def still_serving(remote: FlyteRemote, version: str, server: Server) -> None:
    """The server is alive and runs a plain task as before."""
    assert server.process.poll() is None
    done = run(remote, version, "plain", {"x": 7})
    assert done.closure.phase == WorkflowExecutionPhase.SUCCEEDED, done.closure.error
    assert done.outputs["o0"] == 49


def test_crashing_items_fail_alone(client: FlyteRemote, version: str, local: Server) -> None:
    """SIGSEGV, abort and os._exit in items 1-3 fail those items only (after their system retries); the
    items around them, in the same batch, succeed."""
    done = run(client, version, "crashing_map", {"xs": [0, 1, 2, 3, 4, 5]})
    assert done.closure.phase == WorkflowExecutionPhase.SUCCEEDED, done.closure.error
    assert done.outputs["o0"] == [0, None, None, None, 16, 25]
    still_serving(client, version, local)


def test_items_do_not_see_each_others_environment_or_directory(client: FlyteRemote, version: str) -> None:
    done = run(client, version, "messy_map", {"xs": list(range(5))})
    assert done.closure.phase == WorkflowExecutionPhase.SUCCEEDED, done.closure.error
    for index, seen in enumerate(done.outputs["o0"]):
        found, array_index, here = seen.split("|")
        assert found == "" and array_index == str(index), seen
        assert here != "/" and os.path.isabs(here), seen


def test_module_state_per_item_on_request(client: FlyteRemote, version: str) -> None:
    """Items of a batch share module state (as in flytekit's local map); a task that sets
    AERODROME_MAP_BATCH=false gets a process per item, where every item starts from a fresh module."""
    done = run(client, version, "alone_map", {"xs": list(range(4))})
    assert done.closure.phase == WorkflowExecutionPhase.SUCCEEDED, done.closure.error
    assert done.outputs["o0"] == [1, 1, 1, 1]
    shared = run(client, version, "together_map", {"xs": list(range(4))})
    assert shared.outputs["o0"] == [1, 2, 3, 4]  # one batch (parallelism 1): items share the module


def test_next_attempt_starts_clean(client: FlyteRemote, version: str) -> None:
    done = run(client, version, "retried_wf", {"x": 1})
    assert done.closure.phase == WorkflowExecutionPhase.SUCCEEDED, done.closure.error
    found, here = done.outputs["o0"].split("|")
    assert found == "" and here != "/"


def test_memory(client: FlyteRemote, version: str, local: Server) -> None:
    """Past its 256 MiB limit an allocation fails in the task (MemoryError), as a task and as a map item;
    a leak of 100 MB per item neither fails items nor stays in the server."""
    before = rss(local.pid)
    over = run(client, version, "greedy_wf", {"size_mb": 1024})
    assert over.closure.phase == WorkflowExecutionPhase.FAILED
    assert "MemoryError" in over.closure.error.message
    under = run(client, version, "greedy_wf", {"size_mb": 64})
    assert under.closure.phase == WorkflowExecutionPhase.SUCCEEDED, under.closure.error
    mapped = run(client, version, "greedy_map", {"xs": [0, 1, 2]})
    assert mapped.closure.phase == WorkflowExecutionPhase.SUCCEEDED, mapped.closure.error
    assert mapped.outputs["o0"] == [0, None, 2]
    leaky = run(client, version, "leaking_map", {"xs": list(range(6))})
    assert leaky.closure.phase == WorkflowExecutionPhase.SUCCEEDED, leaky.closure.error
    assert max(leaky.outputs["o0"]) <= 4  # a process stops taking items once it grew by 256 MB
    assert rss(local.pid) - before < 64 * 2**20
    still_serving(client, version, local)


def test_hang_kills_the_process_group_and_spares_others(
    client: FlyteRemote, version: str, local: Server, tmp_path: Path
) -> None:
    pid_file = tmp_path / "grandchild.pid"
    hung = start(client, version, "hang_wf", {"pid_file": str(pid_file)})
    other = run(client, version, "plain", {"x": 3})  # runs while the other one hangs
    assert other.closure.phase == WorkflowExecutionPhase.SUCCEEDED and other.outputs["o0"] == 9
    done = client.wait(hung, timeout=timedelta(seconds=240), poll_interval=0.5)
    assert done.closure.phase == WorkflowExecutionPhase.FAILED
    assert "timeout" in done.closure.error.message.lower()
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while Path(f"/proc/{grandchild}").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not Path(f"/proc/{grandchild}").exists(), "the task's own child outlived its timeout"
    mapped = run(client, version, "hanging_map", {"xs": [0, 1, 2]})
    assert mapped.closure.phase == WorkflowExecutionPhase.SUCCEEDED, mapped.closure.error
    assert mapped.outputs["o0"] == [0, None, 2]
    still_serving(client, version, local)
