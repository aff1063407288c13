"""Run what the composition root built: both listeners and the background services, on one loop, until
SIGINT/SIGTERM; then stop everything cleanly, in reverse order."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import uvicorn
from grpc import aio

from aerodrome.lifecycle import BackgroundService
from aerodrome.settings import Settings
from aerodrome.transport.grpc.authz import AuthInterceptor
from aerodrome.transport.grpc.observe import ObserveInterceptor
from aerodrome.transport.grpc.server import build_grpc_server
from aerodrome.transport.http.app import build_http_app
from aerodrome.transport.http.metrics import METRICS_PATH
from aerodrome.wiring import build, prepare

log = logging.getLogger("aerodrome")


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


def add_grpc_port(server: aio.Server, settings: Settings) -> int:
    """Listen for gRPC, over TLS when a certificate is configured."""
    address = f"{settings.server.host}:{settings.server.grpc_port}"
    tls = settings.auth
    if not tls.tls_cert_file:
        return server.add_insecure_port(address)
    key, chain = Path(tls.tls_key_file).read_bytes(), Path(tls.tls_cert_file).read_bytes()
    return server.add_secure_port(address, grpc.ssl_server_credentials([(key, chain)]))


async def _stop_all(started: list[BackgroundService]) -> None:
    """Stop background services in reverse start order; one that fails to stop does not keep the others running."""
    for service in reversed(started):
        try:
            await service.stop()
        except Exception:
            log.exception("background service %s failed to stop cleanly", service.name)


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

    authenticator = services.auth.authenticator if services.auth is not None else None
    grpc_server: aio.Server = build_grpc_server(
        services.servicers,
        max_message_bytes=settings.server.grpc_max_message_bytes,
        interceptors=[AuthInterceptor(authenticator)] if authenticator is not None and authenticator.enabled else [],
        outer=[ObserveInterceptor(services.metrics)] if services.metrics is not None else [],
    )
    grpc_port = add_grpc_port(grpc_server, settings)
    if grpc_port == 0:
        raise OSError(f"cannot listen for gRPC on {settings.server.host}:{settings.server.grpc_port}")
    settings.server.grpc_port = grpc_port
    services.engine.graphs.launcher.platform_url = f"{settings.server.host}:{grpc_port}"
    app = build_http_app(
        services.servicers,
        extra_routes=services.http_routes,
        authenticator=authenticator,
        metrics=services.metrics,
        open_paths=() if settings.metrics.require_auth else (METRICS_PATH,),
        max_body_bytes=settings.server.grpc_max_message_bytes,
    )
    # httptools (C) spends less CPU per uploaded byte than h11; named so that a missing install fails loudly.
    tls = settings.auth
    http = _HttpServer(
        uvicorn.Config(
            app,
            http="httptools",
            log_level="warning",
            access_log=False,
            lifespan="off",
            ssl_certfile=tls.tls_cert_file or None,
            ssl_keyfile=tls.tls_key_file or None,
        )
    )

    await grpc_server.start()
    http_task = asyncio.create_task(http.serve(sockets=[http_sock]))
    while not http.started and not http_task.done():  # noqa: ASYNC110 - uvicorn exposes only a flag
        await asyncio.sleep(0.01)
    if http_task.done():
        await http_task  # re-raise the start-up failure
    started: list[BackgroundService] = []
    try:
        for service in services.background:
            await service.start()
            started.append(service)
    except BaseException:  # e.g. a second process on one SQLite file: close the listeners, then say why
        await _stop_all(started)
        http.should_exit = True
        await grpc_server.stop(grace=None)
        with contextlib.suppress(asyncio.CancelledError):
            await http_task
        await services.db.dispose()
        raise
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
        await _stop_all(started)
        await grpc_server.stop(grace=5)
        with contextlib.suppress(asyncio.CancelledError):
            await http_task
        await services.store.close()
        await services.db.dispose()
