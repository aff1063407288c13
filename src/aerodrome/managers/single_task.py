"""Single-task executions run through a generated ``.flytegen.<task>`` workflow and launch plan.

As the reference does (AP/manager/impl/util/single_task_execution.go): one node named after the task,
every workflow input bound to it, its outputs bound to the workflow's, three retries unless the task
sets its own, and both named entities marked SYSTEM_GENERATED so default lists hide them.
"""

from __future__ import annotations

import contextlib
import re

from flyteidl.admin import common_pb2, launch_plan_pb2, workflow_pb2
from flyteidl.core import identifier_pb2, interface_pb2, literals_pb2, types_pb2
from flyteidl.core import workflow_pb2 as core_wf

from aerodrome.db.engine import Database
from aerodrome.db.transformers.entities import task_from_row
from aerodrome.errors import AlreadyExists
from aerodrome.managers.launch_plans import LaunchPlanManager
from aerodrome.managers.workflows import WorkflowManager

PREFIX = ".flytegen."
DEFAULT_RETRIES = 3


def node_name(task_name: str) -> str:
    """The task name with only letters, digits and ``-`` kept, at most its last 63 characters."""
    return re.sub(r"[^A-Za-z0-9-]", "", task_name)[-63:] or "task"


def _binding(var: str, node: str) -> literals_pb2.Binding:
    return literals_pb2.Binding(
        var=var, binding=literals_pb2.BindingData(promise=types_pb2.OutputReference(node_id=node, var=var))
    )


def generated_workflow(
    task_id: identifier_pb2.Identifier, template_interface: interface_pb2.TypedInterface, retries: int | None
) -> core_wf.WorkflowTemplate:
    """The one-node workflow around a task."""
    node_id = node_name(task_id.name)
    node = core_wf.Node(
        id=node_id,
        metadata=core_wf.NodeMetadata(
            name=node_id, retries=literals_pb2.RetryStrategy(retries=DEFAULT_RETRIES if retries is None else retries)
        ),
        inputs=[_binding(name, "start-node") for name in template_interface.inputs.variables],
        task_node=core_wf.TaskNode(reference_id=task_id),
    )
    wf_id = identifier_pb2.Identifier(
        resource_type=identifier_pb2.WORKFLOW,
        project=task_id.project,
        domain=task_id.domain,
        name=PREFIX + task_id.name,
        version=task_id.version,
    )
    return core_wf.WorkflowTemplate(
        id=wf_id,
        interface=template_interface,
        nodes=[node],
        outputs=[_binding(name, node_id) for name in template_interface.outputs.variables],
    )


class SingleTaskLauncher:
    """Ensures the generated workflow and launch plan of a task exist; returns the launch plan id."""

    def __init__(self, db: Database, workflows: WorkflowManager, launch_plans: LaunchPlanManager) -> None:
        self.db = db
        self.workflows = workflows
        self.launch_plans = launch_plans

    async def ensure(self, task_id: identifier_pb2.Identifier) -> identifier_pb2.Identifier:
        async with self.db.transaction() as uow:
            task = task_from_row(await uow.tasks.get(task_id))
        template = task.closure.compiled_task.template
        retries = template.metadata.retries.retries if template.metadata.HasField("retries") else None
        wf_template = generated_workflow(task_id, template.interface, retries)
        wf_id = wf_template.id
        with contextlib.suppress(AlreadyExists):
            await self.workflows.create(
                workflow_pb2.WorkflowCreateRequest(id=wf_id, spec=workflow_pb2.WorkflowSpec(template=wf_template))
            )
        lp_id = identifier_pb2.Identifier(
            resource_type=identifier_pb2.LAUNCH_PLAN,
            project=wf_id.project,
            domain=wf_id.domain,
            name=wf_id.name,
            version=wf_id.version,
        )
        with contextlib.suppress(AlreadyExists):
            await self.launch_plans.create(
                launch_plan_pb2.LaunchPlanCreateRequest(
                    id=lp_id, spec=launch_plan_pb2.LaunchPlanSpec(workflow_id=wf_id)
                )
            )
        async with self.db.transaction(write=True) as uow:
            for resource_type in (identifier_pb2.WORKFLOW, identifier_pb2.LAUNCH_PLAN):
                await uow.named_entities.upsert_metadata(
                    resource_type, wf_id.project, wf_id.domain, wf_id.name, "", common_pb2.SYSTEM_GENERATED
                )
        return lp_id
