"""What the engine knows while it runs an execution: the execution (``Run``), each graph being run
(``Frame``), where a graph's node ids live (``Scope``) and one node ready for its handler (``Job``)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from flyteidl.admin import execution_pb2 as admin_exec
from flyteidl.core import identifier_pb2, literals_pb2
from flyteidl.event import event_pb2

from aerodrome.engine.active import ActiveExecution
from aerodrome.engine.events import Reporter
from aerodrome.engine.ids import node_unique_id
from aerodrome.engine.plan import Catalog, Graph, PlannedNode
from aerodrome.values.provider_runtime import ProviderRuntime

Execution = identifier_pb2.WorkflowExecutionIdentifier


@dataclass(frozen=True)
class Scope:
    """Where a graph's node ids live: under which parent node and attempt (nothing at the top level)."""

    parent: str = ""
    attempt: str = ""
    in_dynamic: bool = False
    root: str = ""  # the top-level node this scope is nested in (per-node settings such as providers follow it)

    def unique(self, node_id: str) -> str:
        return node_unique_id(self.parent, self.attempt, node_id)

    def nested(self, parent_unique: str, attempt: int, *, dynamic: bool = False) -> Scope:
        return Scope(parent_unique, str(attempt), self.in_dynamic or dynamic, self.root or parent_unique)

    def event_fields(self, node: PlannedNode) -> dict[str, Any]:
        fields: dict[str, Any] = {"spec_node_id": node.id, "node_name": node.name}
        if self.parent:
            fields["parent_node_metadata"] = event_pb2.ParentNodeExecutionMetadata(node_id=self.parent)
            fields["retry_group"] = self.attempt
            fields["is_in_dynamic_chain"] = self.in_dynamic
        return fields


@dataclass
class Run:
    """What every graph of one execution shares."""

    ident: Execution
    spec: admin_exec.ExecutionSpec
    workflow_name: str
    report: Reporter
    catalog: Catalog
    stored: dict[str, tuple[int, str]]  # unique node id -> (phase, output URI) as recorded before this drive
    attempts: dict[str, int]  # unique node id -> next attempt number
    slots: asyncio.Semaphore | None  # max_parallelism over the task processes of the execution
    recover_from: Execution | None = None
    aborting: bool = False
    # unique node id -> (attempt, output URI) of an attempt recorded SUCCEEDED before this drive: the server
    # may have stopped after the task's event and before its node's, and that attempt must not run again.
    succeeded_attempts: dict[str, tuple[int, str]] = field(default_factory=dict)
    # top-level node id -> the provider it was resolved to at creation (immutable, so all of them are read at
    # once, by the first node that needs one; None until then)
    providers: dict[str, ProviderRuntime] | None = None


@dataclass
class Frame:
    """One graph being run."""

    run: Run
    graph: Graph
    scope: Scope
    inputs_uri: str
    outputs_url: str  # where the graph's outputs (its end node's) are written
    state: ActiveExecution
    top: bool = False
    outputs: dict[str, literals_pb2.LiteralMap] = field(default_factory=dict)  # read so far


@dataclass(frozen=True)
class Job:
    """One node of a frame, with its resolved inputs, ready for its handler."""

    frame: Frame
    node: PlannedNode
    unique: str
    inputs: literals_pb2.LiteralMap
    inputs_url: str
    prefix: str  # the node's data directory

    @property
    def run(self) -> Run:
        return self.frame.run
