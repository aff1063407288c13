"""The launchers the settings ask for, behind one router: the local launcher always, and the Ray launcher
when Ray is installed (providers with device ``ray`` go there; with a default cluster, flytekit Ray tasks
too, and every task when Ray is the default launcher). Configuration that cannot work is refused at start.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable

from aerodrome.blobstore.store import BlobStore
from aerodrome.engine.launchers.attempts import Attempt
from aerodrome.engine.launchers.distributions import DistributionCache
from aerodrome.engine.launchers.local import LocalLauncher
from aerodrome.engine.launchers.on_ray.launcher import RayClusterCheck, RayConfigError, RayLauncher, RayOptions
from aerodrome.engine.launchers.router import LauncherRouter
from aerodrome.engine.launchers.warm import Zygote
from aerodrome.managers.secrets import SecretManager
from aerodrome.settings import Settings


def launchers_from_settings(
    settings: Settings,
    store: BlobStore,
    secrets: SecretManager,
    credentials: Callable[[Attempt], dict[str, str]] | None = None,
) -> tuple[LauncherRouter, RayClusterCheck | None]:
    """The router, and the start-up check of the default Ray cluster when there is one; ``credentials``
    gives each attempt its variables for calling back (auth)."""
    engine = settings.engine
    local = LocalLauncher(
        store,
        python=engine.python,
        platform_url=f"{settings.server.host}:{settings.server.grpc_port}",
        extra_env=task_storage_env(settings),
        keep_workdirs=engine.keep_workdirs,
        kept_log_bytes=engine.kept_log_bytes,
        distributions=DistributionCache(store, settings.work_dir / ".distributions"),
        max_processes=engine.max_processes,
        warm=Zygote(engine.python or sys.executable, settings.work_dir / "zygote.log")
        if engine.warm_processes
        else None,
        secrets=secrets,
        map_batch_size=engine.map_batch_size,
        code_processes=engine.code_processes,
    )
    local.credentials = credentials
    return build_launchers(settings, store, local)


def build_launchers(
    settings: Settings, store: BlobStore, local: LocalLauncher
) -> tuple[LauncherRouter, RayClusterCheck | None]:
    """The router over the local launcher and, when Ray is installed, the Ray launcher: providers with
    device ``ray`` go there, and with a default cluster flytekit Ray tasks too (and every task when it is
    the default launcher)."""
    engine = settings.engine
    if importlib.util.find_spec("ray") is None:
        if engine.launcher == "ray" or engine.ray_address:
            raise RayConfigError("the Ray launcher is configured, but Ray is not installed (aerodrome[ray])")
        return LauncherRouter({"local": local}), None
    if engine.launcher == "ray" and not engine.ray_address:
        raise RayConfigError("AERODROME_ENGINE_LAUNCHER=ray needs a cluster: set AERODROME_ENGINE_RAY_ADDRESS")
    options = RayOptions(
        address=engine.ray_address,
        max_attempts=engine.ray_max_attempts,
        scratch_dir=engine.ray_scratch_dir,
        connect_seconds=engine.ray_connect_seconds,
        log_dir=settings.work_dir,
        store_is_local=not settings.blob_url.startswith("s3://"),
        keep_workdirs=engine.keep_workdirs,
        warm=engine.warm_processes,
        map_batch_size=engine.map_batch_size,
    )
    ray = RayLauncher(store, options, platform_url=local.platform_url, extra_env=local.extra_env)
    ray.credentials = local.credentials
    ray.secrets = local.secrets
    task_types = {"ray": "ray"} if engine.ray_address else {}
    router = LauncherRouter({"local": local, "ray": ray}, default=engine.launcher, task_types=task_types)
    return router, RayClusterCheck(ray) if engine.ray_address else None


def task_storage_env(settings: Settings) -> dict[str, str]:
    """What a task process needs to reach an S3-compatible store (nothing for a local directory)."""
    blob = settings.blob
    if not settings.blob_url.startswith("s3://"):
        return {}
    env = {
        "FLYTE_AWS_ENDPOINT": blob.s3_endpoint,
        "FLYTE_AWS_ACCESS_KEY_ID": blob.s3_access_key,
        "FLYTE_AWS_SECRET_ACCESS_KEY": blob.s3_secret_key,
        "AWS_REGION": blob.s3_region,
    }
    return {k: v for k, v in env.items() if v}
