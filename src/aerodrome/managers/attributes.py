"""Matchable attributes at project, project-domain and workflow level (AP/manager/impl/resources)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from flyteidl.admin import matchable_resource_pb2 as mr

from aerodrome.db.engine import Database
from aerodrome.db.models import ResourceRow
from aerodrome.db.unit_of_work import UnitOfWork
from aerodrome.errors import InvalidArgument, NotFound, missing
from aerodrome.managers.projects import ProjectManager
from aerodrome.managers.validation.enums import known_name

# The oneof field of MatchingAttributes that carries each resource type.
FIELD_TYPES = {
    "task_resource_attributes": mr.TASK_RESOURCE,
    "cluster_resource_attributes": mr.CLUSTER_RESOURCE,
    "execution_queue_attributes": mr.EXECUTION_QUEUE,
    "execution_cluster_label": mr.EXECUTION_CLUSTER_LABEL,
    "quality_of_service": mr.QUALITY_OF_SERVICE_SPECIFICATION,
    "plugin_overrides": mr.PLUGIN_OVERRIDE,
    "workflow_execution_config": mr.WORKFLOW_EXECUTION_CONFIG,
    "cluster_assignment": mr.CLUSTER_ASSIGNMENT,
}
# Levels and their lookup priorities (a launch-plan level, 1000, exists in the reference but has no RPC).
PROJECT, PROJECT_DOMAIN, WORKFLOW = 5, 10, 100
VIEW_CACHE = 4096  # kept views at most (then all are dropped: they are cheap to read again)


@dataclass(frozen=True)
class Target:
    """Which row an attribute request addresses; empty strings are wildcards in lookups."""

    project: str
    domain: str = ""
    workflow: str = ""
    level: int = PROJECT

    @property
    def priority(self) -> int:
        return self.level

    def validate(self) -> None:
        """Every key of the level must be set."""
        if not self.project:
            raise missing("project")
        if self.level >= PROJECT_DOMAIN and not self.domain:
            raise missing("domain")
        if self.level >= WORKFLOW and not self.workflow:
            raise missing("name")

    def describe(self, resource_type: str) -> str:
        """As the reference prints its ResourceID with %+v."""
        return (
            f"{{Project:{self.project} Domain:{self.domain} Workflow:{self.workflow} LaunchPlan: "
            f"ResourceType:{resource_type}}}"
        )


def resource_type_of(attributes: mr.MatchingAttributes) -> str:
    field = attributes.WhichOneof("target")
    if field is None:
        raise missing("matching_attributes")
    return str(mr.MatchableResource.Name(FIELD_TYPES[field]))


def _merge_plugin_overrides(old: mr.MatchingAttributes, new: mr.MatchingAttributes) -> mr.MatchingAttributes:
    """PLUGIN_OVERRIDE updates merge with the stored overrides by task type."""
    merged = {o.task_type: o for o in old.plugin_overrides.overrides}
    merged.update({o.task_type: o for o in new.plugin_overrides.overrides})
    result = mr.MatchingAttributes()
    result.plugin_overrides.overrides.extend(merged[k] for k in sorted(merged))
    return result


class View:
    """Rows read once (``AttributeManager.view``) answering lookups as ``AttributeManager.get`` would. Holds
    plain values, not ORM rows, so that it outlives its transaction (views are kept, see ``view``)."""

    def __init__(self, rows: list[ResourceRow]) -> None:
        # highest priority first
        self.rows = [((row.project, row.domain, row.workflow), row.attributes) for row in rows]

    def get(self, target: Target, *, exact: bool = False) -> mr.MatchingAttributes | None:
        keys = (target.project, target.domain, target.workflow)
        for have, attributes in self.rows:
            if have == keys if exact else all(h in ("", k) for h, k in zip(have, keys, strict=True)):
                return mr.MatchingAttributes.FromString(attributes)  # a copy of its own for each caller
        return None


class AttributeManager:
    """Update, Get and Delete at each level, and ListMatchableAttributes."""

    def __init__(self, db: Database, projects: ProjectManager, *, view_cache_seconds: float = 2.0) -> None:
        self.db = db
        self.projects = projects
        # Views CreateExecution read recently (monotonic expiry), as ``ProjectManager`` keeps project states:
        # every creation reads one, and the read was the biggest part of its request path. An update or
        # delete in this process forgets them all at once (before and after its transaction, and a read that
        # overlapped it is not kept: ``_generation``); another process's is seen within the expiry.
        self._views: dict[tuple[str, str, str, str], tuple[float, View]] = {}
        self._view_seconds = view_cache_seconds
        self._generation = 0

    def _forget_views(self) -> None:
        self._generation += 1
        self._views.clear()

    async def _check_target(self, uow: UnitOfWork, target: Target) -> None:
        target.validate()
        if target.domain:
            await self.projects.check_active(uow, target.project, target.domain)
        else:
            row = await self.projects.check_exists(uow, target.project)
            if row.state != 0:
                raise InvalidArgument(f"project [{target.project}] is not active")

    async def update(self, target: Target, attributes: mr.MatchingAttributes) -> None:
        resource_type = resource_type_of(attributes)
        self._forget_views()
        try:
            await self._update(target, attributes, resource_type)
        finally:
            self._forget_views()

    async def _update(self, target: Target, attributes: mr.MatchingAttributes, resource_type: str) -> None:
        async with self.db.transaction(write=True) as uow:
            await self._check_target(uow, target)
            row = await uow.resources.find_exact(target.project, target.domain, target.workflow, "", resource_type)
            if row is None:
                await uow.resources.add(
                    ResourceRow(
                        project=target.project,
                        domain=target.domain,
                        workflow=target.workflow,
                        launch_plan="",
                        resource_type=resource_type,
                        priority=target.priority,
                        attributes=attributes.SerializeToString(),
                    )
                )
                return
            if resource_type == "PLUGIN_OVERRIDE":
                attributes = _merge_plugin_overrides(mr.MatchingAttributes.FromString(row.attributes), attributes)
            row.attributes = attributes.SerializeToString()

    async def get(self, target: Target, resource_type: int, *, exact: bool = False) -> mr.MatchingAttributes:
        """The most specific row matching the target (exact level only when ``exact``)."""
        name = known_name(mr.MatchableResource, resource_type, "resource_type")
        target.validate()
        async with self.db.transaction() as uow:
            lookup = uow.resources.find_exact if exact else uow.resources.most_specific
            row = await lookup(target.project, target.domain, target.workflow, "", name)
        if row is None:
            raise NotFound(f"Resource [{target.describe(name)}] not found")
        return mr.MatchingAttributes.FromString(row.attributes)

    async def view(self, project: str, domain: str, workflow: str, resource_type: int) -> View:
        """Every row of one type that could match the workflow, read at once, to answer several ``get``s;
        kept for a short while (see ``__init__``). Read in a transaction of its own that begins after
        ``_generation`` was noted, so an update that committed before it is seen and one that overlaps it
        keeps the view from being kept."""
        name = known_name(mr.MatchableResource, resource_type, "resource_type")
        key = (project, domain, workflow, name)
        kept = self._views.get(key)
        if kept is not None and kept[0] > time.monotonic():
            return kept[1]
        generation = self._generation
        async with self.db.transaction() as uow:
            view = View(await uow.resources.candidates(project, domain, workflow, name))
        if generation == self._generation and self._view_seconds > 0:
            if len(self._views) >= VIEW_CACHE:
                self._views.clear()
            self._views[key] = (time.monotonic() + self._view_seconds, view)
        return view

    async def delete(self, target: Target, resource_type: int) -> None:
        name = known_name(mr.MatchableResource, resource_type, "resource_type")
        target.validate()
        self._forget_views()
        try:
            await self._delete(target, name)
        finally:
            self._forget_views()

    async def _delete(self, target: Target, name: str) -> None:
        async with self.db.transaction(write=True) as uow:
            if not await uow.resources.delete_exact(target.project, target.domain, target.workflow, "", name):
                raise NotFound(f"Resource [{target.describe(name)}] not found")

    async def list(self, request: mr.ListMatchableAttributesRequest) -> mr.ListMatchableAttributesResponse:
        name = known_name(mr.MatchableResource, request.resource_type, "resource_type")
        async with self.db.transaction() as uow:
            rows = await uow.resources.list_type(name)
        return mr.ListMatchableAttributesResponse(
            configurations=[
                mr.MatchableAttributesConfiguration(
                    attributes=mr.MatchingAttributes.FromString(r.attributes),
                    project=r.project,
                    domain=r.domain,
                    workflow=r.workflow,
                    launch_plan=r.launch_plan,
                )
                for r in rows
            ]
        )
