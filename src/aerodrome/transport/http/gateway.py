"""The HTTP gateway, generated at start-up from the ``google.api.http`` rules of the served services.

One generic endpoint per rule fills the request message from the path, the query string and the body
(protobuf JSON, unknown fields ignored, as grpc-gateway's default unmarshaler), calls the same servicer
method gRPC calls, and answers protobuf JSON with lowerCamelCase names and unpopulated fields emitted
(grpc-gateway v2's default marshaler). Failures map to HTTP as grpc-gateway's ``HTTPStatusFromCode``,
with its error body ``{"code", "message", "details"}``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import grpc
from google.api import annotations_pb2
from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from aerodrome.errors import InvalidArgument
from aerodrome.transport.errors import failure_from
from aerodrome.transport.http.bodies import BodyTooLarge, parse_json, read_body

# google.golang.org/grpc-gateway runtime.HTTPStatusFromCode
HTTP_STATUS = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500,
}
_PARAM = re.compile(r"\{([A-Za-z0-9_.]+)(?:=[^}]*)?\}")
_FILE_MODULES = (
    "flyteidl.service.admin_pb2",
    "flyteidl.service.dataproxy_pb2",
    "flyteidl.service.signal_pb2",
    "flyteidl.service.auth_pb2",
    "flyteidl.service.identity_pb2",
)


class GatewayContext:
    """Enough of a gRPC servicer context for handlers that read metadata or set a code."""

    def __init__(self, request: Request) -> None:
        self._request = request
        self.code: grpc.StatusCode | None = None

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return tuple((k.lower(), v) for k, v in self._request.headers.items())

    def peer(self) -> str:
        client = self._request.client
        return f"ipv4:{client.host}:{client.port}" if client else ""

    def set_code(self, code: grpc.StatusCode) -> None:
        self.code = code

    def set_details(self, details: str) -> None:
        pass


@dataclass(frozen=True)
class Binding:
    """One HTTP rule of one method."""

    service: str
    method: MethodDescriptor
    verb: str
    template: str
    body: str

    @property
    def path(self) -> str:
        """The Starlette path: ``{id.project}`` becomes ``{p0}`` (fields are looked up by position)."""
        counter = iter(range(100))
        return _PARAM.sub(lambda _: f"{{p{next(counter)}}}", self.template)

    @property
    def fields(self) -> list[str]:
        return _PARAM.findall(self.template)

    def specificity(self) -> tuple[int, ...]:
        """Literal segments win over parameters at the same position, as grpc-gateway's router does."""
        return tuple(1 if s.startswith("{") else 0 for s in self.template.strip("/").split("/"))


def bindings(service_names: Mapping[str, object]) -> list[Binding]:
    """Every HTTP rule (including additional bindings) of the served services."""
    import importlib

    found: list[Binding] = []
    for module_name in _FILE_MODULES:
        module = importlib.import_module(module_name)
        for service in module.DESCRIPTOR.services_by_name.values():
            if service.full_name not in service_names:
                continue
            for method in service.methods:
                rule = method.GetOptions().Extensions[annotations_pb2.http]
                for r in (rule, *rule.additional_bindings):
                    verb = r.WhichOneof("pattern")
                    if verb and verb != "custom":
                        found.append(Binding(service.full_name, method, verb.upper(), getattr(r, verb), r.body))
    return found


def _field(descriptor: Descriptor, name: str) -> FieldDescriptor:
    field = descriptor.fields_by_name.get(name) or next((f for f in descriptor.fields if f.json_name == name), None)
    if field is None:
        raise InvalidArgument(f"unknown field {name!r} in {descriptor.name}")
    return field


def _scalar(field: FieldDescriptor, raw: str) -> Any:
    """A path or query value as protobuf JSON would spell it for this field."""
    if field.type == FieldDescriptor.TYPE_BOOL:
        if raw.lower() not in {"true", "false", "1", "0"}:
            raise InvalidArgument(f"invalid value {raw!r} for boolean field {field.name}")
        return raw.lower() in {"true", "1"}
    return raw


