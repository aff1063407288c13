"""Workflow registration and reads: requirements, compile, node limit, digest, store."""

from __future__ import annotations

from flyteidl.admin import common_pb2, launch_plan_pb2, workflow_pb2
from flyteidl.core import compiler_pb2, identifier_pb2, tasks_pb2
from flyteidl.core import workflow_pb2 as core_workflow_pb2

from aerodrome.compiler import CompileErrors, LaunchPlanInterface, compile_workflow, workflow_requirements
from aerodrome.compiler.graph import END, START
from aerodrome.compiler.requirements import count_nodes
from aerodrome.compiler.tasks import compile_task
from aerodrome.db.engine import Database
from aerodrome.db.models import WorkflowRow
from aerodrome.db.prototext import compact
from aerodrome.db.transformers.entities import description_row, workflow_from_row
from aerodrome.db.unit_of_work import UnitOfWork
from aerodrome.errors import AdminError, AlreadyExists, InvalidArgument, NotFound, missing
from aerodrome.managers.digest import diff, digest
from aerodrome.managers.listing import list_names, list_versions
from aerodrome.managers.projects import ProjectManager
from aerodrome.managers.storing import insert_or_find
from aerodrome.managers.validation.identifiers import validate_identifier

NESTED_FACTOR = 100  # all nodes, nested and in sub-workflows, may be this many times the top-level limit


def _refusal(
    ident: identifier_pb2.Identifier,
    existing: WorkflowRow,
    closure: compiler_pb2.CompiledWorkflowClosure,
    wf_digest: bytes,
) -> AdminError:
    """The id is taken: identical body → ALREADY_EXISTS, a different one → INVALID_ARGUMENT with the diff."""
    if existing.digest == wf_digest:
        return AlreadyExists("workflow with identical structure already exists")
    stored = compiler_pb2.CompiledWorkflowClosure.FromString(existing.closure)
    return InvalidArgument(
        f"{ident.name} workflow with different structure already exists. "
        f"(Please register a new version of the workflow):\n{diff(stored, closure)}"
    )


