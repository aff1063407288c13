"""ActiveExecution: readiness, the two failure policies, skipping, and rebuilding after a restart."""

from __future__ import annotations

from flyteidl.core import execution_pb2, literals_pb2, workflow_pb2

from aerodrome.engine.active import Aborted, ActiveExecution, Failed, Skipped, Started, Succeeded
from aerodrome.engine.plan import END, START, Catalog, Graph

NODE = execution_pb2.NodeExecution


def chain(*, after_executable: bool) -> Graph:
    """n0 -> n1, and n2 independent (reads the workflow input)."""

    def node(node_id: str, upstream: str) -> workflow_pb2.Node:
        promise = literals_pb2.BindingData(promise={"node_id": upstream, "var": "o0"})
        return workflow_pb2.Node(id=node_id, inputs=[literals_pb2.Binding(var="x", binding=promise)])

    policy = workflow_pb2.WorkflowMetadata.FAIL_AFTER_EXECUTABLE_NODES_COMPLETE if after_executable else 0
    template = workflow_pb2.WorkflowTemplate(
        nodes=[node("n0", START), node("n1", "n0"), node("n2", START)],
        metadata=workflow_pb2.WorkflowMetadata(on_failure=policy),  # type: ignore[arg-type]
    )
    return Graph.from_template(template, Catalog({}, {}))


def test_nodes_become_ready_as_upstreams_succeed() -> None:
    state = ActiveExecution(chain(after_executable=False))
    assert state.ready() == [START]
    state.handle(Succeeded(START, "in"))
    assert state.ready() == ["n0", "n2"]
    state.handle(Started("n0"))
    state.handle(Succeeded("n0", "a"))
    assert state.ready() == ["n1", "n2"]
    for node in ("n1", "n2"):
        state.handle(Succeeded(node, node))
    assert state.ready() == [END]


def test_fail_immediately_starts_nothing_more() -> None:
    state = ActiveExecution(chain(after_executable=False))
    state.handle(Succeeded(START, "in"))
    state.handle(Started("n0"))
    state.handle(Started("n2"))
    state.handle(Failed("n0", execution_pb2.ExecutionError(message="boom")))
    assert not state.finished and state.ready() == []  # n2 is still running
    state.handle(Aborted("n2"))
    assert state.finished and not state.done("n2")


def test_fail_after_executable_runs_the_rest_and_skips_downstream() -> None:
    state = ActiveExecution(chain(after_executable=True))
    state.handle(Succeeded(START, "in"))
    state.handle(Failed("n0", execution_pb2.ExecutionError(message="boom")))
    assert state.ready() == ["n2"] and state.skippable() == ["n1"]
    assert not state.finished
    state.handle(Succeeded("n2", "c"))
    assert not state.finished  # n1 still has to be marked skipped
    state.handle(Skipped("n1"))
    assert state.skippable() == [] and state.finished


def test_rebuild_keeps_succeeded_nodes_by_their_unique_ids() -> None:
    stored = {"p-0-n0": (NODE.SUCCEEDED, "a"), "p-0-n2": (NODE.RUNNING, ""), "n1": (NODE.SUCCEEDED, "wrong scope")}
    state = ActiveExecution.rebuild(chain(after_executable=False), stored, lambda n: f"p-0-{n}")
    assert state.succeeded == {"n0": "a"}


def test_a_node_unblocks_another_only_as_the_last_upstream_it_waits_for() -> None:
    """What decides whether a node's end waits for the next node's first event (a chain) or is written at
    once (a branch of a fan-out whose join still waits for others)."""
    state = ActiveExecution(chain(after_executable=False))
    state.handle(Succeeded(START, "in"))
    for node in ("n0", "n2"):
        state.handle(Started(node))
    assert state.unblocks("n0")  # n1 waits only for n0
    assert not state.unblocks("n2")  # the end node also waits for n0 and n1
    state.handle(Succeeded("n0", "a"))
    state.handle(Started("n1"))
    assert not state.unblocks("n2") and not state.unblocks("n1")  # each still waits for the other
    state.handle(Succeeded("n2", "c"))
    assert state.unblocks("n1")  # the last one: the end node follows
