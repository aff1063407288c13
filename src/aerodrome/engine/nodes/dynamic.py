"""Dynamic tasks: the task wrote ``futures.pb`` (a DynamicJobSpec) instead of outputs.

The spec becomes a workflow named ``dynamic_<node id>`` with the task's interface, compiled like a
registered one (so it is checked the same way and flytekit can render it from GetNodeExecutionData),
and run as a nested graph under the node: child ids ``<node>-<attempt>-dn0``. The node's outputs are
the generated workflow's outputs.
"""

from __future__ import annotations

import secrets
import string
from typing import TYPE_CHECKING

from flyteidl.core import dynamic_job_pb2, identifier_pb2, workflow_pb2
from flyteidl.event import event_pb2

from aerodrome.engine.active import Failed, Outcome
from aerodrome.engine.events import error
from aerodrome.engine.plan import Graph
from aerodrome.errors import AdminError
from aerodrome.phases.tables import NODE

if TYPE_CHECKING:
    from aerodrome.engine.context import NodeContext
    from aerodrome.engine.frames import Job

_ALPHABET = string.ascii_lowercase + string.digits


async def run_dynamic(g: NodeContext, job: Job, attempt: int, futures_url: str, deck_uri: str = "") -> Outcome:
    assert job.node.task is not None
    run = job.run
    spec = await g.store.read_proto(futures_url, dynamic_job_pb2.DynamicJobSpec)
    template = workflow_pb2.WorkflowTemplate(
        id=identifier_pb2.Identifier(
            resource_type=identifier_pb2.WORKFLOW,
            project=run.ident.project,
            domain=run.ident.domain,
            name=f"dynamic_{job.unique}",
            version="".join(secrets.choice(_ALPHABET) for _ in range(10)),
        ),
        interface=job.node.task.interface,
        nodes=spec.nodes,
        outputs=spec.outputs,
    )
    try:
        closure = await g.workflows.compile_dynamic(template, list(spec.subworkflows), list(spec.tasks))
    except AdminError as exc:
        return await g.fail(job, error("DynamicWorkflowBuildFailed", str(exc), user=True))
    await g.emit(
        job,
        NODE.DYNAMIC_RUNNING,
        is_parent=True,
        is_dynamic=True,
        deck_uri=deck_uri,  # the deck the dynamic task itself wrote (enable_deck=True), as for any task
        task_node_metadata=event_pb2.TaskNodeMetadata(
            dynamic_workflow=event_pb2.DynamicWorkflowNodeMetadata(
                id=closure.primary.template.id, compiled_workflow=closure, dynamic_job_spec_uri=futures_url
            )
        ),
    )
    # Nodes of the generated workflow (subworkflows, branches, nested dynamics) look their templates up in
    # the execution's catalog, so the dynamic's own tasks and subworkflows join it (their ids are versioned).
    run.catalog = run.catalog.merged(spec.tasks, [w.template for w in closure.sub_workflows])
    graph = Graph.from_template(closure.primary.template, run.catalog)
    frame = g.frame(
        run,
        graph,
        job.frame.scope.nested(job.unique, attempt, dynamic=True),
        job.inputs_url,
        f"{job.prefix}/outputs.pb",
    )
    result = await g.run_graph(frame)
    if isinstance(result, Failed):
        return await g.fail(job, result.error)
    return await g.succeed(job, result.output_uri)
