"""Graph checks of a compiled workflow: connections, cycles and reachability (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

START, END = "start-node", "end-node"


class Edges:
    """Upstream and downstream adjacency, kept as sets and emitted sorted."""

    def __init__(self) -> None:
        self.upstream: dict[str, set[str]] = {}
        self.downstream: dict[str, set[str]] = {}

    def add(self, source: str, target: str, *, upstream_only: bool = False) -> None:
        self.upstream.setdefault(target, set()).add(source)
        if not upstream_only:
            self.downstream.setdefault(source, set()).add(target)


def find_cycle(nodes: Iterable[str], downstream: Mapping[str, set[str]]) -> list[str] | None:
    """A path that closes a cycle (first node repeated at the end), or None; iterative DFS."""
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    for root in nodes:
        if root in state:
            continue
        stack: list[tuple[str, list[str]]] = [(root, sorted(downstream.get(root, ())))]
        path = [root]
        state[root] = 1
        while stack:
            node, children = stack[-1]
            if not children:
                stack.pop()
                path.pop()
                state[node] = 2
                continue
            child = children.pop(0)
            if state.get(child) == 1:
                return [*path[path.index(child) :], child]
            if child not in state:
                state[child] = 1
                path.append(child)
                stack.append((child, sorted(downstream.get(child, ()))))
    return None


def reachable(start: str, downstream: Mapping[str, set[str]]) -> set[str]:
    seen = {start}
    frontier = [start]
    while frontier:
        for child in downstream.get(frontier.pop(), ()):
            if child not in seen:
                seen.add(child)
                frontier.append(child)
    return seen
