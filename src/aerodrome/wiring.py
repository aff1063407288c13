"""The composition root: build every part from the settings once (``serving.py`` runs them)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aerodrome import __version__
from aerodrome.auth.setup import AuthParts, build_auth
from aerodrome.auth.task_credentials import TaskCredentials
from aerodrome.blobstore.offload import LiteralOffloader
from aerodrome.blobstore.signing import UrlSigner
from aerodrome.blobstore.store import BlobStore
from aerodrome.db import migrate
from aerodrome.db.batching import InsertBatcher
from aerodrome.db.engine import Database
from aerodrome.engine.graph import GraphRunner
from aerodrome.engine.launchers.assembly import launchers_from_settings
from aerodrome.engine.launchers.protocol import Launcher
from aerodrome.engine.leases import LeaseKeeper
from aerodrome.engine.runner import Engine
from aerodrome.lifecycle import BackgroundService
from aerodrome.managers.attributes import AttributeManager
from aerodrome.managers.catalog import CatalogManager
from aerodrome.managers.container import Managers
from aerodrome.managers.dashboard import DashboardManager
from aerodrome.managers.data import DataProxyManager
from aerodrome.managers.description_entities import DescriptionEntityManager
from aerodrome.managers.events import EventManager
from aerodrome.managers.execution_queries import ExecutionQueries
from aerodrome.managers.executions import ExecutionManager
from aerodrome.managers.job_conf import Party
from aerodrome.managers.launch_plans import LaunchPlanManager
from aerodrome.managers.metrics import MetricsManager
from aerodrome.managers.named_entities import NamedEntityManager
from aerodrome.managers.processes import ProcessManager
from aerodrome.managers.product_workflows import ProductWorkflowManager
from aerodrome.managers.projects import ProjectManager
from aerodrome.managers.provider_resolution import ProviderResolver
from aerodrome.managers.providers import ProviderManager
from aerodrome.managers.secrets import SecretManager
from aerodrome.managers.signals import SignalManager
from aerodrome.managers.single_task import SingleTaskLauncher
from aerodrome.managers.task_logs import TaskLogReader
from aerodrome.managers.tasks import TaskManager
from aerodrome.managers.workflows import WorkflowManager
from aerodrome.notifications import service as notifications
from aerodrome.observability.loop_lag import LoopLagMonitor
from aerodrome.observability.metrics import Metrics
from aerodrome.observability.sampler import Sampler
from aerodrome.scheduler.listing import ScheduleQueries
from aerodrome.scheduler.service import Scheduler
from aerodrome.settings import Settings
from aerodrome.transport.grpc.admin import AdminServicer
from aerodrome.transport.grpc.auth import AuthMetadataServicer, IdentityServicer
from aerodrome.transport.grpc.data_proxy import DataProxyServicer
from aerodrome.transport.grpc.signals import SignalServicer
from aerodrome.transport.http.console import console_routes
from aerodrome.transport.http.console.deps import Deps, Registries
from aerodrome.transport.http.console.live import LiveHub
from aerodrome.transport.http.data import data_routes
from aerodrome.transport.http.metrics import metrics_routes
from aerodrome.transport.http.openapi import openapi_routes
from aerodrome.transport.http.outbox import outbox_routes
from aerodrome.transport.http.registries import process_routes, product_routes, provider_routes
from aerodrome.transport.http.schedules import schedule_routes


@dataclass
class Services:
    """Everything the running server holds."""

    settings: Settings
    db: Database
    store: BlobStore
    managers: Managers
    engine: Engine
    servicers: dict[str, object]
    http_routes: list[Any]
    background: list[BackgroundService]
    auth: AuthParts | None = None
    metrics: Metrics | None = None


def build(settings: Settings) -> Services:
    """Construct (but do not start) the whole service: database, blob store, managers, engine, servicers."""
    settings.home.mkdir(parents=True, exist_ok=True)
    db = Database(settings.database_url, pool_size=settings.db.pool_size, echo=settings.db.echo)
    auth = build_auth(settings, db)
    store = BlobStore.from_settings(settings)
    signer = UrlSigner.from_settings(settings)
    reg = settings.registration
    projects = ProjectManager(db, reg.domains)
    workflows = WorkflowManager(db, projects, max_nodes=reg.max_workflow_nodes)
    launch_plans = LaunchPlanManager(db, projects)
    attributes = AttributeManager(db, projects)
    providers = ProviderManager(db)
    resolver = ProviderResolver(db, attributes, Party(settings.party.role, settings.party.id))
    events = EventManager(
        db, store, max_inline_bytes=settings.blob.inline_limit_bytes, outbox=notifications.outbox(settings)
    )
    signals = SignalManager(db)
    tasks_auth = auth.tokens is not None or bool(settings.auth.tls_cert_file)
    credentials = TaskCredentials(auth.tokens, settings.auth).env_for if tasks_auth else None
    secrets = SecretManager.from_settings(db, settings)
    launchers, ray_check = launchers_from_settings(settings, store, secrets, credentials)
    graphs = GraphRunner(
        db, store, launchers, settings.work_dir, signals=signals, catalog=CatalogManager(db), workflows=workflows
    )
    keeper = LeaseKeeper(db, settings.leases, version=__version__)
    engine = Engine(db, store, events, graphs, keeper, max_executions=settings.leases.max_executions)
    queries = ExecutionQueries(db, LiteralOffloader.from_settings(store, signer, settings))
    single_task = SingleTaskLauncher(db, workflows, launch_plans)
    managers = Managers(
        projects=projects,
        tasks=TaskManager(db, projects, InsertBatcher(db)),
        workflows=workflows,
        launch_plans=launch_plans,
        named_entities=NamedEntityManager(db),
        descriptions=DescriptionEntityManager(db),
        attributes=attributes,
        events=events,
        executions=ExecutionManager(db, store, projects, attributes, single_task, events, engine, providers=resolver),
        signals=signals,
        queries=queries,
        metrics=MetricsManager(db),
        server_version=settings.server.version,
    )
    engine.attach(managers.executions)
    data_proxy = DataProxyManager(store, signer, settings, executions=queries)
    servicers: dict[str, object] = {
        "flyteidl.service.AdminService": AdminServicer(managers),
        "flyteidl.service.DataProxyService": DataProxyServicer(data_proxy),
        "flyteidl.service.SignalService": SignalServicer(signals),
        "flyteidl.service.AuthMetadataService": AuthMetadataServicer(
            settings.http_base_url, settings.auth, auth.metadata
        ),
        "flyteidl.service.IdentityService": IdentityServicer(auth.authenticator),
    }
    products = ProductWorkflowManager(db, managers.executions)
    registries = [
        *provider_routes(providers, resolver),
        *product_routes(products),
        *process_routes(ProcessManager(db, ttl_seconds=settings.leases.ttl_seconds)),
        *openapi_routes(servicers),
        *schedule_routes(ScheduleQueries(db)),
    ]
    hub = LiveHub()
    events.watch(hub.notify)
    console = Deps(
        managers,
        DashboardManager(db, projects),
        TaskLogReader(db, store),
        data_proxy,
        hub,
        Registries(providers, resolver, products),
        schedule_zone=settings.scheduler.timezone,
    )
    monitor = notifications.OutboxMonitor(db)
    http_routes = [
        *data_routes(store, signer, settings),
        *registries,
        *outbox_routes(monitor),
        *console_routes(console),
        *auth.routes,
    ]
    background: list[BackgroundService] = [engine, hub, notifications.dispatcher(settings, db, events.watch)]
    if ray_check is not None:
        background.insert(0, ray_check)
    metrics = observe(settings, db, events, launchers, http_routes, background)
    if settings.scheduler.enabled:
        scheduler = Scheduler(db, managers.executions, settings.scheduler)
        launch_plans.watch_schedules(scheduler.wake)
        background.append(scheduler)
    return Services(settings, db, store, managers, engine, servicers, http_routes, background, auth, metrics)


def observe(
    settings: Settings,
    db: Database,
    events: EventManager,
    launcher: Launcher,
    http_routes: list[Any],
    background: list[BackgroundService],
) -> Metrics | None:
    """The Prometheus metrics, their /metrics route and the loop-lag probe (None when switched off)."""
    if not settings.metrics.enabled:
        return None
    metrics = Metrics()
    events.watch(metrics.on_event)
    http_routes.extend(metrics_routes(Sampler(metrics, db, lambda: launcher.running)))
    background.append(LoopLagMonitor(metrics, settings.metrics.loop_lag_interval_seconds))
    return metrics


def data_migrations(settings: Settings) -> Path | None:
    """The deployment's data migrations folder, when configured (the server must know its revisions)."""
    return Path(settings.db.migrations_dir).expanduser() if settings.db.migrations_dir else None


async def prepare(services: Services) -> None:
    """Migrate (if configured) and ensure the bootstrap projects."""
    if services.settings.db.migrate_on_start:
        await migrate.upgrade(services.db, migrations_dir=data_migrations(services.settings))
    await services.managers.projects.ensure(services.settings.registration.bootstrap_projects)
    if services.auth is not None:
        await services.auth.load()
