"""Launch plans: create (expected inputs, schedule checks, digest), reads, and ACTIVE/INACTIVE state."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from flyteidl.admin import common_pb2, launch_plan_pb2
from flyteidl.core import identifier_pb2, interface_pb2

from aerodrome.compiler import expected_launch_plan_inputs, validate_default_inputs
from aerodrome.db.engine import Database
from aerodrome.db.models import LaunchPlanRow
from aerodrome.db.pagination import next_token, page
from aerodrome.db.prototext import compact
from aerodrome.db.transformers.entities import launch_plan_from_row
from aerodrome.errors import AdminError, AlreadyExists, InvalidArgument, NotFound, missing
from aerodrome.managers.digest import diff, digest
from aerodrome.managers.listing import list_names, list_versions, sort_of
from aerodrome.managers.projects import ProjectManager
from aerodrome.managers.storing import insert_or_find
from aerodrome.managers.validation.identifiers import validate_identifier, validate_named_identifier
from aerodrome.managers.validation.launch_plans import has_schedule, schedule_type, validate_schedule, validate_spec

ACTIVE = launch_plan_pb2.ACTIVE
INACTIVE = launch_plan_pb2.INACTIVE


def _refusal(existing: LaunchPlanRow, plan: launch_plan_pb2.LaunchPlan, lp_digest: bytes) -> AdminError:
    """The id is taken: identical body → ALREADY_EXISTS, a different one → INVALID_ARGUMENT with the diff."""
    if existing.digest == lp_digest:
        return AlreadyExists("launch plan with identical structure already exists")
    stored = launch_plan_from_row(existing)
    stored.closure.ClearField("state")
    stored.closure.ClearField("created_at")
    stored.closure.ClearField("updated_at")
    return InvalidArgument(
        f"{plan.id.name} launch plan with different structure already exists. "
        f"(Please register a new version of the launch plan):\n{diff(stored, plan)}"
    )


class LaunchPlanManager:
    """CreateLaunchPlan, Get/GetActive/List/ListActive/ListIds and UpdateLaunchPlan."""

    def __init__(self, db: Database, projects: ProjectManager) -> None:
        self.db = db
        self.projects = projects
        self._schedule_watchers: list[Callable[[], None]] = []

    def watch_schedules(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after every committed activation or deactivation (the scheduler wakes up at
        once instead of at its next poll). It must be quick and must not raise."""
        self._schedule_watchers.append(callback)

    async def create(
        self, request: launch_plan_pb2.LaunchPlanCreateRequest
    ) -> launch_plan_pb2.LaunchPlanCreateResponse:
        if not request.HasField("spec"):
            raise missing("spec")
        spec = request.spec
        validate_identifier(spec.workflow_id, identifier_pb2.WORKFLOW, present=spec.HasField("workflow_id"))
        validate_identifier(request.id, identifier_pb2.LAUNCH_PLAN, present=request.HasField("id"))
        async with self.db.transaction() as uow:
            workflow = await uow.workflows.get(spec.workflow_id)
            await self.projects.check_active(uow, request.id.project, request.id.domain)
        validate_spec(spec)
        validate_default_inputs(spec.default_inputs)
        wf_interface = interface_pb2.TypedInterface.FromString(workflow.typed_interface)
        expected = expected_launch_plan_inputs(wf_interface, spec.default_inputs, spec.fixed_inputs)
        schedule = spec.entity_metadata.schedule
        if spec.entity_metadata.HasField("schedule"):
            validate_schedule(schedule, expected)
        spec.default_inputs.CopyFrom(expected)
        plan = launch_plan_pb2.LaunchPlan(
            id=request.id,
            spec=spec,
            closure=launch_plan_pb2.LaunchPlanClosure(expected_inputs=expected, expected_outputs=wf_interface.outputs),
        )
        lp_digest = digest(plan)
        existing = await self._store(plan, workflow.id, lp_digest)
        if existing is not None:
            raise _refusal(existing, plan, lp_digest)
        return launch_plan_pb2.LaunchPlanCreateResponse()

    async def _store(
        self, plan: launch_plan_pb2.LaunchPlan, workflow_id: int, lp_digest: bytes
    ) -> LaunchPlanRow | None:
        """Insert the launch plan (INACTIVE), or return the row already stored under its id."""
        i = plan.id
        row = LaunchPlanRow(
            project=i.project,
            domain=i.domain,
            name=i.name,
            version=i.version,
            spec=plan.spec.SerializeToString(),
            workflow_id=workflow_id,
            closure=plan.closure.SerializeToString(),
            state=INACTIVE,
            digest=lp_digest,
            schedule_type=schedule_type(plan.spec),
        )
        return await insert_or_find(
            self.db,
            lambda uow: uow.launch_plans.find(i.project, i.domain, i.name, i.version),
            lambda uow: uow.launch_plans.add(row),
        )

    async def get(self, request: common_pb2.ObjectGetRequest) -> launch_plan_pb2.LaunchPlan:
        validate_identifier(request.id, identifier_pb2.LAUNCH_PLAN, present=request.HasField("id"))
        async with self.db.transaction() as uow:
            return launch_plan_from_row(await uow.launch_plans.get(request.id))

    async def get_active(self, request: launch_plan_pb2.ActiveLaunchPlanRequest) -> launch_plan_pb2.LaunchPlan:
        validate_named_identifier(request.id)
        i = request.id
        async with self.db.transaction() as uow:
            row = await uow.launch_plans.find_active(i.project, i.domain, i.name)
        if row is None:
            raise NotFound(f"No active launch plan could be found: {i.project}:{i.domain}:{i.name}")
        return launch_plan_from_row(row)

    async def list(self, request: common_pb2.ResourceListRequest) -> launch_plan_pb2.LaunchPlanList:
        items, token = await list_versions(
            self.db, lambda u: u.launch_plans, request, "ListLaunchPlans", launch_plan_from_row
        )
        return launch_plan_pb2.LaunchPlanList(launch_plans=items, token=token)

    async def list_active(self, request: launch_plan_pb2.ActiveLaunchPlanListRequest) -> launch_plan_pb2.LaunchPlanList:
        validate_named_identifier(
            common_pb2.NamedEntityIdentifier(project=request.project, domain=request.domain), name=False
        )
        async with self.db.transaction() as uow:
            repo = uow.launch_plans
            pg = page(request.token, request.limit, "ListActiveLaunchPlans", sort_of(request), repo.sort_columns())
            rows = await repo.list_rows(
                [*repo.scope(request.project, request.domain), LaunchPlanRow.state == ACTIVE], "", pg
            )
        return launch_plan_pb2.LaunchPlanList(
            launch_plans=[launch_plan_from_row(r) for r in rows],
            token=next_token(pg.offset, pg.limit, len(rows)),
        )

    async def list_ids(
        self, request: common_pb2.NamedEntityIdentifierListRequest
    ) -> common_pb2.NamedEntityIdentifierList:
        return await list_names(self.db, lambda u: u.launch_plans, request, "ListLaunchPlanIds")

    async def update(
        self, request: launch_plan_pb2.LaunchPlanUpdateRequest
    ) -> launch_plan_pb2.LaunchPlanUpdateResponse:
        """Deactivate one version, or activate it and deactivate the formerly active one, atomically."""
        if request.state not in (ACTIVE, INACTIVE):
            raise InvalidArgument(
                f"Unrecognized launch plan state {request.state} for update for launch plan [{compact(request.id)}]"
            )
        i = request.id
        async with self.db.transaction(write=True) as uow:
            # Every version of the name is locked first (PostgreSQL): concurrent activations of different
            # versions then run one after the other, each seeing the previous one's ACTIVE version.
            await uow.launch_plans.lock_name(i.project, i.domain, i.name)
            row = await uow.launch_plans.get(i)
            scheduled = has_schedule(launch_plan_pb2.LaunchPlanSpec.FromString(row.spec).entity_metadata.schedule)
            if request.state == ACTIVE:
                current = await uow.launch_plans.find_active(i.project, i.domain, i.name)
                if current is not None and current.id != row.id:
                    await uow.launch_plans.set_state(current.id, INACTIVE)
                # The schedule moves with the active version, in this same transaction (atomic switch).
                if scheduled:
                    await uow.schedules.activate(i.project, i.domain, i.name, row.id, datetime.now(UTC))
                else:
                    await uow.schedules.deactivate(i.project, i.domain, i.name)
            else:
                await uow.schedules.deactivate(i.project, i.domain, i.name, launch_plan_id=row.id)
            await uow.launch_plans.set_state(row.id, request.state)
        for callback in self._schedule_watchers:
            callback()
        return launch_plan_pb2.LaunchPlanUpdateResponse()
