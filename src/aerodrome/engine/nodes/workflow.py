"""Workflow nodes: a static subworkflow runs inline; a launch plan runs as a child execution.

A subworkflow is a nested graph under the node (``n1-0-n0``). A launch-plan node creates a child
execution through the ExecutionManager, exactly as an API caller would, under a name derived from the
parent's name, node and attempt, so after a restart the same child is found instead of launched twice;
then it waits for the child's end (woken by its terminal event) and takes its outputs. Aborting the
parent terminates the child.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from flyteidl.admin import execution_pb2 as admin_exec
from flyteidl.core import execution_pb2 as core_exec
from flyteidl.core import identifier_pb2
from flyteidl.event import event_pb2

from aerodrome.engine.active import Failed, Outcome
from aerodrome.engine.events import error
from aerodrome.engine.ids import child_execution_name
from aerodrome.engine.plan import Graph
from aerodrome.errors import AdminError, AlreadyExists
from aerodrome.managers.events import Recorded
from aerodrome.phases.tables import NODE, WF, WORKFLOW_TERMINAL

if TYPE_CHECKING:
    from aerodrome.engine.context import NodeContext
    from aerodrome.engine.frames import Job

POLL_SECONDS = (0.5, 1.0)  # only for a child driven by another process


async def run_subworkflow(g: NodeContext, job: Job) -> Outcome:
    ref = job.node.node.workflow_node.sub_workflow_ref
    template = job.run.catalog.workflow(ref)
    if template is None:
        failure = error("SubWorkflowExecutionFailed", f"subworkflow {ref.name}:{ref.version} is not in the closure")
        return await g.fail(job, failure)
    graph = Graph.from_template(template, job.run.catalog)
    frame = g.frame(job.run, graph, job.frame.scope.nested(job.unique, 0), job.inputs_url, f"{job.prefix}/outputs.pb")
    result = await g.run_graph(frame)
    if isinstance(result, Failed):
        return await g.fail(job, result.error)
    return await g.succeed(job, result.output_uri)


def _child_spec(job: Job, ident: identifier_pb2.WorkflowExecutionIdentifier) -> admin_exec.ExecutionSpec:
    """The child's spec: the referenced launch plan, and what a child inherits from its parent."""
    parent = job.run.spec
    spec = admin_exec.ExecutionSpec(
        launch_plan=job.node.node.workflow_node.launchplan_ref,
        metadata=admin_exec.ExecutionMetadata(
            mode=admin_exec.ExecutionMetadata.CHILD_WORKFLOW,
            nesting=parent.metadata.nesting + 1,
            principal=parent.metadata.principal,
            parent_node_execution=identifier_pb2.NodeExecutionIdentifier(
                node_id=job.unique, execution_id=job.run.ident
            ),
        ),
        overwrite_cache=parent.overwrite_cache,
        max_parallelism=parent.max_parallelism,
    )
    for field in ("labels", "annotations", "security_context", "raw_output_data_config", "envs", "interruptible"):
        if parent.HasField(field):  # what propeller passes on from the parent's execution config
            getattr(spec, field).CopyFrom(getattr(parent, field))
    return spec


async def run_launch_plan(g: NodeContext, job: Job) -> Outcome:
    assert g.executions is not None, "the engine has no ExecutionManager attached"
    run = job.run
    attempt = run.attempts.get(job.unique, 0)
    child = identifier_pb2.WorkflowExecutionIdentifier(
        project=run.ident.project,
        domain=run.ident.domain,
        name=child_execution_name(run.ident.name, job.unique, attempt),
    )
    request = admin_exec.ExecutionCreateRequest(
        project=child.project, domain=child.domain, name=child.name, spec=_child_spec(job, child), inputs=job.inputs
    )
    try:
        await g.executions.create(request)
    except AlreadyExists:
        pass  # launched before a restart: follow it
    except AdminError as exc:
        return await g.fail(job, error("RuntimeExecutionError", str(exc), user=True))
    await g.emit(job, NODE.RUNNING, workflow_node_metadata=event_pb2.WorkflowNodeMetadata(execution_id=child))
    try:
        execution = await _follow(g, job, child)
    except asyncio.CancelledError:
        if run.aborting:
            with contextlib.suppress(AdminError):
                await g.executions.terminate(admin_exec.ExecutionTerminateRequest(id=child, cause="parent aborted"))
        raise
    phase = execution.closure.phase
    if phase == WF.SUCCEEDED:
        return await g.succeed(job, execution.closure.outputs.uri)
    if phase == WF.ABORTED:
        ref = job.node.node.workflow_node.launchplan_ref
        failure = error("RemoteChildWorkflowExecutionFailed", f"launchplan [{ref.name}] aborted", user=True)
        return await g.fail(job, failure)
    if execution.closure.HasField("error"):
        return await g.fail(job, execution.closure.error)
    return await g.fail(job, core_exec.ExecutionError(code="LaunchPlanExecutionFailed", message="Unknown Error"))


async def _follow(g: NodeContext, job: Job, child: identifier_pb2.WorkflowExecutionIdentifier) -> admin_exec.Execution:
    """Wait until the child is terminal: woken by its terminal event when this process records it (the
    EventManager tells its watchers after the commit), else (another process sharing the database drives
    it) found by a read every POLL_SECONDS."""
    ended = asyncio.Event()
    key = (child.project, child.domain, child.name)

    def watcher(recorded: Recorded) -> None:
        ident = recorded.execution
        same = recorded.kind == "workflow" and (ident.project, ident.domain, ident.name) == key
        if same and WF.Phase.Value(recorded.phase) in WORKFLOW_TERMINAL:
            ended.set()

    stop = job.run.report.events.watch(watcher)
    try:
        waits = iter(POLL_SECONDS)
        while True:
            execution = await g.execution(child)
            if execution.closure.phase in WORKFLOW_TERMINAL:
                return execution
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ended.wait(), next(waits, POLL_SECONDS[-1]))
    finally:
        stop()
