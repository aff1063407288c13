"""What the console's routes reach: the managers the API uses, plus the console's own readers and live hub."""

from __future__ import annotations

from dataclasses import dataclass

from flyteidl.admin import common_pb2
from flyteidl.core import identifier_pb2
from flyteidl.service import dataproxy_pb2
from google.protobuf import duration_pb2
from starlette.requests import Request

from aerodrome.managers.container import Managers
from aerodrome.managers.dashboard import DashboardManager
from aerodrome.managers.data import DataProxyManager
from aerodrome.managers.product_workflows import ProductWorkflowManager
from aerodrome.managers.provider_resolution import ProviderResolver
from aerodrome.managers.providers import ProviderManager
from aerodrome.managers.task_logs import TaskLogReader
from aerodrome.transport.http.console.live import LiveHub

LINK_SECONDS = 3600


@dataclass(frozen=True)
class Registries:
    """The algorithm-provider and product-workflow registries (their own managers, as their HTTP API uses)."""

    providers: ProviderManager
    resolver: ProviderResolver
    products: ProductWorkflowManager


@dataclass(frozen=True)
class Deps:
    managers: Managers
    dashboard: DashboardManager
    logs: TaskLogReader
    data: DataProxyManager
    hub: LiveHub
    registries: Registries
    schedule_zone: str = "UTC"  # the time zone the scheduler reads cron expressions in

    async def links(self, uris: list[str]) -> dict[str, str]:
        """Signed download URLs (through the data proxy, as CreateDownloadLocation) for files shown on a page."""
        out: dict[str, str] = {}
        for uri in dict.fromkeys(uris):
            request = dataproxy_pb2.CreateDownloadLocationRequest(
                native_url=uri, expires_in=duration_pb2.Duration(seconds=LINK_SECONDS)
            )
            try:
                out[uri] = (await self.data.create_download_location(request)).signed_url
            except Exception:  # an unsignable URI is shown as text, without a link
                continue
        return out


def scope(request: Request) -> tuple[str, str]:
    return request.path_params["project"], request.path_params["domain"]


def base(project: str, domain: str) -> str:
    return f"/console/projects/{project}/domains/{domain}"


def execution_id(request: Request) -> identifier_pb2.WorkflowExecutionIdentifier:
    p = request.path_params
    return identifier_pb2.WorkflowExecutionIdentifier(project=p["project"], domain=p["domain"], name=p["name"])


def entity_id(request: Request, resource_type: int) -> identifier_pb2.Identifier:
    p = request.path_params
    return identifier_pb2.Identifier(
        resource_type=resource_type,  # type: ignore[arg-type]
        project=p["project"],
        domain=p["domain"],
        name=p["name"],
        version=p.get("version", ""),
    )


def named(request: Request) -> common_pb2.NamedEntityIdentifier:
    p = request.path_params
    return common_pb2.NamedEntityIdentifier(project=p["project"], domain=p["domain"], name=p.get("name", ""))
