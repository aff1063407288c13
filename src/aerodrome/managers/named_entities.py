"""Named entities (the name-level view of tasks, workflows and launch plans) and their metadata."""

from __future__ import annotations

from typing import Any, cast

from flyteidl.admin import common_pb2
from flyteidl.core import identifier_pb2

from aerodrome.db.engine import Database
from aerodrome.db.pagination import next_token, page
from aerodrome.db.repositories.named_entities import NamedEntity
from aerodrome.errors import InvalidArgument, invalid, missing
from aerodrome.managers.listing import sort_of
from aerodrome.managers.validation.enums import name_or_number
from aerodrome.managers.validation.identifiers import validate_named_identifier

_STATEFUL = {identifier_pb2.TASK, identifier_pb2.WORKFLOW, identifier_pb2.LAUNCH_PLAN}


def _to_proto(resource_type: int, entity: NamedEntity) -> common_pb2.NamedEntity:
    project, domain, name, description, state = entity
    return common_pb2.NamedEntity(
        resource_type=cast(Any, resource_type),
        id=common_pb2.NamedEntityIdentifier(project=project, domain=domain, name=name),
        metadata=common_pb2.NamedEntityMetadata(description=description, state=cast(Any, state)),
    )


class NamedEntityManager:
    """GetNamedEntity, UpdateNamedEntity, ListNamedEntities."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, request: common_pb2.NamedEntityGetRequest) -> common_pb2.NamedEntity:
        if request.resource_type == identifier_pb2.UNSPECIFIED:
            raise invalid("resource_type")
        validate_named_identifier(request.id)
        i = request.id
        async with self.db.transaction() as uow:
            entity = await uow.named_entities.get(request.resource_type, i.project, i.domain, i.name)
        return _to_proto(request.resource_type, entity)

    async def update(self, request: common_pb2.NamedEntityUpdateRequest) -> common_pb2.NamedEntityUpdateResponse:
        if request.resource_type == identifier_pb2.UNSPECIFIED:
            raise invalid("resource_type")
        validate_named_identifier(request.id)
        if not request.HasField("metadata"):
            raise missing("metadata")
        state = request.metadata.state
        if state != common_pb2.NAMED_ENTITY_ACTIVE and request.resource_type not in _STATEFUL:
            kind = name_or_number(identifier_pb2.ResourceType, request.resource_type)
            raise InvalidArgument(f"Resource [{kind}] cannot have its state updated")
        if len(request.metadata.description) > 300:
            raise InvalidArgument("description cannot exceed 300 characters")
        i = request.id
        async with self.db.transaction(write=True) as uow:
            await uow.named_entities.get(request.resource_type, i.project, i.domain, i.name)
            await uow.named_entities.upsert_metadata(
                request.resource_type, i.project, i.domain, i.name, request.metadata.description, state
            )
        return common_pb2.NamedEntityUpdateResponse()

    async def list(self, request: common_pb2.NamedEntityListRequest) -> common_pb2.NamedEntityList:
        if request.resource_type == identifier_pb2.UNSPECIFIED:
            raise invalid("resource_type")
        validate_named_identifier(
            common_pb2.NamedEntityIdentifier(project=request.project, domain=request.domain), name=False
        )
        pg = page(request.token, request.limit, "ListNamedEntities", None, {})
        async with self.db.transaction() as uow:
            rows = await uow.named_entities.list_rows(
                request.resource_type, request.project, request.domain, request.filters, pg, sort_of(request)
            )
        return common_pb2.NamedEntityList(
            entities=[_to_proto(request.resource_type, r) for r in rows],
            token=next_token(pg.offset, pg.limit, len(rows)),
        )
