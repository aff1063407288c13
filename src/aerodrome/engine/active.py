"""ActiveExecution: which nodes of a graph are done, running or ready, changed only by ``handle``.

Pure state, no I/O: the runner feeds it what happened and asks it what to start next. After a crash it is
rebuilt from the stored node executions (``rebuild``), so succeeded nodes are never run again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from flyteidl.core import execution_pb2

from aerodrome.engine.plan import END, START, Graph


@dataclass(frozen=True)
class Started:
    node_id: str


@dataclass(frozen=True)
class Succeeded:
    node_id: str
    output_uri: str


@dataclass(frozen=True)
class Failed:
    node_id: str
    error: execution_pb2.ExecutionError


@dataclass(frozen=True)
class Skipped:
    node_id: str


@dataclass(frozen=True)
class Aborted:
    """The node was stopped (its graph failed or the execution is being aborted): no longer running, not done."""

    node_id: str


Outcome = Started | Succeeded | Failed | Skipped | Aborted
NodePhase = execution_pb2.NodeExecution
DONE_OK = (NodePhase.SUCCEEDED, NodePhase.RECOVERED)


@dataclass
class ActiveExecution:
    """Node sets of one graph run."""

    graph: Graph
    running: set[str] = field(default_factory=set)
    succeeded: dict[str, str] = field(default_factory=dict)  # node id -> output URI ("" for no outputs)
    failed: dict[str, execution_pb2.ExecutionError] = field(default_factory=dict)
    skipped: set[str] = field(default_factory=set)
    _downstream: dict[str, list[str]] | None = field(default=None, repr=False)  # built on first use

    def handle(self, outcome: Outcome) -> None:
        node = outcome.node_id
        self.running.discard(node)
        match outcome:
            case Started():
                self.running.add(node)
            case Succeeded(output_uri=uri):
                self.succeeded[node] = uri
            case Failed(error=error):
                self.failed[node] = error
            case Skipped():
                self.skipped.add(node)

    def unblocks(self, node_id: str) -> bool:
        """Whether the success of ``node_id`` would make another node ready (the end node included): then
        a node starts right after it, whose first event can carry its end (``Reporter``, ``hold=NEXT``)."""
        if self._downstream is None:
            self._downstream = {}
            for node in self.graph.nodes.values():
                for up in node.upstream:
                    self._downstream.setdefault(up, []).append(node.id)
        return any(
            all(up == node_id or up in self.succeeded for up in self.graph.nodes[n].upstream)
            for n in self._downstream.get(node_id, ())
            if n not in self.running and not self.done(n)
        )

    def done(self, node_id: str) -> bool:
        return node_id in self.succeeded or node_id in self.failed or node_id in self.skipped

    def _pending(self) -> list[str]:
        return [n for n in (START, *self.graph.order, END) if n not in self.running and not self.done(n)]

    def ready(self) -> list[str]:
        """Nodes not started whose upstream nodes all succeeded, in plan order (end-node last)."""
        if self.failed and not self.graph.fail_after_executable:
            return []
        return [n for n in self._pending() if all(up in self.succeeded for up in self.graph.nodes[n].upstream)]

    def skippable(self) -> list[str]:
        """Nodes that can never run: every upstream is done and one of them failed or was skipped (the end node
        is never skipped: a graph that cannot reach it has failed)."""
        return [
            n
            for n in self._pending()
            if n != END
            and all(self.done(up) for up in self.graph.nodes[n].upstream)
            and any(up in self.failed or up in self.skipped for up in self.graph.nodes[n].upstream)
        ]

    @property
    def finished(self) -> bool:
        if END in self.succeeded:
            return True
        if not self.failed or self.running:
            return False
        return not self.graph.fail_after_executable or not (self.ready() or self.skippable())

    @classmethod
    def rebuild(
        cls, graph: Graph, stored: Mapping[str, tuple[int, str]], unique: Callable[[str], str] = str
    ) -> ActiveExecution:
        """From stored node phases (unique node id -> (phase, output URI)): succeeded nodes stay succeeded;
        anything else (including an attempt that was in flight) is run again."""
        state = cls(graph)
        for node_id in graph.nodes:
            phase, uri = stored.get(unique(node_id), (NodePhase.UNDEFINED, ""))
            if phase in DONE_OK:
                state.succeeded[node_id] = uri
            elif phase == NodePhase.SKIPPED:
                state.skipped.add(node_id)
        return state
