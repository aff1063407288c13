"""Executions: create (from a launch plan, or a task through its generated launch plan), relaunch,
terminate and archive. Reads live in ``execution_queries.py``.

Creating checks the request in the reference's order, resolves inputs and execution config, stores the
inputs under their content's key, then stores the execution row and its tags in one insert (group
commit: concurrent creations share a transaction; the unique name is taken there) and nudges the engines,
which resolve the plan and write the first events after the answer. Phase changes go through the EventManager.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from flyteidl.admin import event_pb2 as admin_event_pb2
from flyteidl.admin import execution_pb2, launch_plan_pb2, matchable_resource_pb2
from flyteidl.core import execution_pb2 as core_exec
from flyteidl.core import identifier_pb2, literals_pb2
from flyteidl.event import event_pb2

from aerodrome.blobstore.inputs import StoredInputs
from aerodrome.blobstore.store import BlobStore
from aerodrome.db.batching import InsertBatcher
from aerodrome.db.engine import Database
from aerodrome.db.inserts import new_row
from aerodrome.db.models import ExecutionProviderRow, ExecutionRow, ExecutionTagRow, LaunchPlanRow
from aerodrome.db.prototext import compact
from aerodrome.db.transformers.entities import launch_plan_from_row
from aerodrome.db.unit_of_work import UnitOfWork
from aerodrome.errors import AlreadyExists, AlreadyInTerminalState, NotFound, missing
from aerodrome.ids import execution_name
from aerodrome.managers.attributes import PROJECT, WORKFLOW, AttributeManager, Target, View
from aerodrome.managers.events import EventManager
from aerodrome.managers.execution_config import Source, resolve
from aerodrome.managers.execution_rows import execution_row, now_timestamp, tag_rows
from aerodrome.managers.projects import ProjectManager
from aerodrome.managers.provider_resolution import ProviderResolver
from aerodrome.managers.single_task import SingleTaskLauncher
from aerodrome.managers.validation.executions import resolve_inputs, validate_literal_map, validate_request
from aerodrome.managers.validation.labels import validate_labels
from aerodrome.managers.validation.launch_plans import validate_notifications
from aerodrome.phases.rules import terminal_detail
from aerodrome.phases.tables import WF, WORKFLOW_TERMINAL

Identifier = identifier_pb2.WorkflowExecutionIdentifier

PLAN_CACHE = 1024


class Runner(Protocol):
    """What the engine offers the managers."""

    async def submit(self, execution: Identifier) -> None: ...

    async def terminate(self, execution: Identifier, cause: str) -> None: ...


def _exists(ident: Identifier) -> AlreadyExists:
    return AlreadyExists(f"value with matching already exists (execution {compact(ident)})")


class ExecutionManager:
    """CreateExecution, RelaunchExecution, TerminateExecution, UpdateExecution."""

    def __init__(
        self,
        db: Database,
        store: BlobStore,
        projects: ProjectManager,
        attributes: AttributeManager,
        single_task: SingleTaskLauncher,
        events: EventManager,
        runner: Runner,
        providers: ProviderResolver | None = None,
        writer: InsertBatcher | None = None,
    ) -> None:
        self.db = db
        self.store = store
        self.projects = projects
        self.attributes = attributes
        self.single_task = single_task
        self.events = events
        self.runner = runner
        self.providers = providers
        self.writer = writer or InsertBatcher(db)
        self.inputs = StoredInputs(store)
        self._plans: dict[tuple[str, str, str, str], tuple[LaunchPlanRow, launch_plan_pb2.LaunchPlan]] = {}

    async def _matchable_configs(self, ident: Identifier, workflow: str) -> tuple[list[Source], View]:
        """The most specific WORKFLOW_EXECUTION_CONFIG, then the project-level one (as the reference), from
        one read (kept a moment: ``AttributeManager.view``) that also answers the provider resolution's
        project-domain lookup."""
        kind = matchable_resource_pb2.WORKFLOW_EXECUTION_CONFIG
        view = await self.attributes.view(ident.project, ident.domain, workflow, kind)
        targets = (Target(ident.project, ident.domain, workflow, level=WORKFLOW), Target(ident.project, level=PROJECT))
        found = [view.get(target, exact=target.level == PROJECT) for target in targets]
        return [f.workflow_execution_config for f in found if f is not None], view

    async def _launch_plan(self, ident: identifier_pb2.Identifier) -> tuple[LaunchPlanRow, launch_plan_pb2.LaunchPlan]:
        """A launch plan version's row and spec (immutable once registered, so kept in memory; its state,
        which may change, is not used here)."""
        key = (ident.project, ident.domain, ident.name, ident.version)
        found = self._plans.get(key)
        if found is None:
            async with self.db.transaction() as uow:
                row = await uow.launch_plans.get(ident)
                found = self._plans[key] = (row, launch_plan_from_row(row))
            if len(self._plans) > PLAN_CACHE:
                del self._plans[next(iter(self._plans))]
        return found

    async def _parent(self, uow: UnitOfWork, spec: execution_pb2.ExecutionSpec, row: ExecutionRow) -> None:
        """A launch-plan node's child points at its parent node execution (which must exist)."""
        if not spec.metadata.HasField("parent_node_execution"):
            return
        parent = spec.metadata.parent_node_execution
        node = await uow.node_executions.find(parent.execution_id, parent.node_id)
        if node is None:
            raise NotFound(f"missing entity of type node execution with identifier {compact(parent)}")
        row.parent_node_execution_id = node.id
        row.source_execution_id = row.source_execution_id or node.execution_id

    async def create(
        self,
        request: execution_pb2.ExecutionCreateRequest,
        *,
        source_execution_id: int | None = None,
    ) -> execution_pb2.ExecutionCreateResponse:
        validate_request(request)
        user_inputs = request.inputs if request.inputs.literals else request.spec.inputs
        validate_literal_map(user_inputs)
        spec = execution_pb2.ExecutionSpec()
        spec.CopyFrom(request.spec)
        spec.ClearField("inputs")
        validate_labels(spec.labels.values)
        validate_notifications(list(spec.notifications.notifications))
        reference = spec.launch_plan
        task_id: int | None = None
        if reference.resource_type == identifier_pb2.TASK:
            async with self.db.transaction() as uow:
                await self.projects.check_active(uow, request.project, request.domain)
                task_id = (await uow.tasks.get(reference)).id
            reference = await self.single_task.ensure(reference)
        ident = Identifier(project=request.project, domain=request.domain, name=request.name or execution_name())
        # The reference's order of checks; what is kept in memory (project states, launch plan versions,
        # attribute views) is read only when it is not, so a creation usually reads nothing before its insert.
        await self.projects.ensure_active(request.project, request.domain)
        lp_row, plan = await self._launch_plan(reference)
        inputs = resolve_inputs(user_inputs, plan.spec.fixed_inputs, plan.closure.expected_inputs)
        configs, view = await self._matchable_configs(ident, plan.spec.workflow_id.name)
        resolve(spec, [plan.spec, *configs])
        # Providers (job conf / default attribute) are resolved and frozen per task node with the execution.
        frozen = (
            (await self.providers.resolve(ident.project, ident.domain, spec, lp_row.workflow_id, view)).rows(
                ident.project, ident.domain, ident.name
            )
            if self.providers is not None
            else []
        )
        row = execution_row(ident, spec, plan, lp_row, task_id, source_execution_id)
        if request.name or spec.metadata.HasField("parent_node_execution"):
            async with self.db.transaction() as uow:
                if request.name and await uow.executions.find(ident.project, ident.domain, ident.name) is not None:
                    raise _exists(ident)  # before writing anything (generated names are unique; the insert checks)
                await self._parent(uow, spec, row)
        await self._store(row, inputs, user_inputs, tag_rows(ident, spec), frozen)
        try:
            await self.runner.submit(ident)
        except Exception as exc:  # the execution is kept, FAILED with the reason, as the reference does
            await self._fail(ident, f"failed to start the execution: {exc}")
        return execution_pb2.ExecutionCreateResponse(id=ident)

    async def _store(
        self,
        row: ExecutionRow,
        inputs: literals_pb2.LiteralMap,
        user_inputs: literals_pb2.LiteralMap,
        tags: list[ExecutionTagRow],
        frozen: list[ExecutionProviderRow],
    ) -> None:
        """The inputs first, durable under their content's key (``blobstore/inputs.py``: inputs already
        stored cost no write), then the row (which alone makes the execution visible, to the engines too) and
        its tags in one insert shared with concurrent creations (group commit). When the launch plan added no
        input, the full inputs are the user's: one object is both."""
        project, domain = row.execution_project, row.execution_domain
        if inputs == user_inputs:  # nothing added by the launch plan
            row.inputs_uri = row.user_inputs_uri = await self.inputs.put(project, domain, user_inputs)
        else:  # two writes at once: concurrent fsyncs share the file system's journal commit
            row.inputs_uri, row.user_inputs_uri = await asyncio.gather(
                self.inputs.put(project, domain, inputs), self.inputs.put(project, domain, user_inputs)
            )
        try:
            await self.writer.insert([new_row(r) for r in (row, *tags, *frozen)])
        except AlreadyExists:  # the objects stay: they are immutable, and another execution may share them
            raise _exists(Identifier(project=project, domain=domain, name=row.execution_name)) from None

    async def _fail(self, ident: Identifier, message: str) -> None:
        ts = now_timestamp()
        await self.events.record_workflow_event(
            admin_event_pb2.WorkflowExecutionEventRequest(
                event=event_pb2.WorkflowExecutionEvent(
                    execution_id=ident,
                    phase=WF.FAILED,
                    occurred_at=ts,
                    producer_id="admin",
                    error=core_exec.ExecutionError(
                        code="SubmissionFailed", message=message, kind=core_exec.ExecutionError.SYSTEM
                    ),
                )
            )
        )

    async def relaunch(self, request: execution_pb2.ExecutionRelaunchRequest) -> execution_pb2.ExecutionCreateResponse:
        """Same launch plan version, the original's user inputs, ``overwrite_cache`` from the request."""
        async with self.db.transaction() as uow:
            original = await uow.executions.get(request.id)
        spec = execution_pb2.ExecutionSpec.FromString(original.spec)
        spec.metadata.mode = execution_pb2.ExecutionMetadata.RELAUNCH
        spec.metadata.reference_execution.CopyFrom(request.id)
        spec.overwrite_cache = request.overwrite_cache
        user_inputs = await self.store.read_proto(original.user_inputs_uri, literals_pb2.LiteralMap)
        return await self.create(
            execution_pb2.ExecutionCreateRequest(
                project=request.id.project, domain=request.id.domain, name=request.name, spec=spec, inputs=user_inputs
            ),
            source_execution_id=original.id,
        )

    async def recover(self, request: execution_pb2.ExecutionRecoverRequest) -> execution_pb2.ExecutionCreateResponse:
        """A new execution of the same launch plan version and inputs that reuses the outputs of every node
        that succeeded in the original and runs the rest (the engine looks nodes up by their ids)."""
        if not request.HasField("id"):
            raise missing("id")
        async with self.db.transaction() as uow:
            original = await uow.executions.get(request.id)
        spec = execution_pb2.ExecutionSpec.FromString(original.spec)
        spec.metadata.mode = execution_pb2.ExecutionMetadata.RECOVERED
        spec.metadata.reference_execution.CopyFrom(request.id)
        if request.metadata.HasField("parent_node_execution"):
            spec.metadata.parent_node_execution.CopyFrom(request.metadata.parent_node_execution)
        user_inputs = await self.store.read_proto(original.user_inputs_uri, literals_pb2.LiteralMap)
        return await self.create(
            execution_pb2.ExecutionCreateRequest(
                project=request.id.project, domain=request.id.domain, name=request.name, spec=spec, inputs=user_inputs
            ),
            source_execution_id=original.id,
        )

    async def terminate(
        self, request: execution_pb2.ExecutionTerminateRequest
    ) -> execution_pb2.ExecutionTerminateResponse:
        """ABORTING now (with who and why); the engine stops the work and reports ABORTED."""
        if not request.HasField("id"):
            raise missing("execution_id")
        ident = request.id
        recorded = None
        async with self.db.transaction(write=True) as uow:
            row = await uow.executions.get_for_update(ident)
            phase = WF.Phase.Value(row.phase)
            if phase in WORKFLOW_TERMINAL:
                raise AlreadyInTerminalState(
                    "Cannot abort an already terminated workflow execution", details=terminal_detail(row.phase)
                )
            closure = execution_pb2.ExecutionClosure.FromString(row.closure)
            closure.abort_metadata.cause = request.cause
            closure.abort_metadata.principal = execution_pb2.ExecutionSpec.FromString(row.spec).metadata.principal
            row.abort_cause = request.cause
            row.closure = closure.SerializeToString()
            if phase != WF.ABORTING:
                # In the same transaction as the check above: the engine cannot complete the execution in
                # between (it would then be SUCCEEDED with an abort cause, and the caller told a phase error).
                ts = now_timestamp()
                event = event_pb2.WorkflowExecutionEvent(
                    execution_id=ident, phase=WF.ABORTING, occurred_at=ts, producer_id="admin"
                )
                recorded = self.events.apply_workflow_event(uow, row, event)
        if recorded is not None:
            self.events.tell(recorded)
        await self.runner.terminate(ident, request.cause)
        return execution_pb2.ExecutionTerminateResponse()

    async def update(self, request: execution_pb2.ExecutionUpdateRequest) -> execution_pb2.ExecutionUpdateResponse:
        """Archive or unarchive (state only; allowed in any phase)."""
        ts = now_timestamp()
        async with self.db.transaction(write=True) as uow:
            row = await uow.executions.get(request.id)
            closure = execution_pb2.ExecutionClosure.FromString(row.closure)
            closure.state_change_details.CopyFrom(
                execution_pb2.ExecutionStateChangeDetails(state=request.state, occurred_at=ts, principal="")
            )
            row.state = int(request.state)
            row.closure = closure.SerializeToString()
        return execution_pb2.ExecutionUpdateResponse()
