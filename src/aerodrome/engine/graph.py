"""Running one graph inside an execution: the top-level workflow, a subworkflow, a dynamic task's workflow.

A ``Frame`` is one graph being run: its nodes' state, where its node ids live (``Scope``) and the
inputs its start node stands for. ``GraphRunner.run_graph`` starts ready nodes, skips nodes that can no
longer run, applies the workflow's failure policy and runs its failure node; each node goes through
``run_node`` (inputs, recovery, the first event) and then the handler of its kind under ``nodes/``.
Nested graphs are run by handlers calling ``run_graph`` again with a nested scope, so a subworkflow
inside a dynamic task inside a branch works the same way as a top-level node.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flyteidl.admin import execution_pb2 as admin_exec
from flyteidl.admin import node_execution_pb2
from flyteidl.core import identifier_pb2, literals_pb2

from aerodrome.blobstore import layout
from aerodrome.blobstore.failures import store_full, store_unreachable
from aerodrome.blobstore.inputs import StoredInputs
from aerodrome.blobstore.store import BlobStore
from aerodrome.db.engine import Database, is_disconnect
from aerodrome.db.transformers.executions import execution_from_row
from aerodrome.engine.active import DONE_OK, Aborted, ActiveExecution, Failed, Outcome, Skipped, Started, Succeeded
from aerodrome.engine.events import NEXT, error, error_literal
from aerodrome.engine.frames import Frame, Job, Run, Scope
from aerodrome.engine.inputs import BindingError, resolve
from aerodrome.engine.launchers.protocol import Launcher
from aerodrome.engine.nodes import array, branch, gate, task, workflow
from aerodrome.engine.plan import END, START, Graph, PlannedNode, promise_sources
from aerodrome.errors import AlreadyInTerminalState
from aerodrome.managers.provider_resolution import frozen_runtimes
from aerodrome.phases.tables import NODE, WF
from aerodrome.values.provider_runtime import ProviderRuntime

if TYPE_CHECKING:
    from aerodrome.managers.catalog import CatalogManager
    from aerodrome.managers.executions import ExecutionManager
    from aerodrome.managers.signals import SignalManager
    from aerodrome.managers.workflows import WorkflowManager

log = logging.getLogger("aerodrome.engine")


def node_fields(scope: Scope, node: PlannedNode) -> dict[str, Any]:
    """The fields every event of a node carries, whichever event creates its record (a node skipped, aborted
    or failed before it ran included): where it lives and its kind flags, which flytekit reads to rebuild
    the node (an array node without ``is_array`` cannot be synced)."""
    launch_plan = node.kind == "workflow" and node.node.workflow_node.HasField("launchplan_ref")
    fields = scope.event_fields(node)
    if node.kind in ("workflow", "branch") and not launch_plan:
        fields["is_parent"] = True
    if node.kind == "array":
        fields["is_array"] = True
    return fields


class GraphRunner:
    """Runs graphs and their nodes; node handlers get it as their ``NodeContext`` (``context.py``) and call
    back into it for events and nested graphs."""

    def __init__(
        self,
        db: Database,
        store: BlobStore,
        launcher: Launcher,
        work_root: Path,
        *,
        signals: SignalManager,
        catalog: CatalogManager,
        workflows: WorkflowManager,
    ) -> None:
        self.db = db
        self.store = store
        self.launcher = launcher
        self.work_root = work_root
        self.signals = signals
        self.catalog = catalog
        self.workflows = workflows
        self.executions: ExecutionManager | None = None  # attached by the composition root (cycle)
        self.inputs = StoredInputs(store)

    # Events -------------------------------------------------------------------------------------------

    async def emit(self, job: Job, phase: int, *, hold: bool | str = False, **fields: Any) -> None:
        """Record a node event (``hold``: with the node's next one, see ``Reporter``); every event of a node
        carries the same kind flags (flytekit reads the node's metadata from whichever event created the
        record, even one that failed the node early)."""
        fields = {**node_fields(job.frame.scope, job.node), **fields}
        await job.run.report.node(job.unique, phase, hold=hold, **fields)

    async def succeed(self, job: Job, output_uri: str, **fields: Any) -> Outcome:
        """The node's SUCCEEDED; when it makes another node ready, sent with that node's first event (the
        graph loop sends it itself if none starts). Else at once: in a fan-out the ends of its branches,
        each written by its own node, share group commits."""
        hold = NEXT if job.frame.state.unblocks(job.node.id) else False
        await self.emit(job, NODE.SUCCEEDED, hold=hold, output_uri=output_uri, **fields)
        return Succeeded(job.node.id, output_uri)

    async def fail(self, job: Job, failure: Any, phase: int = NODE.FAILED, **fields: Any) -> Outcome:
        await self.emit(job, phase, error=failure, **fields)
        return Failed(job.node.id, failure)

    async def write_outputs(self, job: Job, outputs: literals_pb2.LiteralMap) -> str:
        url = f"{job.prefix}/outputs.pb"
        await self.store.write_proto(url, outputs)
        return url

    async def provider_runtime(self, job: Job) -> ProviderRuntime | None:
        run, root = job.run, job.frame.scope.root or job.unique
        if run.providers is None:  # frozen at creation: read once per drive, every node's at once
            run.providers = await frozen_runtimes(self.db, run.ident.project, run.ident.domain, run.ident.name)
        return run.providers.get(root)

    async def execution(self, ident: identifier_pb2.WorkflowExecutionIdentifier) -> admin_exec.Execution:
        async with self.db.transaction() as uow:
            return execution_from_row(await uow.executions.get(ident))

    def node_prefix(self, run: Run, unique: str) -> str:
        return self.store.url(layout.node_key(run.ident.project, run.ident.domain, run.ident.name, unique))

    # Graphs -------------------------------------------------------------------------------------------

    def frame(
        self, run: Run, graph: Graph, scope: Scope, inputs_uri: str, outputs_url: str, *, top: bool = False
    ) -> Frame:
        """A frame whose state is rebuilt from what was recorded before (a resumed drive skips done nodes)."""
        state = ActiveExecution.rebuild(graph, run.stored, scope.unique)
        return Frame(run, graph, scope, inputs_uri, outputs_url, state, top)

    async def run_graph(self, frame: Frame) -> Succeeded | Failed:
        state = frame.state
        running: dict[str, asyncio.Task[Outcome]] = {}
        try:
            started = False  # a node started since the last wait sends the events held for the next one
            while not state.finished:
                for node_id in state.skippable():
                    await self._skip(frame, frame.graph.nodes[node_id])
                for node_id in state.ready():
                    if node_id == START:
                        if frame.top:
                            await frame.run.report.node(START, NODE.SUCCEEDED, output_uri=frame.inputs_uri, hold=NEXT)
                        state.handle(Succeeded(START, frame.inputs_uri))
                    elif node_id == END:
                        state.handle(Succeeded(END, await self._finish(frame)))
                    else:
                        node = frame.graph.nodes[node_id]
                        running[node_id] = asyncio.create_task(self.run_node(frame, node))
                        state.handle(Started(node_id))
                        started = True
                if state.finished or state.ready() or state.skippable():
                    continue
                if not running:
                    raise RuntimeError("no node can run: the workflow's dependencies cannot be satisfied")
                if not started:
                    await frame.run.report.flush_next()
                started = False
                done, _ = await asyncio.wait(running.values(), return_when=asyncio.FIRST_COMPLETED)
                for node_id, child in list(running.items()):
                    if child in done:
                        del running[node_id]
                        state.handle(child.result())
                if state.failed and not frame.graph.fail_after_executable:
                    await self._abort(frame, running, report=True)
        except BaseException as exc:  # cancelled, or the database went away: no node keeps running unowned
            await self._abort(frame, running, report=frame.run.aborting and isinstance(exc, asyncio.CancelledError))
            raise
        if END in state.succeeded:  # recorded before a restart: its event holds no output URI, the frame does
            return Succeeded(END, state.succeeded[END] or frame.outputs_url)
        failure = next(iter(state.failed.values()))
        failure_node = frame.graph.failure_node
        if failure_node is not None and not frame.scope.in_dynamic:
            if frame.top:
                await frame.run.report.workflow(WF.FAILING)
            outcome = await self.run_node(frame, failure_node, failure=failure)
            if isinstance(outcome, Failed):
                failure = outcome.error
        return Failed(END, failure)

    async def _abort(self, frame: Frame, running: dict[str, asyncio.Task[Outcome]], *, report: bool) -> None:
        for child in running.values():
            child.cancel()
        await asyncio.gather(*running.values(), return_exceptions=True)
        for node_id in running:
            if report:
                with_scope = node_fields(frame.scope, frame.graph.nodes[node_id])
                # A node whose end was committed as the cancellation came (its events were already in a
                # group commit) keeps that end: the execution is aborted all the same.
                with contextlib.suppress(AlreadyInTerminalState):
                    await frame.run.report.node(frame.scope.unique(node_id), NODE.ABORTED, **with_scope)
            frame.state.handle(Aborted(node_id))
        running.clear()

    async def _skip(self, frame: Frame, node: PlannedNode) -> None:
        fields = node_fields(frame.scope, node)
        await frame.run.report.node(frame.scope.unique(node.id), NODE.SKIPPED, **fields)
        frame.state.handle(Skipped(node.id))

    async def outputs_of(self, frame: Frame, nodes: set[str]) -> dict[str, literals_pb2.LiteralMap]:
        """Outputs of the given succeeded nodes, read from the blob store once per frame."""
        state = frame.state
        for node_id in nodes - frame.outputs.keys():
            uri = state.succeeded.get(node_id)
            if uri is not None:
                frame.outputs[node_id] = (
                    await self.store.read_proto(uri, literals_pb2.LiteralMap) if uri else literals_pb2.LiteralMap()
                )
        return {n: frame.outputs[n] for n in nodes if n in frame.outputs}

    async def _finish(self, frame: Frame) -> str:
        bindings = frame.graph.outputs
        sources = set().union(*(promise_sources(b.binding) for b in bindings)) if bindings else set()
        outputs = resolve(bindings, await self.outputs_of(frame, sources))
        await self.store.write_proto(frame.outputs_url, outputs)
        if frame.top:
            # Sent with the workflow's SUCCEEDED, in one transaction.
            await frame.run.report.node(END, NODE.SUCCEEDED, input_uri=frame.outputs_url, hold=True)
        return frame.outputs_url

    # Nodes --------------------------------------------------------------------------------------------

    async def run_node(self, frame: Frame, node: PlannedNode, failure: Any = None) -> Outcome:
        """Resolve inputs, record the node's first event and hand it to the handler of its kind."""
        unique = frame.scope.unique(node.id)
        prefix = self.node_prefix(frame.run, unique)
        job = Job(frame, node, unique, literals_pb2.LiteralMap(), f"{prefix}/inputs.pb", prefix)
        try:
            # Only the outputs the bindings name are read (an upstream that only orders, such as the start node
            # of a workflow without inputs, costs no blob read).
            sources: set[str] = set().union(*(promise_sources(b.binding) for b in node.node.inputs))
            inputs = resolve(node.node.inputs, await self.outputs_of(frame, sources))
            if failure is not None and "err" in inputs.literals:
                inputs.literals["err"].CopyFrom(error_literal(failure))
            job = replace(job, inputs=inputs)
            recovered = await self._recovered(job)
            if recovered is not None:
                return recovered
            if node.kind == "gate":  # read by no process: stored by content, usually without a write
                ident = frame.run.ident
                job = replace(job, inputs_url=await self.inputs.put(ident.project, ident.domain, inputs))
            else:  # not fsynced: a run of the node (a resumed one too) writes them again before its task reads them
                await self.store.write_proto(job.inputs_url, inputs, durable=False)
            return await self._dispatch(job)
        except BindingError as exc:
            return await self.fail(job, error("BindingResolutionFailure", f"node {node.id}: {exc}"))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug or an unreadable record: this node fails, the server goes on
            if is_disconnect(exc) or store_unreachable(exc):  # not the node's fault: the drive ends and resumes
                raise  # when the database (or the object store) is back
            if store_full(exc):  # the operator's to fix; named as such, without a stack trace in the log
                log.warning("node %s of execution %s: the blob store is full (%s)", unique, frame.run.ident.name, exc)
                return await self.fail(job, error("BlobStoreFull", f"node {node.id}: the blob store is full: {exc}"))
            log.exception("node %s of execution %s failed in the engine", unique, frame.run.ident.name)
            return await self.fail(job, error("EngineError", f"node {node.id}: {exc}"))

    async def _dispatch(self, job: Job) -> Outcome:
        kind = job.node.kind
        if kind == "workflow" and job.node.node.workflow_node.HasField("launchplan_ref"):
            await self.emit(job, NODE.QUEUED, input_uri=job.inputs_url)  # RUNNING carries the child's id
            return await workflow.run_launch_plan(self, job)
        flags: dict[str, Any] = {"input_uri": job.inputs_url}
        if job.node.task is not None:
            flags["target_entity"] = job.node.task.id
        # A task node's RUNNING goes with its first attempt's RUNNING (or its end, for a cache hit), in one
        # transaction; every path of run_task sends another event of the node right after.
        await self.emit(job, NODE.RUNNING, hold=kind == "task", **flags)
        if kind == "task":
            return await task.run_task(self, job)
        if kind == "workflow":
            return await workflow.run_subworkflow(self, job)
        if kind == "branch":
            return await branch.run_branch(self, job)
        if kind == "gate":
            return await gate.run_gate(self, job)
        if kind == "array":
            return await array.run_array(self, job)
        return await self.fail(job, error("Unsupported", f"node {job.node.id}: unknown node kind {kind}"))

    async def _recovered(self, job: Job) -> Outcome | None:
        """In a recovery, a node that succeeded in the original execution is not run again."""
        original = job.run.recover_from
        if original is None:
            return None
        async with self.db.transaction() as uow:
            row = await uow.node_executions.find(original, job.unique)
            if row is None or NODE.Phase.Value(row.phase) not in DONE_OK:
                return None
            closure = node_execution_pb2.NodeExecutionClosure.FromString(row.closure)
            output_uri, input_uri = closure.output_uri, row.input_uri
        await self.emit(job, NODE.RECOVERED, output_uri=output_uri, input_uri=input_uri)
        return Succeeded(job.node.id, output_uri)