def _assign(target: dict[str, Any], descriptor: Descriptor, path: str, values: list[str]) -> None:
    """Set a dotted field path in a JSON dict, following the message descriptors."""
    *parents, leaf = path.split(".")
    for name in parents:
        field = _field(descriptor, name)
        if field.message_type is None:
            raise InvalidArgument(f"field {name!r} of {descriptor.name} has no sub-fields")
        nested = target.get(field.name)
        if not isinstance(nested, dict):  # the body set it to a scalar or null: path and query values win
            nested = target[field.name] = {}
        target = nested
        descriptor = field.message_type
    field = _field(descriptor, leaf)
    repeated = bool(getattr(field, "is_repeated", False))
    converted = [_scalar(field, v) for v in values]
    target[field.name] = converted if repeated else converted[-1]


async def _fill(binding: Binding, request: Request, message: Message, max_body_bytes: int) -> None:
    descriptor: Descriptor = message.DESCRIPTOR  # type: ignore[assignment]
    document: dict[str, Any] = {}
    if binding.body:
        raw = await read_body(request, max_body_bytes)
        if raw.strip():
            body = parse_json(raw)
            if binding.body == "*":
                if not isinstance(body, dict):
                    raise InvalidArgument("the request body must be a JSON object")
                document = body
            else:
                document[_field(descriptor, binding.body).name] = body
    for i, path in enumerate(binding.fields):
        _assign(document, descriptor, path, [request.path_params[f"p{i}"]])
    if binding.body != "*":
        for key in request.query_params:
            _assign(document, descriptor, key, request.query_params.getlist(key))
    try:
        json_format.ParseDict(document, message, ignore_unknown_fields=True)
    except json_format.ParseError as exc:
        raise InvalidArgument(f"invalid request: {exc}") from None


def error_response(exc: BaseException, method: str) -> Response:
    if isinstance(exc, NotImplementedError):
        code, message = grpc.StatusCode.UNIMPLEMENTED, f"{method} is not implemented by aerodrome yet"
    else:
        failure = failure_from(exc, method)
        code, message = failure.code, failure.message
    body = {"code": code.value[0], "message": message, "details": []}
    return JSONResponse(body, status_code=413 if isinstance(exc, BodyTooLarge) else HTTP_STATUS.get(code, 500))


# Optional authorization hook: (request, service, method, message) → filter for the response.
Guard = Callable[[Request, str, str, Message], Callable[[Any], Any]]


def _endpoint(binding: Binding, servicer: object, guard: Guard | None, max_body_bytes: int) -> Callable[[Request], Any]:
    request_class = GetMessageClass(binding.method.input_type)
    name = binding.method.name

    async def endpoint(request: Request) -> Response:
        message = request_class()
        try:
            await _fill(binding, request, message, max_body_bytes)
            after = guard(request, binding.service, name, message) if guard is not None else None
            handler = getattr(servicer, name, None)
            if handler is None:
                raise NotImplementedError(name)
            result = handler(message, GatewayContext(request))
            if hasattr(result, "__await__"):
                result = await result
            if after is not None:
                result = after(result)
        except Exception as exc:
            return error_response(exc, name)
        document = json_format.MessageToDict(result, always_print_fields_with_no_presence=True)
        return JSONResponse(document)

    return endpoint


def gateway_routes(
    servicers: Mapping[str, object], guard: Guard | None = None, max_body_bytes: int = 32 * 1024 * 1024
) -> list[BaseRoute]:
    """Routes for every HTTP rule of the given servicers (keyed by full service name); request bodies over
    ``max_body_bytes`` (the gRPC message limit) are refused with 413 before they are read."""
    found = sorted(bindings(servicers), key=lambda b: b.specificity())
    return [
        Route(
            b.path,
            _endpoint(b, servicers[b.service], guard, max_body_bytes),
            methods=[b.verb],
            name=f"{b.method.name}:{b.template}",
        )
        for b in found
    ]
