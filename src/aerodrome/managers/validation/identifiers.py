"""Identifier checks in FlyteAdmin's order and words (AP/manager/impl/validation/validation.go)."""

from __future__ import annotations

from flyteidl.admin import common_pb2
from flyteidl.core import identifier_pb2

from aerodrome.db.prototext import compact
from aerodrome.errors import InvalidArgument, missing
from aerodrome.managers.validation.enums import name_or_number


def type_name(resource_type: int) -> str:
    """``TASK`` → ``task`` as the reference prints resource types in messages."""
    return name_or_number(identifier_pb2.ResourceType, resource_type).lower()


def validate_identifier(ident: identifier_pb2.Identifier, expected: int, *, present: bool = True) -> None:
    """Resource type, then project, domain, name and version must be set."""
    if not present:
        raise missing("id")
    if ident.resource_type != expected:
        raise InvalidArgument(
            f"unexpected resource type {type_name(ident.resource_type)} for identifier [{compact(ident)}], "
            f"expected {type_name(expected)} instead"
        )
    for field in ("project", "domain", "name", "version"):
        if not getattr(ident, field):
            raise missing(field)


def validate_named_identifier(ident: common_pb2.NamedEntityIdentifier, *, name: bool = True) -> None:
    """Project, domain and (usually) name of a NamedEntityIdentifier must be set."""
    for field in ("project", "domain", *(("name",) if name else ())):
        if not getattr(ident, field):
            raise missing(field)
