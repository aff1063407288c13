"""Which launchers the composition root builds from the engine settings."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from aerodrome.blobstore.store import BlobStore
from aerodrome.engine.launchers.assembly import build_launchers
from aerodrome.engine.launchers.local import LocalLauncher
from aerodrome.engine.launchers.on_ray.launcher import RayConfigError, RayLauncher
from aerodrome.settings import EngineSettings, Settings

pytest.importorskip("ray")


def built(tmp_path: Path, **engine: object) -> tuple[object, object]:
    settings = Settings(home=tmp_path, engine=EngineSettings(**engine))  # type: ignore[arg-type]
    store = BlobStore.from_settings(settings)
    local = LocalLauncher(store, python=sys.executable, platform_url="127.0.0.1:1", extra_env={})
    return build_launchers(settings, store, local)


def test_ray_serves_providers_even_without_a_default_cluster(tmp_path: Path) -> None:
    router, check = built(tmp_path)
    assert check is None
    assert isinstance(router.launchers["ray"], RayLauncher) and router.default == "local"  # type: ignore[attr-defined]
    assert router.task_types == {}  # type: ignore[attr-defined]  # flytekit Ray tasks stay local without a cluster


def test_a_default_cluster_takes_flytekit_ray_tasks_and_is_checked_at_start(tmp_path: Path) -> None:
    router, check = built(tmp_path, ray_address="127.0.0.1:6379", launcher="ray")
    assert check is not None and router.default == "ray" and router.task_types == {"ray": "ray"}  # type: ignore[attr-defined]


def test_ray_as_default_needs_a_cluster(tmp_path: Path) -> None:
    with pytest.raises(RayConfigError, match="AERODROME_ENGINE_RAY_ADDRESS"):
        built(tmp_path, launcher="ray")
