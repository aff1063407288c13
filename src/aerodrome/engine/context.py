"""What a node handler may use while it runs a node: the narrow view of the graph runner.

Handlers under ``nodes/`` receive a ``NodeContext`` instead of the ``GraphRunner`` itself, so they name
only what they need (events for their node, the blob store, the launcher, the managers they call, nested
graphs) and import nothing from ``graph.py``: the runner imports the handlers, never the reverse.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from flyteidl.admin import execution_pb2 as admin_exec
from flyteidl.core import identifier_pb2, literals_pb2

from aerodrome.blobstore.store import BlobStore
from aerodrome.engine.active import Failed, Outcome, Succeeded
from aerodrome.engine.frames import Frame, Job, Run, Scope
from aerodrome.engine.launchers.protocol import Launcher
from aerodrome.engine.plan import Graph, PlannedNode
from aerodrome.values.provider_runtime import ProviderRuntime

if TYPE_CHECKING:
    from aerodrome.managers.catalog import CatalogManager
    from aerodrome.managers.executions import ExecutionManager
    from aerodrome.managers.signals import SignalManager
    from aerodrome.managers.workflows import WorkflowManager


class NodeContext(Protocol):
    """The services and callbacks a node handler is given (``GraphRunner`` provides them)."""

    store: BlobStore
    launcher: Launcher
    work_root: Path
    signals: SignalManager
    catalog: CatalogManager
    workflows: WorkflowManager
    executions: ExecutionManager | None

    async def emit(self, job: Job, phase: int, **fields: Any) -> None:
        """Report an event of the job's node."""

    async def succeed(self, job: Job, output_uri: str, **fields: Any) -> Outcome:
        """Report the node SUCCEEDED and return the outcome."""

    async def fail(self, job: Job, failure: Any, phase: int = ..., **fields: Any) -> Outcome:
        """Report the node FAILED (or ``phase``) and return the outcome."""

    async def write_outputs(self, job: Job, outputs: literals_pb2.LiteralMap) -> str:
        """Write the node's outputs; returns their URL."""

    def frame(
        self, run: Run, graph: Graph, scope: Scope, inputs_uri: str, outputs_url: str, *, top: bool = False
    ) -> Frame:
        """A nested graph to run, rebuilt from what was recorded before."""

    async def run_graph(self, frame: Frame) -> Succeeded | Failed:
        """Run a nested graph to its end."""

    async def run_node(self, frame: Frame, node: PlannedNode, failure: Any = None) -> Outcome:
        """Run one node of a frame (a branch runs its chosen case this way)."""

    async def provider_runtime(self, job: Job) -> ProviderRuntime | None:
        """The provider frozen at creation for the job's top-level node (None: the server's defaults)."""

    async def execution(self, ident: identifier_pb2.WorkflowExecutionIdentifier) -> admin_exec.Execution:
        """One execution as stored (a launch plan node follows its child by reading it)."""
