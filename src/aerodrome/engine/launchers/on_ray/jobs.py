"""flytekit Ray tasks (task type ``ray``, ``RayJobConfig``): what ``flytekitplugins-ray`` serializes into
the task's ``custom`` (a ``RayJob``: the cluster shape and a ``runtime_env``), checked against an existing
cluster, and the Ray job that runs the task's command as its entrypoint.

The job's driver is ``pyflyte-execute`` itself: inside a Ray job ``RAY_ADDRESS`` is set, so the plugin's
``ray.init()`` joins the cluster and the task body's ``ray.remote`` calls run on it. The entrypoint runs in a
fresh scratch directory on the head node, removed when it ends.
"""

from __future__ import annotations

import base64
import binascii
import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from flyteidl.core import tasks_pb2
from google.protobuf import json_format

from aerodrome.engine.launchers.on_ray.remote import SCRATCH

HEAD_MARK = "node:__internal_head__"


class RayJobSpecError(ValueError):
    """A ``custom`` that is not a RayJob this server can run."""


@dataclass(frozen=True)
class Group:
    """One worker group of the requested cluster shape."""

    name: str
    replicas: int
    cpus: float
    gpus: float


@dataclass(frozen=True)
class RayJobSpec:
    runtime_env: dict[str, Any]
    head_cpus: float
    groups: tuple[Group, ...]


def parse(task: tasks_pb2.TaskTemplate) -> RayJobSpec:
    """The RayJob in ``task.custom`` (camelCase JSON of flyteidl's plugins.RayJob)."""
    custom: dict[str, Any] = json_format.MessageToDict(task.custom) if task.HasField("custom") else {}
    cluster = custom.get("rayCluster") or {}
    head = cluster.get("headGroupSpec") or {}
    groups = tuple(
        Group(
            name=str(g.get("groupName", "")),
            replicas=int(g.get("replicas", 0) or 0),
            cpus=_param(g.get("rayStartParams"), "num-cpus"),
            gpus=_param(g.get("rayStartParams"), "num-gpus"),
        )
        for g in cluster.get("workerGroupSpec") or []
    )
    return RayJobSpec(_runtime_env(custom), _param(head.get("rayStartParams"), "num-cpus"), groups)


def _param(params: Mapping[str, Any] | None, name: str) -> float:
    value = (params or {}).get(name, 0)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise RayJobSpecError(f"rayStartParams {name} {value!r} is not a number") from None


def _runtime_env(custom: Mapping[str, Any]) -> dict[str, Any]:
    """``runtimeEnvYaml`` when present, else the deprecated base64 JSON ``runtimeEnv``."""
    try:
        if custom.get("runtimeEnvYaml"):
            loaded = yaml.safe_load(custom["runtimeEnvYaml"])
        elif custom.get("runtimeEnv"):
            loaded = json.loads(base64.b64decode(custom["runtimeEnv"]))
        else:
            return {}
    except (yaml.YAMLError, ValueError, binascii.Error) as exc:
        raise RayJobSpecError(f"the Ray task's runtime_env cannot be read: {exc}") from None
    if not isinstance(loaded, dict):
        raise RayJobSpecError("the Ray task's runtime_env must be a mapping")
    return loaded


def shape_shortfall(spec: RayJobSpec, nodes: Sequence[Mapping[str, float]], cluster: str) -> str:
    """Why the requested head and worker groups do not fit the cluster's nodes ('' when they do): the head
    group needs the head node, each worker replica a node of its own with the group's CPUs and GPUs."""
    heads = [n for n in nodes if n.get(HEAD_MARK)]
    if heads and heads[0].get("CPU", 0.0) < spec.head_cpus:
        return f"the Ray job's head group needs {spec.head_cpus:g} CPU; the head node of {cluster} has less"
    free = sorted((n for n in nodes if not n.get(HEAD_MARK)), key=lambda n: (n.get("CPU", 0.0), n.get("GPU", 0.0)))
    for group in sorted(spec.groups, key=lambda g: (-g.cpus, -g.gpus)):
        for replica in range(group.replicas):
            fit = next((n for n in free if n.get("CPU", 0.0) >= group.cpus and n.get("GPU", 0.0) >= group.gpus), None)
            if fit is None:
                return (
                    f"the Ray job's worker group {group.name!r} needs {group.replicas} worker node(s) with at least "
                    f"{group.cpus:g} CPU and {group.gpus:g} GPU each; the Ray cluster at {cluster} can give it "
                    f"{replica} (it has {len(nodes) - len(heads)} worker node(s) for "
                    f"{sum(g.replicas for g in spec.groups)} requested replicas)"
                )
            free.remove(fit)
    return ""


def entrypoint(argv: Sequence[str], scratch_root: str, key: str) -> str:
    """A shell command that runs ``argv`` in a new scratch directory and removes it afterwards."""
    root = shlex.quote(scratch_root) if scratch_root else '"${TMPDIR:-/tmp}/aerodrome-ray"'
    command = " ".join('"$D"' if a == SCRATCH else shlex.quote(a) for a in argv)
    return (
        f"mkdir -p {root} && D=$(mktemp -d {root}/{shlex.quote(key[:80])}-XXXXXX) && cd \"$D\" && "
        f'{{ {command}; }}; code=$?; cd / && rm -rf "$D"; exit $code'
    )


def job_runtime_env(spec: RayJobSpec, provider_env: Mapping[str, Any], variables: Mapping[str, str]) -> dict[str, Any]:
    """The provider's runtime_env, then the task config's, with the attempt's variables added to env_vars."""
    merged: dict[str, Any] = {**provider_env, **spec.runtime_env}
    merged["env_vars"] = {**provider_env.get("env_vars", {}), **spec.runtime_env.get("env_vars", {}), **variables}
    return merged
