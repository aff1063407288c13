"""The OpenAPI description of the generated gateway, derived from the same ``google.api.http`` rules.

Each rule becomes an operation: path fields are path parameters, a ``*`` body is the request message,
and the other verbs take the message's scalar fields as query parameters (dotted, as the gateway reads
them). Messages become JSON schemas under ``components/schemas`` keyed by their full protobuf name, in
protobuf's JSON mapping (lowerCamelCase names, 64-bit integers as strings, enums by name, well-known
types as their JSON forms), so a client, or a fuzzer, sees what the gateway really accepts and answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from aerodrome.transport.http.gateway import _PARAM, Binding, bindings

_REF = "#/components/schemas/"
_INT64 = {"type": "string", "pattern": "^-?[0-9]{1,18}$"}
_UINT64 = {"type": "string", "pattern": "^[0-9]{1,19}$"}
_FLOAT = {"anyOf": [{"type": "number"}, {"enum": ["NaN", "Infinity", "-Infinity"]}]}
_INT32 = {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1}
_UINT32 = {"type": "integer", "minimum": 0, "maximum": 2**32 - 1}
_F = FieldDescriptor
_SCALARS: dict[int, dict[str, Any]] = {
    _F.TYPE_DOUBLE: _FLOAT,
    _F.TYPE_FLOAT: _FLOAT,
    _F.TYPE_INT64: _INT64,
    _F.TYPE_SINT64: _INT64,
    _F.TYPE_SFIXED64: _INT64,
    _F.TYPE_UINT64: _UINT64,
    _F.TYPE_FIXED64: _UINT64,
    _F.TYPE_INT32: _INT32,
    _F.TYPE_SINT32: _INT32,
    _F.TYPE_SFIXED32: _INT32,
    _F.TYPE_UINT32: _UINT32,
    _F.TYPE_FIXED32: _UINT32,
    _F.TYPE_BOOL: {"type": "boolean"},
    _F.TYPE_STRING: {"type": "string"},
    _F.TYPE_BYTES: {"type": "string", "format": "byte"},
}
_WELL_KNOWN: dict[str, dict[str, Any]] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string", "pattern": "^-?[0-9]{1,12}(\\.[0-9]{1,9})?s$"},
    "google.protobuf.Struct": {"type": "object"},
    "google.protobuf.Value": {},
    "google.protobuf.ListValue": {"type": "array"},
    "google.protobuf.Any": {"type": "object", "properties": {"@type": {"type": "string"}}},
    "google.protobuf.FieldMask": {"type": "string"},
    "google.protobuf.Empty": {"type": "object"},
    "google.protobuf.DoubleValue": _FLOAT,
    "google.protobuf.FloatValue": _FLOAT,
    "google.protobuf.Int64Value": _INT64,
    "google.protobuf.UInt64Value": _UINT64,
    "google.protobuf.Int32Value": _INT32,
    "google.protobuf.UInt32Value": _UINT32,
    "google.protobuf.BoolValue": {"type": "boolean"},
    "google.protobuf.StringValue": {"type": "string"},
    "google.protobuf.BytesValue": {"type": "string", "format": "byte"},
}
GATEWAY_ERROR = {
    "type": "object",
    "required": ["code", "message", "details"],
    "properties": {
        "code": {"type": "integer", "description": "The gRPC status number."},
        "message": {"type": "string"},
        "details": {"type": "array"},
    },
}


class Schemas:
    """Collects the component schemas of every message reachable from the operations."""

    def __init__(self) -> None:
        self.components: dict[str, Any] = {"GatewayError": GATEWAY_ERROR}

    def message(self, descriptor: Descriptor) -> dict[str, Any]:
        name = descriptor.full_name
        if name in _WELL_KNOWN:
            return _WELL_KNOWN[name]
        if name not in self.components:
            self.components[name] = {}  # placeholder first: messages refer to themselves (Literal, …)
            properties = {f.json_name: self.field(f) for f in descriptor.fields}
            self.components[name] = {"type": "object", "properties": properties}
        return {"$ref": _REF + name}

    def single(self, field: FieldDescriptor) -> dict[str, Any]:
        if field.type == _F.TYPE_MESSAGE:
            assert field.message_type is not None
            return self.message(field.message_type)
        if field.type == _F.TYPE_ENUM:
            assert field.enum_type is not None
            values = field.enum_type.values
            return {"enum": [v.name for v in values] + [v.number for v in values]}
        return _SCALARS[field.type]

    def field(self, field: FieldDescriptor) -> dict[str, Any]:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value = field.message_type.fields_by_name["value"]
            return {"type": "object", "additionalProperties": self.single(value)}
        if getattr(field, "is_repeated", False):
            return {"type": "array", "items": self.single(field)}
        return self.single(field)


def _leaf(descriptor: Descriptor, dotted: str) -> FieldDescriptor:
    field: FieldDescriptor | None = None
    for name in dotted.split("."):
        field = descriptor.fields_by_name[name]
        if field.message_type is not None:
            descriptor = field.message_type
    assert field is not None
    return field


def _query(descriptor: Descriptor, taken: set[str], schemas: Schemas, prefix: str = "", depth: int = 0) -> list[Any]:
    """The scalar fields reachable from a message as dotted query parameters (not through recursion)."""
    found: list[dict[str, Any]] = []
    for field in descriptor.fields:
        name = prefix + field.name
        if name in taken:
            continue
        message = field.message_type
        if message is None or message.full_name in _WELL_KNOWN:
            if message is not None and getattr(field, "is_repeated", False):
                continue
            schema = schemas.field(field)
            found.append({"name": name, "in": "query", "required": False, "schema": schema, "explode": True})
        elif depth < 2 and not message.GetOptions().map_entry and not getattr(field, "is_repeated", False):
            found += _query(message, taken, schemas, f"{name}.", depth + 1)
    return found


def _path_schema(field: FieldDescriptor, schemas: Schemas) -> dict[str, Any]:
    schema = schemas.single(field)
    if schema.get("type") == "string" and "pattern" not in schema:
        return {"type": "string", "minLength": 1, "pattern": "^[^/?#]+$"}
    return schema


def _param(field: str) -> str:
    """A path parameter's name: its field path with ``_`` for ``.`` (dots trip URL-template tools)."""
    return field.replace(".", "_")


