"""CreateExecution checks (AP/manager/impl/validation/execution_validator.go)."""

from __future__ import annotations

import re

from flyteidl.admin import execution_pb2
from flyteidl.core import identifier_pb2, interface_pb2, literals_pb2

from aerodrome.compiler import is_castable, literal_type_of
from aerodrome.db.prototext import compact
from aerodrome.errors import InvalidArgument, missing
from aerodrome.managers.validation.enums import name_or_number

_NAME = re.compile(r"^[a-z][a-z\-0-9]*$")
MAX_NAME = 63


def validate_name(name: str) -> None:
    """A user-chosen name, checked lower-cased as the reference does (upper case is stored as given)."""
    lowered = name.lower()
    if len(lowered) > MAX_NAME:
        raise InvalidArgument(f"size of name exceeded length {MAX_NAME} : {name}")
    if not _NAME.match(lowered):
        raise InvalidArgument(f"invalid name format: {name}, does not match regex '^[a-z][a-z\\-0-9]*$'")


def validate_request(request: execution_pb2.ExecutionCreateRequest) -> None:
    """Project, domain, name, spec and launch entity reference."""
    if not request.project:
        raise missing("project")
    if not request.domain:
        raise missing("domain")
    if request.name:
        validate_name(request.name)
    if not request.HasField("spec"):
        raise missing("spec")
    ref = request.spec.launch_plan
    for field in ("project", "domain", "name", "version"):
        if not getattr(ref, field):
            raise missing(field)
    if ref.resource_type not in (identifier_pb2.LAUNCH_PLAN, identifier_pb2.TASK):
        kind = name_or_number(identifier_pb2.ResourceType, ref.resource_type)
        raise InvalidArgument(f"Invalid reference entity resource type [{kind}], only [LAUNCH_PLAN TASK] allowed")


def validate_literal_map(inputs: literals_pb2.LiteralMap, field: str = "inputs") -> None:
    for name, literal in inputs.literals.items():
        if not name:
            raise InvalidArgument(f"missing key in {field}")
        if literal.WhichOneof("value") is None and not literal.HasField("offloaded_metadata"):
            raise InvalidArgument(f"missing valid literal in {field} {name}")


def resolve_inputs(
    user: literals_pb2.LiteralMap, fixed: literals_pb2.LiteralMap, expected: interface_pb2.ParameterMap
) -> literals_pb2.LiteralMap:
    """User inputs checked against the expected inputs, defaults filled in, fixed inputs added."""
    for name in user.literals:
        if name not in expected.parameters:
            raise InvalidArgument(f"invalid input {name}")
    resolved = literals_pb2.LiteralMap()
    for name, param in expected.parameters.items():
        if name in user.literals:
            literal = user.literals[name]
            given = literal_type_of(literal)
            if not is_castable(given, param.var.type):
                raise InvalidArgument(
                    f"invalid {name} input wrong type. Expected {compact(param.var.type)}, but got {compact(given)}"
                )
            resolved.literals[name].CopyFrom(literal)
        elif param.required:
            raise InvalidArgument(f"expected_inputs {name} missing")
        elif param.HasField("default"):
            resolved.literals[name].CopyFrom(param.default)
    for name, literal in fixed.literals.items():
        resolved.literals[name].CopyFrom(literal)
    return resolved
