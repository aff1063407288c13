"""A workflow whose end node was recorded SUCCEEDED before the server stopped (its workflow event lost):
the resumed drive reports the workflow's outputs from the frame, not the end node's empty output URI (the
chaos suite found such executions SUCCEEDED without outputs)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from flyteidl.core import execution_pb2

from aerodrome.engine.active import ActiveExecution, Succeeded
from aerodrome.engine.graph import GraphRunner
from aerodrome.engine.plan import END, START
from tests.unit.engine.test_active import chain

NODE = execution_pb2.NodeExecution


async def test_a_recorded_end_node_yields_the_frame_outputs() -> None:
    graph = chain(after_executable=False)
    stored = {n: (NODE.SUCCEEDED, f"{n}.pb") for n in (START, "n0", "n1", "n2")}
    stored[END] = (NODE.SUCCEEDED, "")  # the end node's event carries its outputs as input_uri only
    state = ActiveExecution.rebuild(graph, stored)
    assert state.finished
    frame: Any = SimpleNamespace(state=state, graph=graph, outputs_url="/blobs/ex/outputs.pb")
    runner = GraphRunner.__new__(GraphRunner)  # run_graph needs nothing else once every node is done

    result = await runner.run_graph(frame)

    assert result == Succeeded(END, "/blobs/ex/outputs.pb")