def _operation(binding: Binding, schemas: Schemas) -> dict[str, Any]:
    method = binding.method
    request: Descriptor = method.input_type
    path_fields = binding.fields
    parameters: list[dict[str, Any]] = [
        {
            "name": _param(f),
            "in": "path",
            "required": True,
            "schema": _path_schema(_leaf(request, f), schemas),
            "description": f"The request field {f}.",
        }
        for f in path_fields
    ]
    operation: dict[str, Any] = {
        "operationId": f"{method.name}:{binding.verb}:{binding.template}",
        "summary": f"{binding.service.rsplit('.', 1)[-1]}.{method.name}",
        "responses": {
            "200": {
                "description": "OK",
                "content": {"application/json": {"schema": schemas.message(method.output_type)}},
            },
            "default": {
                "description": "The call failed; code is its gRPC status.",
                "content": {"application/json": {"schema": {"$ref": _REF + "GatewayError"}}},
            },
        },
    }
    if binding.body == "*":
        content = {"application/json": {"schema": schemas.message(request)}}
        operation["requestBody"] = {"required": False, "content": content}
    elif binding.body:
        body = schemas.field(request.fields_by_name[binding.body])
        operation["requestBody"] = {"required": False, "content": {"application/json": {"schema": body}}}
    else:
        parameters += _query(request, set(path_fields), schemas)
    operation["parameters"] = parameters
    return operation


def gateway_paths(servicers: Mapping[str, object]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(paths, component schemas) of every gateway route of the given servicers."""
    schemas = Schemas()
    paths: dict[str, Any] = {}
    for binding in bindings(servicers):
        template = _PARAM.sub(lambda m: "{" + _param(m[1]) + "}", binding.template)
        paths.setdefault(template, {})[binding.verb.lower()] = _operation(binding, schemas)
    return paths, schemas.components
