"""Which map items the Ray launcher runs in batches, and which it sends one Ray task each."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from flyteidl.core import identifier_pb2, literals_pb2, security_pb2, tasks_pb2

from aerodrome.blobstore.store import BlobStore
from aerodrome.engine.launchers.assembly import build_launchers
from aerodrome.engine.launchers.attempts import Attempt
from aerodrome.engine.launchers.local import LocalLauncher
from aerodrome.engine.launchers.on_ray.batches import RayBatches
from aerodrome.settings import EngineSettings, Settings

pytest.importorskip("ray")
FAST = ["pyflyte-fast-execute", "--additional-distribution", "s3://b/code.tar.gz", "--dest-dir", ".", "--"]
MAP = ["pyflyte-map-execute", "--inputs", "{{.input}}", "--output-prefix", "{{.outputPrefix}}", "--resolver", "r"]


def router(tmp_path: Path, **engine: object) -> object:
    settings = Settings(home=tmp_path, engine=EngineSettings(ray_address="127.0.0.1:1", launcher="ray", **engine))  # type: ignore[arg-type]
    store = BlobStore.from_settings(settings)
    local = LocalLauncher(store, python=sys.executable, platform_url="127.0.0.1:1", extra_env={})
    return build_launchers(settings, store, local)[0]


def item(args: list[str], env: dict[str, str] | None = None, secret: bool = False) -> Attempt:
    task = tasks_pb2.TaskTemplate(type="python-task", container=tasks_pb2.Container(args=args))
    for key, value in (env or {}).items():
        task.container.env.append(literals_pb2.KeyValuePair(key=key, value=value))
    if secret:
        task.security_context.secrets.append(security_pb2.Secret(group="g", key="k"))
    return Attempt(
        execution=identifier_pb2.WorkflowExecutionIdentifier(project="p", domain="d", name="e"),
        node_id="n0",
        attempt=0,
        task=task,
        inputs_url="s3://b/in/inputs.pb",
        output_prefix="s3://b/out/0/0",
        raw_output_prefix="s3://b/out/0/0/raw",
        workdir=Path("/nonexistent"),
    )


def test_map_items_on_ray_run_in_batches_fast_registered_or_not(tmp_path: Path) -> None:
    batches = router(tmp_path).batches_for(item([*FAST, *MAP]))  # type: ignore[attr-defined]
    assert isinstance(batches, RayBatches) and batches.size == 100
    assert router(tmp_path).batches_for(item(MAP)) is not None  # type: ignore[attr-defined]
    assert router(tmp_path).batches_for(item(MAP, secret=True)) is not None  # type: ignore[attr-defined]


def test_other_commands_opt_outs_and_settings_run_one_ray_task_per_item(tmp_path: Path) -> None:
    plain = [*FAST, "pyflyte-execute", "--inputs", "x"]
    assert router(tmp_path).batches_for(item(plain)) is None  # type: ignore[attr-defined]
    assert router(tmp_path).batches_for(item(MAP, {"AERODROME_MAP_BATCH": "false"})) is None  # type: ignore[attr-defined]
    assert router(tmp_path, map_batch_size=0).batches_for(item(MAP)) is None  # type: ignore[attr-defined]
    assert router(tmp_path, warm_processes=False).batches_for(item(MAP)) is None  # type: ignore[attr-defined]
