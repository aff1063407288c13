"""Resuming a map (array) node whose task execution was recorded SUCCEEDED before the server stopped: the
node finishes from that record and no item runs again (the chaos suite found every item re-run)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from flyteidl.core import tasks_pb2

from aerodrome.engine.nodes import array


class Never:
    """A launcher that fails the test if an item is started."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the resume path must not start an item (called {name})")


class Context:
    launcher = Never()

    def __init__(self) -> None:
        self.succeeded: list[tuple[str, str]] = []

    async def succeed(self, job: Any, output_uri: str) -> str:
        self.succeeded.append((job.unique, output_uri))
        return "succeeded"


async def test_a_recorded_success_finishes_the_map_node_without_running_items() -> None:
    task = tasks_pb2.TaskTemplate(container=tasks_pb2.Container(image="i"))
    run = SimpleNamespace(succeeded_attempts={"n1": (0, "/blobs/n1/outputs.pb")}, attempts={"n1": 1})
    job = SimpleNamespace(run=run, node=SimpleNamespace(task=task, id="n1"), unique="n1")
    g = Context()

    outcome = await array.run_array(g, job)  # type: ignore[arg-type]

    assert outcome == "succeeded" and g.succeeded == [("n1", "/blobs/n1/outputs.pb")]
    assert run.succeeded_attempts == {}
