"""The launcher's vocabulary, shared by every launcher and by the node handlers: one attempt of a task
(what it runs, where its inputs are and where its outputs go) and what came of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from flyteidl.core import execution_pb2, identifier_pb2, literals_pb2, tasks_pb2

from aerodrome.values.provider_runtime import ProviderRuntime


@dataclass(frozen=True)
class Attempt:
    """Everything one attempt of a task needs."""

    execution: identifier_pb2.WorkflowExecutionIdentifier
    node_id: str
    attempt: int
    task: tasks_pb2.TaskTemplate
    inputs_url: str
    output_prefix: str
    raw_output_prefix: str
    workdir: Path
    workflow_name: str = ""
    launch_plan_name: str = ""
    envs: dict[str, str] = field(default_factory=dict)
    timeout_seconds: float | None = None
    prev_checkpoint: str = ""
    provider: ProviderRuntime | None = None  # the node's frozen provider: interpreter, code path, device


@dataclass(frozen=True)
class AttemptResult:
    """What an attempt produced: outputs, a dynamic job, or an error (retryable or not, user or system)."""

    outputs_url: str = ""
    dynamic_url: str = ""
    error: execution_pb2.ExecutionError | None = None
    retryable: bool = False
    system: bool = False
    log_url: str = ""
    cpu_seconds: float = 0.0
    peak_rss_bytes: int = 0
    exit_code: int | None = None
    outputs: literals_pb2.LiteralMap | None = None  # the outputs file as read when the attempt ended, if it was

    @property
    def ok(self) -> bool:
        return self.error is None


def user_error(code: str, message: str) -> AttemptResult:
    """A failed attempt that never started, for a reason the user can fix."""
    return AttemptResult(
        error=execution_pb2.ExecutionError(code=code, kind=execution_pb2.ExecutionError.USER, message=message)
    )


def system_error(code: str, message: str) -> AttemptResult:
    """A failed attempt that never started because of the platform (not retried)."""
    return AttemptResult(
        error=execution_pb2.ExecutionError(code=code, kind=execution_pb2.ExecutionError.SYSTEM, message=message)
    )
