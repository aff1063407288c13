"""The engine's imperative shell: one driver task per execution this process holds the lease of.

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
from flyteidl.admin import node_execution_pb2, task_execution_pb2
from flyteidl.core import compiler_pb2, identifier_pb2

from aerodrome.blobstore import layout
from aerodrome.blobstore.failures import store_unreachable
from aerodrome.blobstore.store import BlobStore
from aerodrome.db.engine import Database, is_disconnect
from aerodrome.db.repositories.leases import Leased
from aerodrome.engine.active import Succeeded
from aerodrome.engine.events import Reporter, error
from aerodrome.engine.frames import Run, Scope
from aerodrome.engine.graph import GraphRunner
from aerodrome.engine.leases import LeaseKeeper
from aerodrome.engine.plan import ExecutionPlan
from aerodrome.engine.starts import StartLoads
from aerodrome.errors import AbortRequested
from aerodrome.managers.events import EventManager
from aerodrome.observability.logs import execution_id
from aerodrome.phases.tables import NODE, TASK, TASK_TERMINAL, WF, WORKFLOW_TERMINAL

if TYPE_CHECKING:
    from aerodrome.managers.executions import ExecutionManager

log = logging.getLogger("aerodrome.engine")
Key = tuple[str, str, str]
PLAN_CACHE = 256


def _key(ident: identifier_pb2.WorkflowExecutionIdentifier) -> Key:
    return (ident.project, ident.domain, ident.name)


class Engine:
    """Drives the executions this process holds leases on; ``submit`` and ``terminate`` are what the
    ExecutionManager calls, ``leases.py`` decides what to drive."""

    name = "engine"

    def __init__(
        self,
        db: Database,
        store: BlobStore,
        events: EventManager,
        graphs: GraphRunner,
        keeper: LeaseKeeper,
        *,
        max_executions: int,
    ) -> None:
        self.db = db
        self.store = store
        self.events = events
        self.graphs = graphs
        self.keeper = keeper
        self.max_executions = max_executions
        self._drivers: dict[Key, asyncio.Task[None]] = {}
        self._ids: dict[int, Key] = {}  # execution row id -> key, for what this process drives
        self._runs: dict[Key, Run] = {}
        self._aborting: dict[Key, str] = {}
        self._dropped: set[Key] = set()
        self._plans: dict[int, tuple[str, ExecutionPlan]] = {}  # workflow row id -> (name, plan)
        self.loads = StartLoads(db)

    def attach(self, executions: ExecutionManager) -> None:
        """Launch-plan nodes create child executions through the same manager as API callers."""
        self.graphs.executions = executions

    async def submit(self, execution: identifier_pb2.WorkflowExecutionIdentifier) -> None:
        """A new execution is in the database: claim it now (it may be driven by another process)."""
        self.keeper.created()

    async def terminate(self, execution: identifier_pb2.WorkflowExecutionIdentifier, cause: str) -> None:
        """The execution is ABORTING in the database: stop it here if this process drives it, else tell the
        process that does (or whoever claims it next sees ABORTING and reports ABORTED)."""
        key = _key(execution)
        if key in self._drivers:
            self._abort_local(key, cause)
            return
        await self.keeper.announce_abort(*key)

    def _abort_local(self, key: Key, cause: str) -> None:
        driver = self._drivers.get(key)
        if driver is None or key in self._aborting:
            return
        self._aborting[key] = cause
        if key in self._runs:
            self._runs[key].aborting = True
        driver.cancel()

    # What the lease keeper asks (leases.Driver) ------------------------------------------------------

    def capacity(self) -> int:
        if not self.graphs.launcher.has_free_slot():
            return 0
        return self.max_executions - len(self._drivers)

    def driving(self) -> list[int]:
        return list(self._ids)

    def task_processes(self) -> int:
        return self.graphs.launcher.running

    def drive(self, leased: Leased) -> None:
        key = (leased.project, leased.domain, leased.name)
        if key in self._drivers:
            return
        ident = identifier_pb2.WorkflowExecutionIdentifier(project=key[0], domain=key[1], name=key[2])
        self._ids[leased.id] = key
        driver = asyncio.create_task(self._drive(ident, leased.id), name=f"execution {'/'.join(key)}")
        self._drivers[key] = driver

        def forget(_: asyncio.Task[None]) -> None:
            self._drivers.pop(key, None)
            self._ids.pop(leased.id, None)
            self.keeper.nudge()  # room for another execution (or this one again, if it was not ready)

        driver.add_done_callback(forget)

    def drop(self, row_id: int) -> None:
        key = self._ids.get(row_id)
        if key is not None and key in self._drivers:
            self._dropped.add(key)
            self._drivers[key].cancel()

    def abort(self, project: str, domain: str, name: str) -> None:
        self._abort_local((project, domain, name), "")

    # Lifecycle ---------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Join the processes sharing the database: claim what nobody drives (after a restart or a crash,
        what was left unfinished) and keep the leases alive."""
        await self.keeper.start(self)

    async def stop(self) -> None:
        """Stop claiming, stop driving (running attempts are killed) and hand the leases back at once, so
        another process (or this one restarted) resumes the executions without waiting for expiry."""
        await self.keeper.stop_claiming()
        drivers = list(self._drivers.values())
        for key in self._drivers:
            self._dropped.add(key)
        for driver in drivers:
            driver.cancel()
        await asyncio.gather(*drivers, return_exceptions=True)
        await self.keeper.stop()
        await self.graphs.launcher.close()

    # The driver -------------------------------------------------------------------------------------

    async def _plan(self, workflow_id: int | None, name: str) -> tuple[str, ExecutionPlan]:
        """A workflow version's name and plan: immutable once registered, so parsed once and kept (bounded)."""
        found = self._plans.get(workflow_id) if workflow_id is not None else None
        if found is None:
            async with self.db.transaction() as uow:
                workflow = await uow.workflows.by_id(workflow_id)
            if workflow is None:
                raise RuntimeError(f"the workflow of execution {name} is missing")
            closure = compiler_pb2.CompiledWorkflowClosure.FromString(workflow.closure)
            found = self._plans[workflow.id] = (workflow.name, ExecutionPlan.from_closure(closure))
            if len(self._plans) > PLAN_CACHE:
                del self._plans[next(iter(self._plans))]
        return found

    async def _load(
        self, ident: identifier_pb2.WorkflowExecutionIdentifier, row_id: int
    ) -> tuple[Run, ExecutionPlan, str, int]:
        loaded = await self.loads.load(row_id)  # one read for the drives starting together (``starts.py``)
        row, nodes, tasks = loaded.row, loaded.nodes, loaded.tasks
        workflow_name, plan = await self._plan(row.workflow_id, ident.name)
        stored = {
            n.node_id: (
                NODE.Phase.Value(n.phase),
                node_execution_pb2.NodeExecutionClosure.FromString(n.closure).output_uri,
            )
            for n in nodes
        }
        attempts: dict[str, int] = {}
        succeeded: dict[str, tuple[int, str]] = {}
        report = Reporter(self.events, ident)
        for t in tasks:
            attempts[t.node_id] = max(attempts.get(t.node_id, 0), t.retry_attempt + 1)
            if t.phase == "SUCCEEDED":
                closure = task_execution_pb2.TaskExecutionClosure.FromString(t.closure)
                succeeded[t.node_id] = (t.retry_attempt, closure.output_uri)
            elif TASK.Phase.Value(t.phase) not in TASK_TERMINAL:  # in flight when the server stopped
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
            workflow_name,
            report,
            plan.catalog,
            stored,
            attempts,
            asyncio.Semaphore(parallelism) if parallelism > 0 else None,
            recover_from=recover,
            succeeded_attempts=succeeded,
        )
        return run, plan, row.inputs_uri, WF.Phase.Value(row.phase)

    async def _drive(self, ident: identifier_pb2.WorkflowExecutionIdentifier, row_id: int) -> None:
        key = _key(ident)
        execution_id.set(":".join(key))  # every log line of this execution's work carries it (JSON logs)
        release = True
        try:
            run, plan, inputs_uri, phase = await self._load(ident, row_id)
            self._runs[key] = run
            if phase in WORKFLOW_TERMINAL:  # finished between the claim and the load
                return
            if phase == WF.ABORTING:
                self._aborting.setdefault(key, "")
                run.aborting = True
                raise asyncio.CancelledError
            if phase in (WF.UNDEFINED, WF.QUEUED):
                await run.report.workflow(WF.RUNNING, hold=True)  # sent with the start node's event
            outputs_url = self.store.url(f"{layout.execution_key(ident.project, ident.domain, ident.name)}/outputs.pb")
            frame = self.graphs.frame(run, plan.graph, Scope(), inputs_uri, outputs_url, top=True)
            log.debug("driving the graph from phase %s", WF.Phase.Name(phase))
            result = await self.graphs.run_graph(frame)
            log.debug("graph finished: %s", "succeeded" if isinstance(result, Succeeded) else "failed")
            try:
                if isinstance(result, Succeeded):
                    await run.report.workflow(WF.SUCCEEDED, final=True, output_uri=result.output_uri)
                else:
                    await run.report.workflow(WF.FAILED, final=True, error=result.error)
            except AbortRequested:  # TerminateExecution was answered first: the execution ends ABORTED
                await Reporter(self.events, ident).workflow(WF.ABORTED)
        except asyncio.CancelledError:
            if key in self._aborting and key not in self._dropped:
                await self._settle_held(key)
                await Reporter(self.events, ident).workflow(WF.ABORTED)
            else:
                release = False  # dropped or stopping: the lease is gone or handed back with the others
                raise
        except Exception as exc:
            if is_disconnect(exc) or store_unreachable(exc):  # let the lease expire, then resume like a restart
                what = "database" if is_disconnect(exc) else "object store"
                log.warning("execution %s: %s unreachable (%s); resumed once its lease expires", key[2], what, exc)
                release = False
                return
            log.exception("execution %s failed in the engine", "/".join(key))  # a bug or an unreadable record
            await self._settle_held(key)
            try:
                await Reporter(self.events, ident).workflow(WF.FAILED, error=error("EngineError", str(exc)))
            except Exception:
                log.exception("execution %s: reporting the failure failed; resumed once its lease expires", key[2])
                release = False
        finally:
            self._aborting.pop(key, None)
            self._runs.pop(key, None)
            self._dropped.discard(key)
            if release:
                await self.keeper.release(row_id)

    async def _settle_held(self, key: Key) -> None:
        """Before ABORTED (or FAILED by an engine error): a node that succeeded just before may have its end
        still held for its successor (``Reporter``, ``hold=NEXT``); it is recorded, so no node of the ended
        execution stays RUNNING. Best effort: the workflow's end must be written whatever happens here."""
        run = self._runs.get(key)
        if run is None:
            return
        try:
            await run.report.settle_ends()
        except Exception as exc:
            log.warning("execution %s: recording the node ends held at the abort failed: %s", key[2], exc)
