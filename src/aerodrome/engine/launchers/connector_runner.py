"""Runs one attempt of a task that has no container (sensors, and other agent/connector task types)
through flytekit's connector interface, in the task interpreter, as Flyte's agent service would.

``python connector_runner.py <task.pb> <inputs.pb> <output prefix>``: finds the connector registered for
the task's type (flytekit's own, such as the sensor engine, and those of every installed flytekit plugin),
then ``do`` for a synchronous connector, or ``create`` and ``get`` every few seconds until a terminal
phase for an asynchronous one; SIGTERM (the attempt's timeout, an abort) calls ``delete`` first. It
writes ``outputs.pb`` or ``error.pb`` under the output prefix, as a container task does. Standalone: it
imports only flytekit, so any interpreter that can run a task can run it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tempfile
from typing import Any

POLL_SECONDS = 2.0


def _load(ctx: Any, url: str, cls: Any) -> Any:
    from flytekit.core import utils

    local = os.path.join(tempfile.mkdtemp(), "message.pb")
    ctx.file_access.get_data(url, local)
    return utils.load_proto_from_file(cls, local)


def _store(ctx: Any, message: Any, url: str) -> None:
    from flytekit.core import utils

    local = os.path.join(tempfile.mkdtemp(), "message.pb")
    utils.write_proto_to_file(message, local)
    ctx.file_access.put_data(local, url)


def _fail(ctx: Any, prefix: str, code: str, message: str, recoverable: bool = False) -> None:
    from flyteidl.core import errors_pb2, execution_pb2

    kind = errors_pb2.ContainerError.RECOVERABLE if recoverable else errors_pb2.ContainerError.NON_RECOVERABLE
    error = errors_pb2.ContainerError(code=code, message=message, kind=kind, origin=execution_pb2.ExecutionError.USER)
    _store(ctx, errors_pb2.ErrorDocument(error=error), f"{prefix}/error.pb")


def _connector(template: Any) -> Any:
    import flytekit.sensor.sensor_engine  # noqa: F401 - registers the sensor connector
    from flytekit.extend.backend.base_connector import ConnectorRegistry

    try:
        return ConnectorRegistry.get_connector(template.type, template.task_type_version)
    except Exception:
        known = sorted(_task_types())
        raise LookupError(
            f"no connector for task type {template.type!r} (version {template.task_type_version}) in this "
            f"server's task environment; supported task types: {', '.join(known) or 'none'}. Install the "
            "flytekit plugin that provides it into the interpreter that runs tasks."
        ) from None


def _task_types() -> set[str]:
    from flytekit.extend.backend.base_connector import ConnectorRegistry

    registry = getattr(ConnectorRegistry, "_REGISTRY", {})
    return {str(getattr(category, "name", category)) for category in registry}


async def _run(template: Any, inputs: Any, prefix: str) -> Any:
    from flytekit.extend.backend.base_connector import SyncConnectorBase
    from flytekit.extend.backend.utils import is_terminal_phase, mirror_async_methods

    connector = _connector(template)
    if isinstance(connector, SyncConnectorBase):
        return await mirror_async_methods(connector.do, task_template=template, inputs=inputs, output_prefix=prefix)
    meta = await mirror_async_methods(connector.create, task_template=template, inputs=inputs, output_prefix=prefix)
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stopping.set)
    while True:
        resource = await mirror_async_methods(connector.get, resource_meta=meta)
        if is_terminal_phase(resource.phase):
            return resource
        try:
            await asyncio.wait_for(stopping.wait(), POLL_SECONDS)
        except TimeoutError:
            continue
        await mirror_async_methods(connector.delete, resource_meta=meta)
        raise SystemExit(143)


def main(task_url: str, inputs_url: str, prefix: str) -> int:
    from flyteidl.core import literals_pb2, tasks_pb2
    from flyteidl.core.execution_pb2 import TaskExecution
    from flytekit.core.context_manager import FlyteContextManager
    from flytekit.core.type_engine import TypeEngine
    from flytekit.models.literals import LiteralMap
    from flytekit.models.task import TaskTemplate

    ctx = FlyteContextManager.current_context()
    template = TaskTemplate.from_flyte_idl(_load(ctx, task_url, tasks_pb2.TaskTemplate))
    inputs = LiteralMap.from_flyte_idl(_load(ctx, inputs_url, literals_pb2.LiteralMap))
    try:
        resource = asyncio.run(_run(template, inputs, prefix))
    except LookupError as exc:
        _fail(ctx, prefix, "ConnectorNotFound", str(exc))
        return 0
    except Exception as exc:  # the connector's own failure is the task's failure
        _fail(ctx, prefix, "ConnectorFailed", f"{type(exc).__name__}: {exc}")
        return 0
    if resource.phase != TaskExecution.SUCCEEDED:
        retryable = resource.phase == getattr(TaskExecution, "RETRYABLE_FAILED", -1)
        message = resource.message or f"the connector ended in phase {TaskExecution.Phase.Name(resource.phase)}"
        _fail(ctx, prefix, "ConnectorFailed", message, recoverable=retryable)
        return 0
    outputs = resource.outputs
    if outputs is None:
        if template.interface.outputs:  # the connector wrote outputs.pb itself
            return 0
        outputs = LiteralMap(literals={})
    elif not isinstance(outputs, LiteralMap):
        types = TypeEngine.guess_python_types(template.interface.outputs)
        outputs = TypeEngine.dict_to_literal_map(ctx, outputs, type_hints=types)
    _store(ctx, outputs.to_flyte_idl(), f"{prefix}/outputs.pb")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
