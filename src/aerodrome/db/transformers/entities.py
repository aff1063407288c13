"""Pure conversions between rows and flyteidl messages for registered entities."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from flyteidl.admin import description_entity_pb2, launch_plan_pb2, task_pb2, workflow_pb2
from flyteidl.core import compiler_pb2, identifier_pb2
from google.protobuf import timestamp_pb2
from sqlalchemy import Table

from aerodrome.db.inserts import table_of
from aerodrome.db.models import DescriptionEntityRow, LaunchPlanRow, TaskRow, WorkflowRow


def timestamp(value: datetime) -> timestamp_pb2.Timestamp:
    """A protobuf Timestamp from an aware datetime."""
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(value)
    return ts


def identifier(resource_type: int, project: str, domain: str, name: str, version: str) -> identifier_pb2.Identifier:
    return identifier_pb2.Identifier(
        resource_type=cast(Any, resource_type), project=project, domain=domain, name=name, version=version
    )


def task_from_row(row: TaskRow) -> task_pb2.Task:
    ident = identifier(identifier_pb2.TASK, row.project, row.domain, row.name, row.version)
    closure = task_pb2.TaskClosure(
        compiled_task=compiler_pb2.CompiledTask.FromString(row.closure), created_at=timestamp(row.created_at)
    )
    return task_pb2.Task(id=ident, closure=closure, short_description=row.short_description)


def workflow_from_row(row: WorkflowRow) -> workflow_pb2.Workflow:
    ident = identifier(identifier_pb2.WORKFLOW, row.project, row.domain, row.name, row.version)
    closure = workflow_pb2.WorkflowClosure(
        compiled_workflow=compiler_pb2.CompiledWorkflowClosure.FromString(row.closure),
        created_at=timestamp(row.created_at),
    )
    return workflow_pb2.Workflow(id=ident, closure=closure, short_description=row.short_description)


def launch_plan_from_row(row: LaunchPlanRow) -> launch_plan_pb2.LaunchPlan:
    ident = identifier(identifier_pb2.LAUNCH_PLAN, row.project, row.domain, row.name, row.version)
    closure = launch_plan_pb2.LaunchPlanClosure.FromString(row.closure)
    closure.state = cast(Any, row.state)
    closure.created_at.CopyFrom(timestamp(row.created_at))
    closure.updated_at.CopyFrom(timestamp(row.updated_at))
    return launch_plan_pb2.LaunchPlan(
        id=ident, spec=launch_plan_pb2.LaunchPlanSpec.FromString(row.spec), closure=closure
    )


def description_row(
    ident: identifier_pb2.Identifier, description: description_entity_pb2.DescriptionEntity
) -> DescriptionEntityRow:
    return DescriptionEntityRow(
        resource_type=ident.resource_type,
        project=ident.project,
        domain=ident.domain,
        name=ident.name,
        version=ident.version,
        short_description=description.short_description,
        long_description=description.long_description.SerializeToString(),
        link=description.source_code.link,
    )


def description_values(
    ident: identifier_pb2.Identifier, description: description_entity_pb2.DescriptionEntity
) -> tuple[Table, dict[str, Any]]:
    """The same row as ``description_row``, as plain values for ``Database.insert``."""
    return table_of(DescriptionEntityRow), {
        "resource_type": ident.resource_type,
        "project": ident.project,
        "domain": ident.domain,
        "name": ident.name,
        "version": ident.version,
        "short_description": description.short_description,
        "long_description": description.long_description.SerializeToString(),
        "link": description.source_code.link,
    }


def description_from_row(row: DescriptionEntityRow) -> description_entity_pb2.DescriptionEntity:
    entity = description_entity_pb2.DescriptionEntity(
        id=identifier(row.resource_type, row.project, row.domain, row.name, row.version),
        short_description=row.short_description,
    )
    if row.long_description:
        entity.long_description.ParseFromString(row.long_description)
    if row.link:
        entity.source_code.link = row.link
    return entity
