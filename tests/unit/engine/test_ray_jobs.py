"""flytekit Ray tasks: the RayJob in ``custom`` read back, checked against a cluster's nodes, and the job's
entrypoint. The templates are the ones flytekitplugins-ray serializes (built with the real plugin)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from flyteidl.core import tasks_pb2
from flytekit.configuration import Image, ImageConfig, SerializationSettings
from flytekit.tools.translator import get_serializable

from aerodrome.engine.launchers.on_ray import jobs

plugin = pytest.importorskip("flytekitplugins.ray")


def template(config: object) -> tasks_pb2.TaskTemplate:
    from collections import OrderedDict

    from flytekit import task

    @task(task_config=config)
    def body() -> int:
        return 0

    settings = SerializationSettings(image_config=ImageConfig(default_image=Image(name="d", fqn="i", tag="t")))
    entity = get_serializable(OrderedDict(), settings, body)
    return entity.template.to_flyte_idl()  # type: ignore[no-any-return]


def test_the_plugins_job_is_read_back() -> None:
    config = plugin.RayJobConfig(
        worker_node_config=[plugin.WorkerNodeConfig("w", replicas=2, ray_start_params={"num-cpus": "2"})],
        runtime_env={"pip": [], "env_vars": {"A": "1"}},
    )
    spec = jobs.parse(template(config))
    assert spec.groups == (jobs.Group("w", 2, 2.0, 0.0),)
    assert spec.runtime_env == {"pip": [], "env_vars": {"A": "1"}}
    merged = jobs.job_runtime_env(spec, {"env_vars": {"B": "2"}, "pip": ["x"]}, {"FLYTE_X": "y"})
    assert merged == {"pip": [], "env_vars": {"B": "2", "A": "1", "FLYTE_X": "y"}}


HEAD = {"CPU": 2.0, "node:__internal_head__": 1.0}


def test_the_shape_must_fit_the_cluster() -> None:
    spec = jobs.RayJobSpec({}, 0.0, (jobs.Group("w", 1, 2.0, 0.0),))
    assert jobs.shape_shortfall(spec, [HEAD, {"CPU": 2.0}], "c:1") == ""
    assert "needs 1 worker node(s) with at least 2 CPU" in jobs.shape_shortfall(spec, [HEAD, {"CPU": 1.0}], "c:1")
    wide = jobs.RayJobSpec({}, 0.0, (jobs.Group("w", 3, 0.0, 0.0),))
    assert "can give it 1" in jobs.shape_shortfall(wide, [HEAD, {"CPU": 2.0}], "c:1")
    assert "head group" in jobs.shape_shortfall(jobs.RayJobSpec({}, 8.0, ()), [HEAD], "c:1")


def test_a_bad_runtime_env_is_a_clear_error() -> None:
    bad = tasks_pb2.TaskTemplate()
    bad.custom.update({"runtimeEnvYaml": "- a list"})
    with pytest.raises(jobs.RayJobSpecError, match="must be a mapping"):
        jobs.parse(bad)


def test_the_entrypoint_runs_in_a_scratch_directory_it_removes(tmp_path: Path) -> None:
    command = jobs.entrypoint(["sh", "-c", "pwd > out; cp out \"$0\"; exit 3", jobs.SCRATCH], str(tmp_path), "k")
    # The scratch directory is argv's last word here: the script copies its own cwd's "out" file onto it.
    result = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=30)
    assert result.returncode == 3
    assert list(tmp_path.iterdir()) == []  # removed afterwards
