"""The composition root: build every part from the settings once, run both listeners, stop cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import uvicorn
from grpc import aio

from aerodrome.db import migrate
from aerodrome.db.batching import InsertBatcher
from aerodrome.db.engine import Database
from aerodrome.managers.attributes import AttributeManager
from aerodrome.managers.container import Managers
from aerodrome.managers.description_entities import DescriptionEntityManager
from aerodrome.managers.launch_plans import LaunchPlanManager
from aerodrome.managers.named_entities import NamedEntityManager
from aerodrome.managers.projects import ProjectManager
from aerodrome.managers.tasks import TaskManager
from aerodrome.managers.workflows import WorkflowManager
from aerodrome.settings import Settings
from aerodrome.transport.grpc.admin import AdminServicer
from aerodrome.transport.grpc.auth import AuthMetadataServicer, IdentityServicer
from aerodrome.transport.grpc.server import build_grpc_server
from aerodrome.transport.http.app import build_http_app

log = logging.getLogger("aerodrome")


@dataclass
class Services:
    """Everything the running server holds."""

    settings: Settings
    db: Database
    managers: Managers
    servicers: dict[str, object]
    http_routes: list[Any]


def build_managers(settings: Settings, db: Database) -> Managers:
    """All managers over one database, each given only the settings it needs."""
    reg = settings.registration
    projects = ProjectManager(db, reg.domains)
    return Managers(
        projects=projects,
        tasks=TaskManager(db, projects, InsertBatcher(db)),
        workflows=WorkflowManager(db, projects, max_nodes=reg.max_workflow_nodes),
        launch_plans=LaunchPlanManager(db, projects),
        named_entities=NamedEntityManager(db),
        descriptions=DescriptionEntityManager(db),
        attributes=AttributeManager(db, projects),
        server_version=settings.server.version,
    )


def build(settings: Settings) -> Services:
    """Construct (but do not start) the whole service."""
    settings.home.mkdir(parents=True, exist_ok=True)
    db = Database(settings.database_url, pool_size=settings.db.pool_size, echo=settings.db.echo)
    managers = build_managers(settings, db)
    servicers: dict[str, object] = {
        "flyteidl.service.AdminService": AdminServicer(managers),
        "flyteidl.service.AuthMetadataService": AuthMetadataServicer(settings.http_base_url),
        "flyteidl.service.IdentityService": IdentityServicer(),
    }
    return Services(settings, db, managers, servicers, [])


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket for uvicorn, so that port 0 resolves before anyone is told the address."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


class _HttpServer(uvicorn.Server):
    """uvicorn without its own signal handling: the composition root owns SIGINT/SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass(frozen=True)
class Addresses:
    """Where the started server listens."""

    grpc: str
    http: str


async def prepare(services: Services) -> None:
    """Migrate (if configured) and ensure the bootstrap projects."""
    if services.settings.db.migrate_on_start:
        await migrate.upgrade(services.db)
    await services.managers.projects.ensure(services.settings.registration.bootstrap_projects)


async def serve(
    settings: Settings,
    on_ready: Callable[[Addresses], Awaitable[None] | None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Run gRPC and HTTP on one loop until SIGINT/SIGTERM (or ``stop``), then shut down cleanly."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)

    http_sock = _bind(settings.server.host, settings.server.http_port)
    if settings.server.http_port == 0:
        settings.server.http_port = http_sock.getsockname()[1]
    services = build(settings)
    await prepare(services)

    grpc_server: aio.Server = build_grpc_server(
        services.servicers, max_message_bytes=settings.server.grpc_max_message_bytes
    )
    grpc_port = grpc_server.add_insecure_port(f"{settings.server.host}:{settings.server.grpc_port}")
    if grpc_port == 0:
        raise RuntimeError(f"cannot listen for gRPC on {settings.server.host}:{settings.server.grpc_port}")
    settings.server.grpc_port = grpc_port
    app = build_http_app(services.servicers, extra_routes=services.http_routes)
    http = _HttpServer(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))

    await grpc_server.start()
    http_task = asyncio.create_task(http.serve(sockets=[http_sock]))
    while not http.started and not http_task.done():  # noqa: ASYNC110 - uvicorn exposes only a flag
        await asyncio.sleep(0.01)
    if http_task.done():
        await http_task  # re-raise the start-up failure
    addresses = Addresses(f"{settings.server.host}:{grpc_port}", settings.http_base_url)
    if on_ready is not None:
        result = on_ready(addresses)
        if result is not None:
            await result
    try:
        await stop.wait()
    finally:
        log.info("shutting down")
        http.should_exit = True
        await grpc_server.stop(grace=5)
        with contextlib.suppress(asyncio.CancelledError):
            await http_task
        await services.db.dispose()
