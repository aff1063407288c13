"""The OpenAPI 3.1 document of aerodrome's own JSON API, served at ``/api/v1/openapi.json``.

It describes what aerodrome adds (the provider registry, the product-workflow registry, the schedules
and processes listings, all answering in the ``{code, message, data}`` envelope) and, generated from the
same ``google.api.http`` rules as the routes themselves, every Flyte gateway route
(``openapi_gateway``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from aerodrome import __version__
from aerodrome.transport.http.openapi_gateway import gateway_paths


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _enveloped(data: dict[str, Any], description: str) -> dict[str, Any]:
    schema = {"allOf": [_ref("Envelope"), {"type": "object", "properties": {"data": data}}]}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = {
    "400": {
        "description": "Invalid argument (code 3) or failed precondition (code 9); the message says why.",
        "content": {"application/json": {"schema": _ref("Error")}},
    },
    "404": {"description": "Not found (code 5).", "content": {"application/json": {"schema": _ref("Error")}}},
}


def _query(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": {"type": "string"}, "description": description}


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _body(schema: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(schema)}}}


_STR = {"type": "string"}
_FILTERS = [_query(f, f"Only providers with this {f}.") for f in ("name", "version", "device")]

SCHEMAS: dict[str, Any] = {
    "Envelope": {
        "type": "object",
        "required": ["code", "message", "data"],
        "properties": {"code": {"type": "integer", "const": 0}, "message": {"const": "success"}, "data": {}},
    },
    "Error": {
        "type": "object",
        "required": ["code", "message", "data"],
        "properties": {
            "code": {"type": "integer", "description": "The gRPC status number (3, 5, 9, 13 …), never 0."},
            "message": _STR,
            "data": {"type": "null"},
        },
    },
    "ProviderRegistration": {
        "type": "object",
        "required": ["name", "version", "device"],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._+-]*$"},
            "version": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._+-]*$"},
            "device": {"enum": ["local", "docker", "k8s", "ray"]},
            "metadata": {
                "type": "object",
                "description": "local: path (code directory, optional), venv (Python interpreter, optional, "
                "default the server's); docker: image, base_url; k8s: image, namespace; ray: address, "
                "runtime_env (optional object). Other fields are refused.",
            },
            "components_description": {"type": "object"},
        },
    },
    "Provider": {
        "type": "object",
        "properties": {
            "provider_name": {"type": "string", "description": "name:version@device"},
            "name": _STR,
            "version": _STR,
            "device": _STR,
            "metadata": {"type": "object"},
            "components_description": {"type": "object"},
            "create_time": {"type": "string", "format": "date-time"},
            "update_time": {"type": "string", "format": "date-time"},
            "outcome": {"enum": ["created", "unchanged", "replaced"], "description": "Registration answers only."},
        },
    },
    "NodeProvider": {
        "type": "object",
        "properties": {
            "node_id": _STR,
            "provider_name": _STR,
            "device": _STR,
            "level": {"enum": ["default", "job", "task", "party", "party-task"]},
        },
    },
    "ProductType": {
        "type": "object",
        "properties": {"name": _STR, "description": _STR, "products": {"type": "array", "items": {"type": "object"}}},
    },
    "ProductWorkflow": {
        "type": "object",
        "properties": {
            "name": _STR,
            "target": {"enum": ["CREATE", "MODIFY", "TERMINATE", "SYSTEM", "VALIDATE", "RECONCILE"]},
            "description": _STR,
            "is_task": {"type": "boolean"},
            "product_types": {"type": "array", "items": _STR},
            "created_at": {"type": "string", "format": "date-time"},
            "flyte_workflow": {"type": ["string", "null"], "description": "With project and domain only."},
            "flyte_workflow_problem": _STR,
        },
    },
    "Schedule": {
        "type": "object",
        "properties": {
            "project": _STR,
            "domain": _STR,
            "name": _STR,
            "version": {"type": "string", "description": "The active launch-plan version that fires."},
            "schedule": {"type": "string", "description": "Cron expression or `every N unit`."},
            "kickoff_time_input_arg": _STR,
            "active_since": {"type": "string", "format": "date-time"},
            "last_fire_at": {"type": ["string", "null"], "format": "date-time"},
            "next_fire_at": {"type": ["string", "null"], "format": "date-time"},
            "last_execution": {"type": ["string", "null"], "description": "Execution name of the last fire."},
            "last_phase": {"type": ["string", "null"], "description": "Its phase (e.g. SUCCEEDED)."},
        },
    },
    "StartRequest": {
        "type": "object",
        "required": ["product_type", "target", "project", "domain"],
        "additionalProperties": False,
        "properties": {
            "product_type": _STR,
            "target": _STR,
            "project": _STR,
            "domain": _STR,
            "inputs": {"type": "object", "description": "Input name to JSON value."},
            "workflow": {"type": "string", "description": "Which registration, when several match."},
            "name": {"type": "string", "description": "Execution name (generated when empty)."},
        },
    },
    "StartResult": {
        "type": "object",
        "properties": {
            "execution": {"type": "object", "properties": {"project": _STR, "domain": _STR, "name": _STR}},
            "workflow": _STR,
            "flyte_workflow": _STR,
            "launch_plan": {"type": "object", "properties": {"name": _STR, "version": _STR}},
        },
    },
}


def _list_of(schema: str) -> dict[str, Any]:
    return {"type": "array", "items": _ref(schema)}


PATHS: dict[str, Any] = {
    "/api/v1/providers": {
        "post": {
            "summary": "Register a provider (identical again: no-op success; different: error unless replace=true)",
            "parameters": [_query("replace", "true overwrites a different body under the same id.")],
            "requestBody": _body("ProviderRegistration"),
            "responses": {"200": _enveloped(_ref("Provider"), "The stored provider."), **ERRORS},
        },
        "get": {
            "summary": "Query providers (filters AND-ed; no filter lists all)",
            "parameters": [*_FILTERS, _query("provider_name", "A full id name:version@device.")],
            "responses": {"200": _enveloped(_list_of("Provider"), "Matching providers."), **ERRORS},
        },
        "delete": {
            "summary": "Delete providers matching all filters (at least one; refused while executions use one)",
            "parameters": _FILTERS,
            "responses": {
                "200": _enveloped(
                    {"type": "object", "properties": {"deleted": {"type": "array", "items": _STR}}}, "Deleted ids."
                ),
                **ERRORS,
            },
        },
    },
    "/api/v1/providers/executions/{project}/{domain}/{name}": {
        "get": {
            "summary": "The provider each task node of an execution was resolved to (frozen at creation)",
            "parameters": [_path("project"), _path("domain"), _path("name")],
            "responses": {"200": _enveloped(_list_of("NodeProvider"), "One entry per resolved node."), **ERRORS},
        }
    },
    "/api/v1/processes": {
        "get": {
            "summary": "The aerodrome processes sharing this database (live: heartbeat younger than a lease)",
            "parameters": [_query("all", "true also lists processes whose heartbeat stopped.")],
            "responses": {
                "200": _enveloped(
                    {"type": "array", "items": {"type": "object"}},
                    "owner, host, pid, version, started_at, heartbeat_age_seconds, live, executions, "
                    "task_processes, max_executions per process.",
                ),
                **ERRORS,
            },
        }
    },
    "/api/v1/products/types": {
        "get": {
            "summary": "Product types with their products",
            "responses": {"200": _enveloped(_list_of("ProductType"), "Every product type.")},
        }
    },
    "/api/v1/products/workflows": {
        "get": {
            "summary": "Product-workflow registrations by product type and target",
            "parameters": [
                _query("product_type", "Only workflows of this product type."),
                _query("target", "Only workflows with this target."),
                _query("project", "With domain: also resolve the Flyte workflow of each registration."),
                _query("domain", "With project."),
            ],
            "responses": {"200": _enveloped(_list_of("ProductWorkflow"), "Registrations."), **ERRORS},
        }
    },
    "/api/v1/products/start": {
        "post": {
            "summary": "Start the workflow registered for a product type and target",
            "requestBody": _body("StartRequest"),
            "responses": {"200": _enveloped(_ref("StartResult"), "The new execution."), **ERRORS},
        }
    },
    "/api/v1/schedules": {
        "get": {
            "summary": "Every active launch-plan schedule with its last and next fire",
            "parameters": [_query("project", "Only this project."), _query("domain", "Only this domain.")],
            "responses": {"200": _enveloped(_list_of("Schedule"), "Active schedules."), **ERRORS},
        }
    },
}


def document(servicers: Mapping[str, object]) -> dict[str, Any]:
    """The whole document: aerodrome's own routes and the gateway routes of the served services."""
    gateway, messages = gateway_paths(servicers)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "aerodrome API",
            "version": __version__,
            "description": "Providers (name:version@device), product workflows, schedules and processes answer "
            'in the envelope {"code": 0, "message": "success", "data": …} (failures: a non-zero code and a '
            "message). The Flyte admin, data-proxy, signal and auth-metadata routes answer protobuf JSON, and "
            'their failures {"code", "message", "details"} with the HTTP status grpc-gateway gives the code.',
        },
        "paths": {**gateway, **PATHS},
        "components": {"schemas": {**messages, **SCHEMAS}},
    }


def openapi_routes(servicers: Mapping[str, object]) -> list[BaseRoute]:
    body = JSONResponse(document(servicers)).body  # built once: the routes do not change while serving

    async def openapi(request: Request) -> Response:
        return Response(body, media_type="application/json")

    return [Route("/api/v1/openapi.json", openapi, methods=["GET"])]
