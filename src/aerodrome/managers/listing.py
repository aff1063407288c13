"""List and list-ids requests shared by tasks, workflows and launch plans."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flyteidl.admin import common_pb2

from aerodrome.db.engine import Database
from aerodrome.db.pagination import next_token, page
from aerodrome.db.repositories.entities import VersionedRepository
from aerodrome.db.unit_of_work import UnitOfWork
from aerodrome.managers.validation.identifiers import validate_named_identifier

T = TypeVar("T")


def sort_of(request: Any) -> common_pb2.Sort | None:
    """The request's ``sort_by`` if set."""
    return request.sort_by if request.HasField("sort_by") else None


async def list_versions(
    db: Database,
    repository: Callable[[UnitOfWork], VersionedRepository[Any]],
    request: common_pb2.ResourceListRequest,
    rpc: str,
    to_proto: Callable[[Any], T],
) -> tuple[list[T], str]:
    """A ResourceListRequest: implicit project/domain(/name) scope, user filters, sort and paging."""
    validate_named_identifier(request.id, name=False)
    async with db.transaction() as uow:
        repo = repository(uow)
        pg = page(request.token, request.limit, rpc, sort_of(request), repo.sort_columns())
        rows = await repo.list_rows(
            repo.scope(request.id.project, request.id.domain, request.id.name), request.filters, pg
        )
        items = [to_proto(r) for r in rows]
    return items, next_token(pg.offset, pg.limit, len(rows))


async def list_names(
    db: Database,
    repository: Callable[[UnitOfWork], VersionedRepository[Any]],
    request: common_pb2.NamedEntityIdentifierListRequest,
    rpc: str,
) -> common_pb2.NamedEntityIdentifierList:
    """A NamedEntityIdentifierListRequest: the distinct names of a project-domain."""
    validate_named_identifier(
        common_pb2.NamedEntityIdentifier(project=request.project, domain=request.domain), name=False
    )
    async with db.transaction() as uow:
        names, pg = await repository(uow).list_names(
            request.project,
            request.domain,
            request.filters,
            request.token,
            request.limit,
            sort_of(request),
            rpc,
        )
    return common_pb2.NamedEntityIdentifierList(
        entities=[
            common_pb2.NamedEntityIdentifier(project=request.project, domain=request.domain, name=n) for n in names
        ],
        token=next_token(pg.offset, pg.limit, len(names)),
    )
