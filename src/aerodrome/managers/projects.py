"""Projects and domains: registration, updates, listing, and the project/domain check every write uses."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, cast

from flyteidl.admin import common_pb2, project_pb2

from aerodrome.db.engine import Database
from aerodrome.db.models import ProjectRow
from aerodrome.db.pagination import next_token, page
from aerodrome.db.repositories.projects import PROJECT_COLUMNS
from aerodrome.db.unit_of_work import UnitOfWork
from aerodrome.errors import AlreadyExists, InvalidArgument, NotFound, missing
from aerodrome.managers.validation.labels import dns_label_error, validate_labels

ACTIVE = project_pb2.Project.ACTIVE


def _labels(project: project_pb2.Project) -> bytes:
    return project.labels.SerializeToString() if project.HasField("labels") else b""


class ProjectManager:
    """Owns the project rules; domains are system wide and come from settings."""

    def __init__(self, db: Database, domains: Sequence[str], *, active_cache_seconds: float = 2.0) -> None:
        self.db = db
        self.domains = list(domains)
        # Projects checked ACTIVE recently (monotonic expiry). Registration checks the project on every
        # call; this saves a query per call. Local updates invalidate at once; another process's update
        # is seen within ``active_cache_seconds``.
        self._active_until: dict[str, float] = {}
        self._cache_seconds = active_cache_seconds

    def _domains(self) -> list[project_pb2.Domain]:
        return [project_pb2.Domain(id=d, name=d) for d in self.domains]

    def _to_proto(self, row: ProjectRow) -> project_pb2.Project:
        project = project_pb2.Project(
            id=row.identifier,
            name=row.name,
            description=row.description,
            state=cast(Any, row.state),
            domains=self._domains(),
        )
        if row.labels:
            project.labels.ParseFromString(row.labels)
        return project

    @staticmethod
    def _validate(project: project_pb2.Project) -> None:
        if not project.id:
            raise missing("project_id")
        reason = dns_label_error(project.id)
        if reason:
            raise InvalidArgument(f"invalid project id [{project.id}]: {reason}")
        if len(project.name) > 64:
            raise InvalidArgument("project_name cannot exceed 64 characters")
        if len(project.description) > 300:
            raise InvalidArgument("project_description cannot exceed 300 characters")
        if project.HasField("labels"):
            validate_labels(project.labels.values)
        if project.domains:
            raise InvalidArgument(
                "Domains are currently only set system wide. Please retry without domains included in your request."
            )

    async def register(self, request: project_pb2.ProjectRegisterRequest) -> project_pb2.ProjectRegisterResponse:
        if not request.HasField("project"):
            raise missing("project")
        project = request.project
        if not project.name:
            raise missing("project_name")
        self._validate(project)
        async with self.db.transaction(write=True) as uow:
            if await uow.projects.find(project.id):
                raise AlreadyExists(f"project [{project.id}] already exists")
            await uow.projects.add(
                ProjectRow(
                    identifier=project.id,
                    name=project.name,
                    description=project.description,
                    labels=_labels(project),
                    state=project.state,
                )
            )
        return project_pb2.ProjectRegisterResponse()

    async def update(self, project: project_pb2.Project) -> project_pb2.ProjectUpdateResponse:
        if not project.id:
            raise missing("project_id")
        self._active_until.pop(project.id, None)
        async with self.db.transaction(write=True) as uow:
            row = await uow.projects.get(project.id)
            self._validate(project)
            # Only non-empty fields overwrite (as the reference); state is always written.
            if project.name:
                row.name = project.name
            if project.description:
                row.description = project.description
            if project.HasField("labels"):
                row.labels = _labels(project)
            row.state = project.state
        return project_pb2.ProjectUpdateResponse()

    async def get(self, request: project_pb2.ProjectGetRequest) -> project_pb2.Project:
        if not request.id:
            raise missing("project_id")
        async with self.db.transaction() as uow:
            return self._to_proto(await uow.projects.get(request.id))

    async def list(self, request: project_pb2.ProjectListRequest) -> project_pb2.Projects:
        sort = (
            request.sort_by
            if request.HasField("sort_by")
            else common_pb2.Sort(key="identifier", direction=common_pb2.Sort.ASCENDING)
        )
        pg = page(request.token, request.limit, "ListProjects", sort, PROJECT_COLUMNS, limit_required=False)
        async with self.db.transaction() as uow:
            rows = await uow.projects.list_rows(request.filters, pg, hide_archived=not request.filters)
        return project_pb2.Projects(
            projects=[self._to_proto(r) for r in rows], token=next_token(pg.offset, pg.limit, len(rows))
        )

    def get_domains(self) -> project_pb2.GetDomainsResponse:
        return project_pb2.GetDomainsResponse(domains=self._domains())

    async def ensure(self, identifiers: Sequence[str]) -> None:
        """Create the bootstrap projects that do not exist yet (idempotent, safe to race)."""
        async with self.db.transaction(write=True) as uow:
            existing = await uow.projects.identifiers(identifiers)
            for identifier in identifiers:
                if identifier not in existing:
                    await uow.projects.add(ProjectRow(identifier=identifier, name=identifier, description=""))

    async def check_active(self, uow: UnitOfWork, project: str, domain: str) -> None:
        """The project exists and is ACTIVE, and the domain is configured (ValidateProjectAndDomain)."""
        if not self._cached_active(project):
            self._check_row(project, domain, await uow.projects.find(project))
        self._check_domain(domain)

    async def ensure_active(self, project: str, domain: str) -> None:
        """``check_active`` in a read of its own, for writes that take no unit of work (as the reference,
        which validates the project before it creates the task); no read while the project is cached."""
        if not self._cached_active(project):
            async with self.db.transaction() as uow:
                row = await uow.projects.find(project)
            self._check_row(project, domain, row)
        self._check_domain(domain)

    def _cached_active(self, project: str) -> bool:
        return self._active_until.get(project, 0.0) > time.monotonic()

    def _check_row(self, project: str, domain: str, row: ProjectRow | None) -> None:
        if row is None:
            raise InvalidArgument(
                f"failed to validate that project [{project}] and domain [{domain}] are registered, "
                f"err: [project [{project}] not found]"
            )
        if row.state != ACTIVE:
            raise InvalidArgument(f"project [{project}] is not active")
        self._active_until[project] = time.monotonic() + self._cache_seconds

    def _check_domain(self, domain: str) -> None:
        if domain not in self.domains:
            raise InvalidArgument(f"domain [{domain}] is unrecognized by system")

    async def check_exists(self, uow: UnitOfWork, project: str) -> ProjectRow:
        """The project exists (NotFound otherwise)."""
        row = await uow.projects.find(project)
        if row is None:
            raise NotFound(f"project [{project}] not found")
        return row
