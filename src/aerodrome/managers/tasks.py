"""Task registration and reads: validate, compile, digest, identical-vs-different, store."""

from __future__ import annotations

from flyteidl.admin import common_pb2, task_pb2
from flyteidl.core import compiler_pb2, identifier_pb2

from aerodrome.compiler import CompileErrors, compile_task
from aerodrome.db.batching import InsertBatcher
from aerodrome.db.engine import Database
from aerodrome.db.inserts import NewRow, table_of
from aerodrome.db.models import TaskRow
from aerodrome.db.transformers.entities import description_values, task_from_row
from aerodrome.errors import AlreadyExists, InvalidArgument, missing
from aerodrome.managers.digest import diff, serialized_with_digest
from aerodrome.managers.listing import list_names, list_versions
from aerodrome.managers.projects import ProjectManager
from aerodrome.managers.validation.identifiers import validate_identifier
from aerodrome.managers.validation.tasks import validate_template

TASKS = table_of(TaskRow)


class TaskManager:
    """CreateTask, GetTask, ListTasks, ListTaskIds."""

    def __init__(self, db: Database, projects: ProjectManager, writer: InsertBatcher) -> None:
        self.db = db
        self.projects = projects
        self.writer = writer

    async def create(self, request: task_pb2.TaskCreateRequest) -> task_pb2.TaskCreateResponse:
        validate_identifier(request.id, identifier_pb2.TASK, present=request.HasField("id"))
        if not request.HasField("spec") or not request.spec.HasField("template"):
            raise missing("spec")
        template = request.spec.template
        validate_template(template)
        template.id.CopyFrom(request.id)
        try:
            compiled = compile_task(template)
        except CompileErrors as exc:
            raise InvalidArgument(f"task failed compilation with {exc}") from None
        closure, task_digest = serialized_with_digest(compiled)
        ident = request.id
        has_description = request.spec.HasField("description")
        short = request.spec.description.short_description if has_description else ""
        rows: list[NewRow] = [
            (
                TASKS,
                {
                    "project": ident.project,
                    "domain": ident.domain,
                    "name": ident.name,
                    "version": ident.version,
                    "closure": closure,
                    "digest": task_digest,
                    "type": template.type,
                    "short_description": short,
                },
            )
        ]
        if has_description:
            rows.append(description_values(ident, request.spec.description))
        await self.projects.ensure_active(ident.project, ident.domain)
        try:
            # Insert first, as the reference does: the common case (a new version) costs no extra read.
            await self.writer.insert(rows)
        except AlreadyExists:
            await self._explain_conflict(ident, compiled, task_digest)
            raise
        return task_pb2.TaskCreateResponse()

    async def _explain_conflict(
        self, ident: identifier_pb2.Identifier, compiled: compiler_pb2.CompiledTask, task_digest: bytes
    ) -> None:
        """Identical body → ALREADY_EXISTS; a different body → INVALID_ARGUMENT with the diff."""
        async with self.db.transaction() as uow:
            existing = await uow.tasks.find(ident.project, ident.domain, ident.name, ident.version)
        if existing is None:
            return
        if existing.digest == task_digest:
            raise AlreadyExists("task with identical structure already exists")
        stored = compiler_pb2.CompiledTask.FromString(existing.closure)
        raise InvalidArgument(
            f"{ident.name} task with different structure already exists. "
            f"(Please register a new version of the task):\n{diff(stored, compiled)}"
        )

    async def get(self, request: common_pb2.ObjectGetRequest) -> task_pb2.Task:
        async with self.db.transaction() as uow:
            return task_from_row(await uow.tasks.get(request.id))

    async def list(self, request: common_pb2.ResourceListRequest) -> task_pb2.TaskList:
        tasks, token = await list_versions(self.db, lambda u: u.tasks, request, "ListTasks", task_from_row)
        return task_pb2.TaskList(tasks=tasks, token=token)

    async def list_ids(
        self, request: common_pb2.NamedEntityIdentifierListRequest
    ) -> common_pb2.NamedEntityIdentifierList:
        return await list_names(self.db, lambda u: u.tasks, request, "ListTaskIds")
