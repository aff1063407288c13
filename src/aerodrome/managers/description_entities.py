"""Description entities: long descriptions and source links recorded when tasks and workflows register."""

from __future__ import annotations

from flyteidl.admin import common_pb2, description_entity_pb2
from flyteidl.core import identifier_pb2

from aerodrome.db.engine import Database
from aerodrome.db.pagination import next_token, page
from aerodrome.db.repositories.descriptions import DESCRIPTION_COLUMNS
from aerodrome.db.transformers.entities import description_from_row
from aerodrome.errors import invalid, missing
from aerodrome.managers.listing import sort_of
from aerodrome.managers.validation.identifiers import validate_named_identifier


class DescriptionEntityManager:
    """GetDescriptionEntity, ListDescriptionEntities."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, request: common_pb2.ObjectGetRequest) -> description_entity_pb2.DescriptionEntity:
        i = request.id
        if i.resource_type == identifier_pb2.UNSPECIFIED:
            raise invalid("resource_type")
        for field in ("project", "domain", "name", "version"):
            if not getattr(i, field):
                raise missing(field)
        async with self.db.transaction() as uow:
            return description_from_row(await uow.descriptions.get(i))

    async def list(
        self, request: description_entity_pb2.DescriptionEntityListRequest
    ) -> description_entity_pb2.DescriptionEntityList:
        if request.resource_type == identifier_pb2.UNSPECIFIED:
            raise invalid("resource_type")
        validate_named_identifier(request.id)
        pg = page(request.token, request.limit, "ListWorkflows", sort_of(request), DESCRIPTION_COLUMNS)
        i = request.id
        async with self.db.transaction() as uow:
            rows = await uow.descriptions.list_rows(
                request.resource_type, i.project, i.domain, i.name, request.filters, pg
            )
        return description_entity_pb2.DescriptionEntityList(
            descriptionEntities=[description_from_row(r) for r in rows],
            token=next_token(pg.offset, pg.limit, len(rows)),
        )
