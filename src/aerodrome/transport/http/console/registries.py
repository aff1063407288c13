"""The algorithm-provider and product-workflow registries, as their HTTP API lists them."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import BaseRoute, Route

from aerodrome.transport.http.console.deps import Deps
from aerodrome.transport.http.console.render import View, page


def routes(deps: Deps) -> list[BaseRoute]:
    r = deps.registries

    async def providers(request: Request) -> View:
        q = request.query_params
        found = await r.providers.query(name=q.get("name", ""), device=q.get("device", ""))
        return View("providers.html", {"providers": found, "name": q.get("name", ""), "device": q.get("device", "")})

    async def products(request: Request) -> View:
        return View(
            "products.html", {"types": await r.products.product_types(), "workflows": await r.products.workflows()}
        )

    return [Route("/providers", page(providers)), Route("/products", page(products))]
