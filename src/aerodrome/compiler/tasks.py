"""Task compilation: the reference's task checks; the compiled task is the (validated) template."""

from __future__ import annotations

import re

from flyteidl.core import compiler_pb2, tasks_pb2

from aerodrome.compiler.errors import Collector

_QUANTITY = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|[numkMGTPE]i?|Ki)?$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def compile_task(template: tasks_pb2.TaskTemplate) -> compiler_pb2.CompiledTask:
    """Validate a task template (PC/task_compiler.go); raises CompileErrors with every problem."""
    errors = Collector()
    if not template.HasField("id"):
        errors.value_required("task", "Id")
    if template.HasField("container"):
        container = template.container
        interface = template.interface
        if (interface.inputs.variables or interface.outputs.variables) and not (container.command or container.args):
            errors.value_required("container", "command")
        if not container.image:
            errors.value_required("container", "image")
        for entry in [*container.resources.requests, *container.resources.limits]:
            if not _QUANTITY.match(entry.value):
                errors.add("UnrecognizedValue", "container", f"Unrecognized value [{entry.value}].")
    if template.HasField("k8s_pod"):
        containers = template.k8s_pod.pod_spec.fields.get("containers")
        for container_value in containers.list_value.values if containers is not None else []:
            name = container_value.struct_value.fields.get("name")
            if name is None or not _DNS_LABEL.match(name.string_value):
                errors.add("InvalidValue", "k8s pod spec", "Invalid value [k8s pod spec container name].")
    errors.raise_if_any()
    return compiler_pb2.CompiledTask(template=template)
