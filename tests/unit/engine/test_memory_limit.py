"""A task's memory limit as the launcher reads it (bytes; 0 = none)."""

from __future__ import annotations

from flyteidl.core import tasks_pb2

from aerodrome.engine.launchers.memory import memory_limit


def task(*limits: tuple[int, str], container: bool = True) -> tasks_pb2.TaskTemplate:
    template = tasks_pb2.TaskTemplate()
    if container:
        template.container.image = "x"
        for name, value in limits:
            template.container.resources.limits.add(name=name, value=value)  # type: ignore[arg-type]
    return template


def test_memory_limit_in_bytes() -> None:
    assert memory_limit(task((tasks_pb2.Resources.CPU, "2"), (tasks_pb2.Resources.MEMORY, "256Mi"))) == 256 * 2**20
    assert memory_limit(task((tasks_pb2.Resources.MEMORY, "1G"))) == 10**9
    assert memory_limit(task((tasks_pb2.Resources.CPU, "2"))) == 0
    assert memory_limit(task((tasks_pb2.Resources.MEMORY, "lots"))) == 0
    assert memory_limit(task(container=False)) == 0
