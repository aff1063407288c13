"""The engine's imperative shell: one driver task per running execution.

A driver loads the execution's plan, rebuilds what already happened from the stored node executions
(so a restart after a crash resumes without re-running succeeded nodes), starts ready nodes up to the
execution's ``max_parallelism``, and reports every change as an event through the EventManager. It
never writes phases itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from flyteidl.admin import execution_pb2 as admin_exec
from flyteidl.admin import node_execution_pb2
from flyteidl.core import compiler_pb2, identifier_pb2, literals_pb2
from flyteidl.core import execution_pb2 as core_exec

from aerodrome.blobstore import layout
from aerodrome.blobstore.store import BlobStore
from aerodrome.db.engine import Database
from aerodrome.db.models import WorkflowRow
from aerodrome.engine.active import ActiveExecution, Failed, Outcome, Started, Succeeded
from aerodrome.engine.events import Reporter, error
from aerodrome.engine.inputs import BindingError, resolve
from aerodrome.engine.launchers.local import Attempt, LocalLauncher
from aerodrome.engine.plan import END, START, ExecutionPlan, PlannedNode, promise_sources
from aerodrome.managers.events import EventManager
from aerodrome.phases.tables import NODE, TASK, TASK_TERMINAL, WF, WORKFLOW_TERMINAL

log = logging.getLogger("aerodrome.engine")
SYSTEM_RETRIES = 3
Key = tuple[str, str, str]


def _key(ident: identifier_pb2.WorkflowExecutionIdentifier) -> Key:
    return (ident.project, ident.domain, ident.name)


@dataclass
class Context:
    """What a driver knows about its execution."""

    ident: identifier_pb2.WorkflowExecutionIdentifier
    plan: ExecutionPlan
    spec: admin_exec.ExecutionSpec
    inputs_uri: str
    workflow_name: str
    report: Reporter
    attempts: dict[str, int]  # node id -> next attempt number
    outputs: dict[str, literals_pb2.LiteralMap] = field(default_factory=dict)  # read so far


class Engine:
    """Runs executions; ``submit`` and ``terminate`` are what the ExecutionManager calls."""

    def __init__(
        self, db: Database, store: BlobStore, events: EventManager, launcher: LocalLauncher, work_root: Path
    ) -> None:
        self.db = db
        self.store = store
        self.events = events
        self.launcher = launcher
        self.work_root = work_root
        self._drivers: dict[Key, asyncio.Task[None]] = {}
        self._aborting: dict[Key, str] = {}

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

    async def stop(self) -> None:
        """Stop driving (server shutdown): running attempts are killed and re-run after the restart."""
        drivers = list(self._drivers.values())
        for driver in drivers:
            driver.cancel()
        await asyncio.gather(*drivers, return_exceptions=True)

    # The driver -------------------------------------------------------------------------------------

    async def _load(self, ident: identifier_pb2.WorkflowExecutionIdentifier) -> tuple[Context, ActiveExecution, int]:
        async with self.db.transaction() as uow:
            row = await uow.executions.get(ident)
            workflow = await uow.session.get(WorkflowRow, row.workflow_id)
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
        context = Context(
            ident, plan, admin_exec.ExecutionSpec.FromString(row.spec), row.inputs_uri, workflow.name, report, attempts
        )
        return context, ActiveExecution.rebuild(plan, stored), WF.Phase.Value(row.phase)

    async def _drive(self, ident: identifier_pb2.WorkflowExecutionIdentifier) -> None:
        key = _key(ident)
        running: dict[str, asyncio.Task[Outcome]] = {}
        try:
            ctx, state, phase = await self._load(ident)
            if phase == WF.ABORTING:
                self._aborting.setdefault(key, "")
                raise asyncio.CancelledError
            if phase in (WF.UNDEFINED, WF.QUEUED):
                await ctx.report.workflow(WF.RUNNING)
            await self._run(ctx, state, running)
        except asyncio.CancelledError:
            for task in running.values():
                task.cancel()
            await asyncio.gather(*running.values(), return_exceptions=True)
            if key in self._aborting:
                await self._report_abort(ident, running)
            else:
                raise
        except Exception as exc:  # a bug or an unreadable record: the execution fails, the server goes on
            log.exception("execution %s failed in the engine", "/".join(key))
            await Reporter(self.events, ident).workflow(WF.FAILED, error=error("EngineError", str(exc)))
        finally:
            self._aborting.pop(key, None)

    async def _report_abort(
        self, ident: identifier_pb2.WorkflowExecutionIdentifier, running: Mapping[str, object]
    ) -> None:
        report = Reporter(self.events, ident)
        for node_id in running:
            await report.node(node_id, NODE.ABORTED)
        await report.workflow(WF.ABORTED)

    async def _run(self, ctx: Context, state: ActiveExecution, running: dict[str, asyncio.Task[Outcome]]) -> None:
        limit = ctx.spec.max_parallelism or 25
        while not state.finished:
            for node_id in state.ready():
                if node_id == START:
                    await ctx.report.node(START, NODE.SUCCEEDED, output_uri=ctx.inputs_uri)
                    state.handle(Succeeded(START, ctx.inputs_uri))
                elif node_id == END:
                    await self._finish(ctx, state)
                    state.handle(Succeeded(END, ""))
                elif len(running) < limit:
                    running[node_id] = asyncio.create_task(self._run_node(ctx, state, ctx.plan.nodes[node_id]))
                    state.handle(Started(node_id))
            if state.finished:
                break
            if not running:
                if not state.ready():
                    raise RuntimeError("no node can run: the workflow's dependencies cannot be satisfied")
                continue
            done, _ = await asyncio.wait(running.values(), return_when=asyncio.FIRST_COMPLETED)
            for node_id, task in list(running.items()):
                if task in done:
                    del running[node_id]
                    state.handle(task.result())
            if state.failed:
                for task in running.values():  # FAIL_IMMEDIATELY: stop the rest
                    task.cancel()
                await asyncio.gather(*running.values(), return_exceptions=True)
                for node_id in running:
                    await ctx.report.node(node_id, NODE.ABORTED)
                running.clear()
                first = next(iter(state.failed.values()))
                await ctx.report.workflow(WF.FAILED, error=first)
                return

    async def _outputs(
        self, ctx: Context, state: ActiveExecution, nodes: set[str]
    ) -> dict[str, literals_pb2.LiteralMap]:
        """Outputs of the given succeeded nodes, read from the blob store once per execution."""
        for node_id in nodes - ctx.outputs.keys():
            uri = state.succeeded.get(node_id)
            if uri is not None:
                ctx.outputs[node_id] = (
                    await self.store.read_proto(uri, literals_pb2.LiteralMap) if uri else literals_pb2.LiteralMap()
                )
        return {n: ctx.outputs[n] for n in nodes if n in ctx.outputs}

    async def _finish(self, ctx: Context, state: ActiveExecution) -> None:
        sources = set().union(*(promise_sources(b.binding) for b in ctx.plan.outputs)) if ctx.plan.outputs else set()
        outputs = resolve(ctx.plan.outputs, await self._outputs(ctx, state, sources))
        prefix = layout.execution_key(ctx.ident.project, ctx.ident.domain, ctx.ident.name)
        url = self.store.url(f"{prefix}/outputs.pb")
        await self.store.write_proto(url, outputs)
        await ctx.report.node(END, NODE.SUCCEEDED, input_uri=url)
        await ctx.report.workflow(WF.SUCCEEDED, output_uri=url)

    async def _run_node(self, ctx: Context, state: ActiveExecution, node: PlannedNode) -> Outcome:
        try:
            inputs = resolve(node.node.inputs, await self._outputs(ctx, state, set(node.upstream)))
        except BindingError as exc:
            failure = error("BindingResolutionFailure", f"node {node.id}: {exc}")
            await ctx.report.node(node.id, NODE.FAILED, error=failure)
            return Failed(node.id, failure)
        node_prefix = self.store.url(layout.node_key(ctx.ident.project, ctx.ident.domain, ctx.ident.name, node.id))
        inputs_url = f"{node_prefix}/inputs.pb"
        await self.store.write_proto(inputs_url, inputs)
        await ctx.report.node(node.id, NODE.RUNNING, input_uri=inputs_url)
        if node.kind != "task" or node.task is None or not node.task.HasField("container"):
            failure = error("Unsupported", f"node {node.id}: {node.kind} nodes are not supported by this engine yet")
            await ctx.report.node(node.id, NODE.FAILED, error=failure)
            return Failed(node.id, failure)
        return await self._run_task(ctx, node, inputs_url, node_prefix)

    async def _run_task(self, ctx: Context, node: PlannedNode, inputs_url: str, node_prefix: str) -> Outcome:
        assert node.task is not None
        task_id = node.task.id
        user_budget, system_budget = node.retries, SYSTEM_RETRIES
        attempt = ctx.attempts.get(node.id, 0)
        timeout = (
            node.node.metadata.timeout.ToTimedelta().total_seconds()
            or (node.task.metadata.timeout.ToTimedelta().total_seconds())
            or None
        )
        envs = {kv.key: kv.value for kv in ctx.spec.envs.values}
        while True:
            prefix = f"{node_prefix}/{attempt}"
            spec = Attempt(
                execution=ctx.ident,
                node_id=node.id,
                attempt=attempt,
                task=node.task,
                inputs_url=inputs_url,
                output_prefix=prefix,
                raw_output_prefix=f"{prefix}/raw",
                workdir=self.work_root / ctx.ident.project / ctx.ident.domain / ctx.ident.name / node.id / str(attempt),
                workflow_name=ctx.workflow_name,
                launch_plan_name=ctx.spec.launch_plan.name,
                envs=envs,
                timeout_seconds=timeout,
            )
            await ctx.report.task(node.id, task_id, attempt, TASK.RUNNING, input_uri=inputs_url)
            result = await self.launcher.run(spec)
            logs = [core_exec.TaskLog(name="task log", uri=result.log_url)] if result.log_url else []
            usage = {"cpu_seconds": result.cpu_seconds, "peak_rss_bytes": float(result.peak_rss_bytes)}
            if result.ok and result.outputs_url:
                await ctx.report.task(
                    node.id, task_id, attempt, TASK.SUCCEEDED, output_uri=result.outputs_url, logs=logs, usage=usage
                )
                await ctx.report.node(node.id, NODE.SUCCEEDED, output_uri=result.outputs_url)
                return Succeeded(node.id, result.outputs_url)
            failure = result.error or error(
                "Unsupported", f"node {node.id}: dynamic tasks are not supported by this engine yet"
            )
            await ctx.report.task(node.id, task_id, attempt, TASK.FAILED, error=failure, logs=logs, usage=usage)
            attempt += 1
            if result.retryable and result.system and system_budget > 0:
                system_budget -= 1
                continue
            if result.retryable and not result.system and user_budget > 0:
                user_budget -= 1
                continue
            kind = core_exec.ExecutionError.ErrorKind.Name(failure.kind)
            final = core_exec.ExecutionError(
                code=failure.code,
                kind=failure.kind,
                error_uri=failure.error_uri,
                message=f"[{attempt}/{node.retries + 1}] currentAttempt done. Last Error: {kind}::{failure.message}",
            )
            await ctx.report.node(node.id, NODE.FAILED, error=final)
            return Failed(node.id, final)
