"""A task's resources in Ray's terms, and whether any node of a cluster can ever hold them.

CPU and GPU requests (limits when there is no request) become ``num_cpus`` / ``num_gpus``, memory becomes
``memory`` in bytes, a GPU accelerator becomes Ray's ``accelerator_type:<name>`` resource and each node
selector ``key: value`` of the task's pod template a custom resource ``key=value`` (start a node with
``--resources '{"key=value": 1}'`` to offer it). Ray queues a task that no node can hold forever, so
``shortfall`` names the resource instead, and the attempt fails at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from flyteidl.core import tasks_pb2
from google.protobuf import json_format

Resource = tasks_pb2.Resources.ResourceName
_QUANTITY = re.compile(r"^\s*([0-9.]+(?:[eE][-+]?[0-9]+)?)\s*([A-Za-z]*)\s*$")
_SUFFIXES = {
    "": 1.0,
    "m": 1e-3,
    "k": 1e3,
    "K": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "Ki": 2.0**10,
    "Mi": 2.0**20,
    "Gi": 2.0**30,
    "Ti": 2.0**40,
    "Pi": 2.0**50,
}
SELECTOR_AMOUNT = 0.001  # a node selector marks a kind of node; it does not use up the node's resource


class QuantityError(ValueError):
    """A resource value that is not a Kubernetes quantity."""


def quantity(text: str) -> float:
    """``"500m"`` → 0.5, ``"2Gi"`` → 2147483648.0, ``"1.5"`` → 1.5."""
    match = _QUANTITY.match(text)
    if match is None or match.group(2) not in _SUFFIXES:
        raise QuantityError(f"{text!r} is not a resource quantity (e.g. 1, 500m, 2Gi)")
    return float(match.group(1)) * _SUFFIXES[match.group(2)]


def _amounts(resources: tasks_pb2.Resources) -> dict[int, float]:
    """Requests, with limits filling what was not requested."""
    chosen: dict[int, float] = {}
    for entries in (resources.limits, resources.requests):  # requests win
        for entry in entries:
            if entry.value:
                chosen[entry.name] = quantity(entry.value)
    return chosen


def _node_selector(task: tasks_pb2.TaskTemplate) -> dict[str, str]:
    if not task.HasField("k8s_pod"):
        return {}
    spec: dict[str, Any] = json_format.MessageToDict(task.k8s_pod.pod_spec)
    selector = spec.get("nodeSelector") or {}
    return {str(k): str(v) for k, v in selector.items()}


def ray_options(task: tasks_pb2.TaskTemplate) -> dict[str, Any]:
    """``.options(...)`` for the Ray task of an attempt of ``task``."""
    amounts = _amounts(task.container.resources) if task.HasField("container") else {}
    options: dict[str, Any] = {"num_cpus": amounts.get(Resource.CPU, 1.0)}
    if amounts.get(Resource.GPU):
        options["num_gpus"] = amounts[Resource.GPU]
    if amounts.get(Resource.MEMORY):
        options["memory"] = int(amounts[Resource.MEMORY])
    custom: dict[str, float] = {}
    accelerator = task.extended_resources.gpu_accelerator.device
    if accelerator:
        custom[f"accelerator_type:{accelerator}"] = SELECTOR_AMOUNT
    for key, value in _node_selector(task).items():
        custom[f"{key}={value}"] = SELECTOR_AMOUNT
    if custom:
        options["resources"] = custom
    return options


def demand(options: Mapping[str, Any]) -> dict[str, float]:
    """The options as Ray resource names and amounts (what a node must have)."""
    wanted = {"CPU": float(options.get("num_cpus", 0.0)), "GPU": float(options.get("num_gpus", 0.0))}
    wanted["memory"] = float(options.get("memory", 0.0))
    wanted.update({k: float(v) for k, v in options.get("resources", {}).items()})
    return {k: v for k, v in wanted.items() if v > 0}


def shortfall(options: Mapping[str, Any], nodes: Sequence[Mapping[str, float]], cluster: str) -> str:
    """Why no node of the cluster can ever run a task with ``options`` ('' when one can)."""
    wanted = demand(options)
    if not nodes or any(all(node.get(k, 0.0) >= v for k, v in wanted.items()) for node in nodes):
        return ""
    for name, amount in wanted.items():
        most = max(node.get(name, 0.0) for node in nodes)
        if most < amount:
            return (
                f"the task asks for {_shown(name, amount)} but no node of the Ray cluster at {cluster} has "
                f"more than {_shown(name, most)}"
            )
    shown = ", ".join(_shown(k, v) for k, v in wanted.items())
    return f"the task asks for {shown} together, and no single node of the Ray cluster at {cluster} has all of it"


def _shown(name: str, amount: float) -> str:
    if name == "memory":
        return f"{amount / 2**30:.2f} GiB of memory"
    label = {"CPU": "CPU", "GPU": "GPU"}.get(name, f"resource {name!r}")
    return f"{amount:g} {label}"