class WorkflowManager:
    """CreateWorkflow, GetWorkflow, ListWorkflows, ListWorkflowIds."""

    def __init__(self, db: Database, projects: ProjectManager, *, max_nodes: int) -> None:
        self.db = db
        self.projects = projects
        self.max_nodes = max_nodes

    async def _requirements(
        self,
        template: core_workflow_pb2.WorkflowTemplate,
        sub_workflows: list[core_workflow_pb2.WorkflowTemplate],
        known_tasks: list[compiler_pb2.CompiledTask],
    ) -> tuple[list[compiler_pb2.CompiledTask], list[LaunchPlanInterface]]:
        """The compiled tasks and launch-plan interfaces a template needs (registered ones from the DB)."""
        needs = workflow_requirements(template, sub_workflows)
        known = {compact(t.template.id) for t in known_tasks}
        async with self.db.transaction() as uow:
            missing_ids = [t for t in needs.task_ids if compact(t) not in known]
            tasks = [
                *known_tasks,
                *(compiler_pb2.CompiledTask.FromString(r.closure) for r in await uow.tasks.get_many(missing_ids)),
            ]
            plans = []
            for lp_id in needs.launch_plan_ids:
                closure = launch_plan_pb2.LaunchPlanClosure.FromString((await uow.launch_plans.get(lp_id)).closure)
                plans.append(LaunchPlanInterface(lp_id, closure.expected_inputs, closure.expected_outputs))
        return tasks, plans

    async def _compile(self, request: workflow_pb2.WorkflowCreateRequest) -> compiler_pb2.CompiledWorkflowClosure:
        """Fetch what the workflow needs and compile it; every failure after the project check names it."""
        spec = request.spec
        try:
            async with self.db.transaction() as uow:
                await self.projects.check_active(uow, request.id.project, request.id.domain)
            tasks, plans = await self._requirements(spec.template, list(spec.sub_workflows), [])
            compiled: compiler_pb2.CompiledWorkflowClosure = compile_workflow(
                spec.template, list(spec.sub_workflows), tasks, plans
            )
            return compiled
        except (CompileErrors, NotFound) as exc:
            raise InvalidArgument(f"failed to compile workflow for [{compact(request.id)}] with err: {exc}") from None

    async def compile_dynamic(
        self,
        template: core_workflow_pb2.WorkflowTemplate,
        sub_workflows: list[core_workflow_pb2.WorkflowTemplate],
        tasks: list[tasks_pb2.TaskTemplate],
    ) -> compiler_pb2.CompiledWorkflowClosure:
        """Compile the workflow a dynamic task generated (its tasks come with it; launch plans from the
        registry). Raises InvalidArgument naming the problem."""
        try:
            compiled_tasks, plans = await self._requirements(template, sub_workflows, [compile_task(t) for t in tasks])
            closure: compiler_pb2.CompiledWorkflowClosure = compile_workflow(
                template, sub_workflows, compiled_tasks, plans
            )
            return closure
        except (CompileErrors, NotFound) as exc:
            raise InvalidArgument(f"malformed dynamic workflow: {exc}") from None

    def _check_size(self, request: workflow_pb2.WorkflowCreateRequest) -> None:
        """Top-level nodes within ``max_nodes``; every node (nested in branches and arrays, and in the
        sub-workflows) within a hundred times that."""
        if not self.max_nodes:
            return
        template = request.spec.template
        top = sum(1 for n in template.nodes if n.id not in (START, END))
        if top > self.max_nodes:
            raise InvalidArgument(
                f"number of nodes in workflow [{compact(request.id)}] exceeds limit ({top} > {self.max_nodes})"
            )
        total, cap = count_nodes([template, *request.spec.sub_workflows]), self.max_nodes * NESTED_FACTOR
        if total > cap:
            raise InvalidArgument(
                f"workflow [{compact(request.id)}] has {total} nodes with its branches, arrays and sub-workflows, "
                f"more than {cap} ({NESTED_FACTOR} x AERODROME_REGISTRATION_MAX_WORKFLOW_NODES)"
            )

    async def create(self, request: workflow_pb2.WorkflowCreateRequest) -> workflow_pb2.WorkflowCreateResponse:
        validate_identifier(request.id, identifier_pb2.WORKFLOW, present=request.HasField("id"))
        if not request.HasField("spec") or not request.spec.HasField("template"):
            raise missing("spec")
        request.spec.template.id.CopyFrom(request.id)
        self._check_size(request)  # before compiling: a 100,000-node workflow took 4 s to be refused after it
        closure = await self._compile(request)
        wf_digest = digest(closure)
        ident = request.id
        existing = await self._store(request, closure, wf_digest)
        if existing is not None:
            raise _refusal(ident, existing, closure, wf_digest)
        return workflow_pb2.WorkflowCreateResponse()

    async def _store(
        self,
        request: workflow_pb2.WorkflowCreateRequest,
        closure: compiler_pb2.CompiledWorkflowClosure,
        wf_digest: bytes,
    ) -> WorkflowRow | None:
        """Insert the workflow, or return the row already stored under its id."""
        i = request.id
        return await insert_or_find(
            self.db,
            lambda uow: uow.workflows.find(i.project, i.domain, i.name, i.version),
            lambda uow: self._insert(uow, request, closure, wf_digest),
        )

    @staticmethod
    async def _insert(
        uow: UnitOfWork,
        request: workflow_pb2.WorkflowCreateRequest,
        closure: compiler_pb2.CompiledWorkflowClosure,
        wf_digest: bytes,
    ) -> None:
        ident = request.id
        description = request.spec.description if request.spec.HasField("description") else None
        await uow.workflows.add(
            WorkflowRow(
                project=ident.project,
                domain=ident.domain,
                name=ident.name,
                version=ident.version,
                typed_interface=request.spec.template.interface.SerializeToString(),
                closure=closure.SerializeToString(),
                digest=wf_digest,
                short_description=description.short_description if description else "",
            )
        )
        if description is not None:
            await uow.descriptions.add(description_row(ident, description))

    async def get(self, request: common_pb2.ObjectGetRequest) -> workflow_pb2.Workflow:
        validate_identifier(request.id, identifier_pb2.WORKFLOW, present=request.HasField("id"))
        async with self.db.transaction() as uow:
            return workflow_from_row(await uow.workflows.get(request.id))

    async def list(self, request: common_pb2.ResourceListRequest) -> workflow_pb2.WorkflowList:
        items, token = await list_versions(self.db, lambda u: u.workflows, request, "ListWorkflows", workflow_from_row)
        return workflow_pb2.WorkflowList(workflows=items, token=token)

    async def list_ids(
        self, request: common_pb2.NamedEntityIdentifierListRequest
    ) -> common_pb2.NamedEntityIdentifierList:
        return await list_names(self.db, lambda u: u.workflows, request, "ListWorkflowIds")
