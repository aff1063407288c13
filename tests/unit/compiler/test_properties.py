"""Random DAGs: connections match a direct computation; closing a cycle is always rejected."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.compiler.test_errors import ADD, node, promise, workflow

from aerodrome.compiler import CompileErrors, compile_workflow


@st.composite
def dags(draw: st.DrawFn) -> list[set[int]]:
    """parents[i] ⊆ {0..i-1}: edges only go forward, so the graph is acyclic."""
    size = draw(st.integers(min_value=1, max_value=12))
    return [draw(st.sets(st.integers(min_value=0, max_value=i - 1), max_size=3)) if i else set() for i in range(size)]


def build(parents: list[set[int]], extra: tuple[int, int] | None = None):  # type: ignore[no-untyped-def]
    nodes = []
    for i, ups in enumerate(parents):
        upstream = [f"n{j}" for j in sorted(ups)]
        if extra is not None and extra[1] == i:
            upstream.append(f"n{extra[0]}")
        nodes.append(node(f"n{i}", "add", {"x": promise("", "x")}, upstream=upstream))
    return workflow(nodes)


@settings(max_examples=60, deadline=None)
@given(dags())
def test_connections_match(parents: list[set[int]]) -> None:
    closure = compile_workflow(build(parents), [], [ADD], [])
    connections = closure.primary.connections
    children: dict[int, set[int]] = {i: set() for i in range(len(parents))}
    for i, ups in enumerate(parents):
        for j in ups:
            children[j].add(i)
    for i, ups in enumerate(parents):
        # every node also reads the workflow input, so start-node is always upstream
        assert list(connections.upstream[f"n{i}"].ids) == sorted({"start-node", *(f"n{j}" for j in ups)})
        expected_down = sorted(f"n{k}" for k in children[i]) or ["end-node"]
        assert list(connections.downstream[f"n{i}"].ids) == expected_down


@settings(max_examples=60, deadline=None)
@given(dags().filter(lambda p: any(p)), st.data())
def test_closing_a_cycle_is_rejected(parents: list[set[int]], data: st.DataObject) -> None:
    child = data.draw(st.sampled_from([i for i, ups in enumerate(parents) if ups]))
    ancestor = data.draw(st.sampled_from(sorted(parents[child])))
    with pytest.raises(CompileErrors) as err:
        compile_workflow(build(parents, extra=(child, ancestor)), [], [ADD], [])
    assert any(e.code == "CycleDetected" for e in err.value.errors)
