"""Task resources in Ray's terms, the refusal of what no node can hold, and the blob store check."""

from __future__ import annotations

import pytest
from flyteidl.core import tasks_pb2
from google.protobuf import struct_pb2

from aerodrome.engine.launchers.on_ray.launcher import check_store, is_this_machine
from aerodrome.engine.launchers.on_ray.resources import QuantityError, quantity, ray_options, shortfall

R = tasks_pb2.Resources


def task(requests: dict[int, str] | None = None, limits: dict[int, str] | None = None) -> tasks_pb2.TaskTemplate:
    resources = R(
        requests=[R.ResourceEntry(name=k, value=v) for k, v in (requests or {}).items()],  # type: ignore[arg-type]
        limits=[R.ResourceEntry(name=k, value=v) for k, v in (limits or {}).items()],  # type: ignore[arg-type]
    )
    return tasks_pb2.TaskTemplate(container=tasks_pb2.Container(image="i", resources=resources))


@pytest.mark.parametrize(
    ("text", "value"), [("1", 1.0), ("500m", 0.5), ("2Gi", 2.0 * 2**30), ("1.5", 1.5), ("1G", 1e9), ("1e3", 1000.0)]
)
def test_quantities(text: str, value: float) -> None:
    assert quantity(text) == value


@pytest.mark.parametrize("text", ["", "one", "1Xi", "-1"])
def test_bad_quantities_are_refused(text: str) -> None:
    with pytest.raises(QuantityError):
        quantity(text)


def test_requests_win_over_limits_and_map_to_ray_options() -> None:
    options = ray_options(task({R.CPU: "500m", R.MEMORY: "1Gi"}, {R.CPU: "2", R.GPU: "1"}))
    assert options == {"num_cpus": 0.5, "num_gpus": 1.0, "memory": 2**30}
    assert ray_options(task()) == {"num_cpus": 1.0}


def test_accelerators_and_node_selectors_become_custom_resources() -> None:
    template = task()
    template.extended_resources.gpu_accelerator.device = "A100"
    spec = struct_pb2.Struct()
    spec.update({"nodeSelector": {"zone": "eu"}})
    template.k8s_pod.pod_spec.CopyFrom(spec)
    assert ray_options(template)["resources"] == {"accelerator_type:A100": 0.001, "zone=eu": 0.001}


NODES = [{"CPU": 2.0, "memory": 8.0 * 2**30}, {"CPU": 4.0, "memory": 2.0 * 2**30, "worker": 1.0}]


def test_shortfall_names_the_missing_resource() -> None:
    assert shortfall({"num_cpus": 4}, NODES, "c:1") == ""
    assert "1 GPU" in shortfall({"num_cpus": 1, "num_gpus": 1}, NODES, "c:1")
    too_many = shortfall({"num_cpus": 8}, NODES, "c:1")
    assert "8 CPU" in too_many and "more than 4 CPU" in too_many
    assert "resource 'zone=eu'" in shortfall({"num_cpus": 1, "resources": {"zone=eu": 0.001}}, NODES, "c:1")
    together = shortfall({"num_cpus": 3, "memory": 4 * 2**30}, NODES, "c:1")
    assert "no single node" in together


def test_a_local_store_serves_only_a_cluster_on_this_machine() -> None:
    assert is_this_machine("127.0.0.1") and not is_this_machine("192.0.2.10")  # TEST-NET-1: never assigned
    assert check_store(True, ["127.0.0.1", "127.0.0.1"], "c:1") == ""
    refused = check_store(True, ["127.0.0.1", "192.0.2.10"], "c:1")
    assert "192.0.2.10" in refused and "S3-compatible" in refused
    assert check_store(False, ["192.0.2.10"], "c:1") == ""
