"""Phase sets of workflow, node and task executions, as data (flyte-backend-semantics §3.10)."""

from __future__ import annotations

from flyteidl.core import execution_pb2

WF = execution_pb2.WorkflowExecution
NODE = execution_pb2.NodeExecution
TASK = execution_pb2.TaskExecution

WORKFLOW_PHASES: tuple[int, ...] = tuple(WF.Phase.values())
NODE_PHASES: tuple[int, ...] = tuple(NODE.Phase.values())
TASK_PHASES: tuple[int, ...] = tuple(TASK.Phase.values())

WORKFLOW_TERMINAL = frozenset({WF.SUCCEEDED, WF.FAILED, WF.TIMED_OUT, WF.ABORTED})
NODE_TERMINAL = frozenset({NODE.SUCCEEDED, NODE.FAILED, NODE.TIMED_OUT, NODE.ABORTED, NODE.SKIPPED, NODE.RECOVERED})
TASK_TERMINAL = frozenset({TASK.SUCCEEDED, TASK.FAILED, TASK.ABORTED})


def workflow_phase_name(phase: int) -> str:
    return str(WF.Phase.Name(phase))


def node_phase_name(phase: int) -> str:
    return str(NODE.Phase.Name(phase))


def task_phase_name(phase: int) -> str:
    return str(TASK.Phase.Name(phase))
