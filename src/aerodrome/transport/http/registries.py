"""HTTP routes of the provider and product-workflow registries (``/api/v1/providers``, ``/api/v1/products``)
and of the processes sharing the database (``/api/v1/processes``).

Each endpoint reads its parameters and calls one manager method; the envelope and the error mapping
live in ``envelope.py``, the documentation in ``openapi.py``.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import BaseRoute, Route

from aerodrome.managers.processes import ProcessManager
from aerodrome.managers.product_workflows import ProductWorkflowManager
from aerodrome.managers.provider_resolution import ProviderResolver
from aerodrome.managers.providers import ProviderManager
from aerodrome.transport.http.envelope import enveloped, flag, json_body

PROVIDER_FILTERS = ("name", "version", "device")


def _filters(request: Request, names: tuple[str, ...]) -> dict[str, str]:
    return {k: request.query_params.get(k, "") for k in names}


def provider_routes(providers: ProviderManager, resolver: ProviderResolver) -> list[BaseRoute]:
    async def register(request: Request) -> Any:
        return await providers.register(await json_body(request), replace=flag(request, "replace"))

    async def query(request: Request) -> Any:
        return await providers.query(**_filters(request, (*PROVIDER_FILTERS, "provider_name")))

    async def delete(request: Request) -> Any:
        return {"deleted": await providers.delete(**_filters(request, PROVIDER_FILTERS))}

    async def of_execution(request: Request) -> Any:
        p = request.path_params
        return await resolver.shown(p["project"], p["domain"], p["name"])

    return [
        Route("/api/v1/providers", enveloped("RegisterProvider", register), methods=["POST"]),
        Route("/api/v1/providers", enveloped("QueryProviders", query), methods=["GET"]),
        Route("/api/v1/providers", enveloped("DeleteProviders", delete), methods=["DELETE"]),
        Route(
            "/api/v1/providers/executions/{project}/{domain}/{name}",
            enveloped("GetExecutionProviders", of_execution),
            methods=["GET"],
        ),
    ]


def process_routes(processes: ProcessManager) -> list[BaseRoute]:
    async def listing(request: Request) -> Any:
        return await processes.list(include_stale=flag(request, "all"))

    return [Route("/api/v1/processes", enveloped("ListProcesses", listing), methods=["GET"])]


def product_routes(products: ProductWorkflowManager) -> list[BaseRoute]:
    async def types(request: Request) -> Any:
        return await products.product_types()

    async def workflows(request: Request) -> Any:
        return await products.workflows(**_filters(request, ("product_type", "target", "project", "domain")))

    async def start(request: Request) -> Any:
        return await products.start(await json_body(request))

    return [
        Route("/api/v1/products/types", enveloped("ListProductTypes", types), methods=["GET"]),
        Route("/api/v1/products/workflows", enveloped("ListProductWorkflows", workflows), methods=["GET"]),
        Route("/api/v1/products/start", enveloped("StartProductWorkflow", start), methods=["POST"]),
    ]
