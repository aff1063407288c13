"""The engine's imperative shell: one driver task per running execution.

A driver loads the execution's plan, rebuilds what already happened from the stored node executions
(so a restart after a crash resumes without re-running succeeded nodes), runs the workflow's graph
(``graph.py``) and reports every change as an event through the EventManager. It never writes phases
itself.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from flyteidl.admin import execution_pb2 as admin_exec
from flyteidl.admin import node_execution_pb2
from flyteidl.core import compiler_pb2, identifier_pb2

from aerodrome.blobstore import layout
from aerodrome.blobstore.store import BlobStore
from aerodrome.db.engine import Database
from aerodrome.engine.active import Succeeded
from aerodrome.engine.events import Reporter, error
from aerodrome.engine.frames import Run, Scope
from aerodrome.engine.graph import GraphRunner
from aerodrome.engine.plan import ExecutionPlan
from aerodrome.managers.events import EventManager
from aerodrome.phases.tables import NODE, TASK, TASK_TERMINAL, WF, WORKFLOW_TERMINAL

if TYPE_CHECKING:
    from aerodrome.managers.executions import ExecutionManager

log = logging.getLogger("aerodrome.engine")
Key = tuple[str, str, str]


def _key(ident: identifier_pb2.WorkflowExecutionIdentifier) -> Key:
    return (ident.project, ident.domain, ident.name)


class Engine:
    """Runs executions; ``submit`` and ``terminate`` are what the ExecutionManager calls."""

    name = "engine"

    def __init__(self, db: Database, store: BlobStore, events: EventManager, graphs: GraphRunner) -> None:
        self.db = db
        self.store = store
        self.events = events
        self.graphs = graphs
        self._drivers: dict[Key, asyncio.Task[None]] = {}
        self._runs: dict[Key, Run] = {}
        self._aborting: dict[Key, str] = {}

    def attach(self, executions: ExecutionManager) -> None:
        """Launch-plan nodes create child executions through the same manager as API callers."""
        self.graphs.executions = executions

    async def submit(self, execution: identifier_pb2.WorkflowExecutionIdentifier) -> None:
        key = _key(execution)
        if key not in self._drivers:
            self._drivers[key] = asyncio.create_task(self._drive(execution), name=f"execution {'/'.join(key)}")
            self._drivers[key].add_done_callback(lambda _: self._drivers.pop(key, None))

    async def terminate(self, execution: identifier_pb2.WorkflowExecutionIdentifier, cause: str) -> None:
        key = _key(execution)
        driver = self._drivers.get(key)
        self._aborting[key] = cause
        if driver is None:  # not running here (e.g. not started yet): report the abort directly
            await Reporter(self.events, execution).workflow(WF.ABORTED)
            return
        if key in self._runs:
            self._runs[key].aborting = True
        driver.cancel()

    async def resume(self) -> int:
        """Drive every execution that is not finished (after a restart or a crash); returns how many."""
        terminal = [WF.Phase.Name(p) for p in WORKFLOW_TERMINAL]
        async with self.db.transaction() as uow:
            rows = await uow.executions.non_terminal(terminal)
        for row in rows:
            await self.submit(
                identifier_pb2.WorkflowExecutionIdentifier(
                    project=row.execution_project, domain=row.execution_domain, name=row.execution_name
                )
            )
        return len(rows)

    async def start(self) -> None:
        """Resume what a previous run of the server left unfinished (a background service's start)."""
        resumed = await self.resume()
        if resumed:
            log.info("resumed %d unfinished execution(s)", resumed)

    async def stop(self) -> None:
        """Stop driving (server shutdown): running attempts are killed and re-run after the restart."""
        drivers = list(self._drivers.values())
        for driver in drivers:
            driver.cancel()
        await asyncio.gather(*drivers, return_exceptions=True)
        if self.graphs.launcher.warm is not None:
            await self.graphs.launcher.warm.close()

    # The driver -------------------------------------------------------------------------------------

    async def _load(self, ident: identifier_pb2.WorkflowExecutionIdentifier) -> tuple[Run, ExecutionPlan, str, int]:
        async with self.db.transaction() as uow:
            row = await uow.executions.get(ident)
            workflow = await uow.workflows.by_id(row.workflow_id)
            if workflow is None:
                raise RuntimeError(f"the workflow of execution {ident.name} is missing")
            nodes = await uow.node_executions.for_execution(row.id)
            tasks = await uow.task_executions.for_node_executions([n.id for n in nodes])
        plan = ExecutionPlan.from_closure(compiler_pb2.CompiledWorkflowClosure.FromString(workflow.closure))
        stored = {
            n.node_id: (
                NODE.Phase.Value(n.phase),
                node_execution_pb2.NodeExecutionClosure.FromString(n.closure).output_uri,
            )
            for n in nodes
        }
        attempts: dict[str, int] = {}
        report = Reporter(self.events, ident)
        for t in tasks:
            attempts[t.node_id] = max(attempts.get(t.node_id, 0), t.retry_attempt + 1)
            if TASK.Phase.Value(t.phase) not in TASK_TERMINAL:  # in flight when the server stopped
                task_id = identifier_pb2.Identifier(
                    resource_type=identifier_pb2.TASK,
                    project=t.project,
                    domain=t.domain,
                    name=t.name,
                    version=t.version,
                )
                await report.task(
                    t.node_id,
                    task_id,
                    t.retry_attempt,
                    TASK.FAILED,
                    phase_version=1,
                    error=error("Interrupted", "the server stopped while this attempt was running; it runs again"),
                )
        spec = admin_exec.ExecutionSpec.FromString(row.spec)
        parallelism = spec.max_parallelism  # resolved at creation (admin default 25); 0 means no limit
        recover = (
            spec.metadata.reference_execution if spec.metadata.mode == admin_exec.ExecutionMetadata.RECOVERED else None
        )
        run = Run(
            ident,
            spec,
            workflow.name,
            report,
            plan.catalog,
            stored,
            attempts,
            asyncio.Semaphore(parallelism) if parallelism > 0 else None,
            recover_from=recover,
        )
        return run, plan, row.inputs_uri, WF.Phase.Value(row.phase)

    async def _drive(self, ident: identifier_pb2.WorkflowExecutionIdentifier) -> None:
        key = _key(ident)
        try:
            run, plan, inputs_uri, phase = await self._load(ident)
            self._runs[key] = run
            if phase == WF.ABORTING:
                self._aborting.setdefault(key, "")
                run.aborting = True
                raise asyncio.CancelledError
            if phase in (WF.UNDEFINED, WF.QUEUED):
                await run.report.workflow(WF.RUNNING)
            outputs_url = self.store.url(f"{layout.execution_key(ident.project, ident.domain, ident.name)}/outputs.pb")
            frame = self.graphs.frame(run, plan.graph, Scope(), inputs_uri, outputs_url, top=True)
            result = await self.graphs.run_graph(frame)
            if isinstance(result, Succeeded):
                await run.report.workflow(WF.SUCCEEDED, output_uri=result.output_uri)
            else:
                await run.report.workflow(WF.FAILED, error=result.error)
        except asyncio.CancelledError:
            if key in self._aborting:
                await Reporter(self.events, ident).workflow(WF.ABORTED)
            else:
                raise
        except Exception as exc:  # a bug or an unreadable record: the execution fails, the server goes on
            log.exception("execution %s failed in the engine", "/".join(key))
            await Reporter(self.events, ident).workflow(WF.FAILED, error=error("EngineError", str(exc)))
        finally:
            self._aborting.pop(key, None)
            self._runs.pop(key, None)
