"""Task template checks that FlyteAdmin runs before compiling (AP/manager/impl/validation/task_validator.go)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from flyteidl.core import tasks_pb2

from aerodrome.errors import InvalidArgument, missing

_QUANTITY = re.compile(r"^([+-]?[0-9.]+)([eE][+-]?[0-9]+|[numkMGTPE]i?|Ki)?$")
_SUFFIX: dict[str, Decimal | int] = {
    "": 1,
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "E": 10**18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}
_NAMES: dict[int, str] = {
    tasks_pb2.Resources.CPU: "cpu",
    tasks_pb2.Resources.MEMORY: "memory",
    tasks_pb2.Resources.GPU: "gpu",
    tasks_pb2.Resources.EPHEMERAL_STORAGE: "ephemeral_storage",
}


def parse_quantity(value: str) -> Decimal:
    """A Kubernetes resource quantity (``500m``, ``1Gi``, ``2``) as a number."""
    match = _QUANTITY.match(value.strip())
    if not match:
        raise ValueError(f"quantities must match the regular expression {_QUANTITY.pattern}")
    number, suffix = match.group(1), match.group(2) or ""
    try:
        if suffix[:1] in {"e", "E"}:
            return Decimal(number + suffix)
        return Decimal(number) * Decimal(_SUFFIX[suffix])
    except (InvalidOperation, KeyError):
        raise ValueError(f"unparseable quantity {value!r}") from None


def _entries(entries: list[tasks_pb2.Resources.ResourceEntry], kind: str) -> dict[int, Decimal]:
    parsed: dict[int, Decimal] = {}
    for entry in entries:
        if entry.name not in _NAMES:
            continue
        name = _NAMES[entry.name]
        if entry.name in parsed:
            raise InvalidArgument(f"can't specify {name} {kind} for task multiple times")
        try:
            parsed[entry.name] = parse_quantity(entry.value)
        except ValueError as exc:
            raise InvalidArgument(
                f"Parsing of {name} {kind} failed for value {entry.value} - reason  {exc}. Please follow K8s "
                "conventions for resources https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/"
            ) from None
    return parsed


def validate_resources(resources: tasks_pb2.Resources) -> None:
    """Quantities parse, no duplicates, GPUs whole and request ≤ limit."""
    requests = _entries(list(resources.requests), "request")
    limits = _entries(list(resources.limits), "limit")
    for resource, request in requests.items():
        name = _NAMES[resource]
        limit = limits.get(resource)
        if resource == tasks_pb2.Resources.GPU:
            if request != request.to_integral_value():
                raise InvalidArgument(f"gpu for task must be a whole number, got: {request} instead")
            if limit is not None and limit != request:
                raise InvalidArgument(
                    "For extended resource 'gpu' the default value must equal the limit value for task"
                )
        elif limit is not None and request > limit:
            raise InvalidArgument(
                f"Requested {name} default [{request}] is greater than the limit [{limit}]. "
                "Please fix your configuration"
            )


def validate_template(template: tasks_pb2.TaskTemplate) -> None:
    """Type, metadata, runtime version, interface and container fields."""
    if not template.type:
        raise missing("type")
    if not template.HasField("metadata"):
        raise missing("metadata")
    if template.metadata.HasField("runtime") and not template.metadata.runtime.version:
        raise missing("runtime version")
    if not template.HasField("interface"):
        raise missing("typed interface")
    if template.HasField("container"):
        if not template.container.image:
            raise missing("image")
        validate_resources(template.container.resources)
    if template.HasField("k8s_pod") and not template.k8s_pod.HasField("pod_spec"):
        raise InvalidArgument(
            "invalid TaskSpecification, pod tasks should specify their target as a K8sPod with a defined pod spec"
        )
