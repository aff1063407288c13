"""Resuming a task node whose attempt was recorded SUCCEEDED before the server stopped: the node finishes
from that attempt (its outputs, or its dynamic job) and no process is launched again."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from flyteidl.core import identifier_pb2, tasks_pb2

from aerodrome.engine.nodes import task as task_node


class Store:
    """Only what the resume path asks of the blob store: whether a dynamic job file exists."""

    def __init__(self, existing: set[str]) -> None:
        self.existing = existing

    async def exists(self, url: str) -> bool:
        return url in self.existing


class Never:
    """A launcher that fails the test if an attempt is started."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the resume path must not start an attempt (called {name})")


def job(tmp_path: Path, succeeded: dict[str, tuple[int, str]]) -> Any:
    template = tasks_pb2.TaskTemplate(id=identifier_pb2.Identifier(resource_type=identifier_pb2.TASK, name="t"))
    report = SimpleNamespace(node_id=lambda unique: identifier_pb2.NodeExecutionIdentifier(node_id=unique))
    run = SimpleNamespace(succeeded_attempts=succeeded, attempts={}, report=report)
    node = SimpleNamespace(task=template, retries=0)
    return SimpleNamespace(run=run, node=node, unique="n0", prefix=str(tmp_path / "n0"))


async def test_a_recorded_success_finishes_the_node_without_a_new_attempt(tmp_path: Path) -> None:
    j = job(tmp_path, {"n0": (1, "s3://b/n0/1/outputs.pb")})
    g = SimpleNamespace(store=Store(set()), launcher=Never())

    done = await task_node.attempts(g, j)  # type: ignore[arg-type]

    assert done.result.ok and done.result.outputs_url == "s3://b/n0/1/outputs.pb" and not done.result.dynamic_url
    assert done.attempt == 1 and done.task_execution.retry_attempt == 1
    assert j.run.succeeded_attempts == {}  # used once: a later retry of the node would run normally


async def test_a_recorded_dynamic_parent_continues_with_its_job(tmp_path: Path) -> None:
    futures = f"{tmp_path / 'n0'}/0/futures.pb"
    j = job(tmp_path, {"n0": (0, "")})
    g = SimpleNamespace(store=Store({futures}), launcher=Never())

    done = await task_node.attempts(g, j)  # type: ignore[arg-type]

    assert done.result.ok and done.result.dynamic_url == futures and done.attempt == 0
