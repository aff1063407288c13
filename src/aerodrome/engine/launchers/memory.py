"""A task's memory limit in bytes, as the launcher enforces it on a forked attempt (RLIMIT_AS)."""

from __future__ import annotations

from flyteidl.core import tasks_pb2

from aerodrome.managers.validation.tasks import parse_quantity


def memory_limit(task: tasks_pb2.TaskTemplate) -> int:
    """The container's memory limit (``limits.mem``), 0 when it has none or it cannot be read."""
    if not task.HasField("container"):
        return 0
    for entry in task.container.resources.limits:
        if entry.name == tasks_pb2.Resources.MEMORY:
            try:
                return max(0, int(parse_quantity(entry.value)))
            except ValueError:
                return 0
    return 0
