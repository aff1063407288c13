"""ActiveExecution: which nodes of a plan are done, running or ready, changed only by ``handle``.

Pure state, no I/O: the runner feeds it what happened and asks it what to start next. After a crash it is
rebuilt from the stored node executions (``rebuild``), so succeeded nodes are never run again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flyteidl.core import execution_pb2

from aerodrome.engine.plan import END, START, ExecutionPlan


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


Outcome = Started | Succeeded | Failed | Skipped


@dataclass
class ActiveExecution:
    """Node sets of one execution."""

    plan: ExecutionPlan
    running: set[str] = field(default_factory=set)
    succeeded: dict[str, str] = field(default_factory=dict)  # node id -> output URI ("" for no outputs)
    failed: dict[str, execution_pb2.ExecutionError] = field(default_factory=dict)
    skipped: set[str] = field(default_factory=set)

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

    def done(self, node_id: str) -> bool:
        return node_id in self.succeeded or node_id in self.failed or node_id in self.skipped

    def ready(self) -> list[str]:
        """Nodes not started whose upstream nodes all succeeded, in plan order (end-node last)."""
        order = [START, *self.plan.order, END]
        return [
            node_id
            for node_id in order
            if node_id not in self.running
            and not self.done(node_id)
            and all(up in self.succeeded for up in self.plan.nodes[node_id].upstream)
        ]

    @property
    def finished(self) -> bool:
        return END in self.succeeded or (bool(self.failed) and not self.running)

    @classmethod
    def rebuild(cls, plan: ExecutionPlan, stored: dict[str, tuple[int, str]]) -> ActiveExecution:
        """From stored node phases (node id -> (phase, output URI)): succeeded nodes stay succeeded; anything
        else (including an attempt that was in flight) is run again."""
        state = cls(plan)
        node = execution_pb2.NodeExecution
        for node_id, (phase, uri) in stored.items():
            if node_id in plan.nodes and phase in (node.SUCCEEDED, node.RECOVERED):
                state.succeeded[node_id] = uri
            elif node_id in plan.nodes and phase == node.SKIPPED:
                state.skipped.add(node_id)
        return state
