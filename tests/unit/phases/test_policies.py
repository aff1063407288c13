"""The whole transition matrix of workflow, node and task events, pair by pair."""

from __future__ import annotations

import itertools

import pytest

from aerodrome.errors import AlreadyExists, AlreadyInTerminalState, FailedPrecondition
from aerodrome.phases.policies import NODE_POLICY, TASK_POLICY, WORKFLOW_POLICY, decide
from aerodrome.phases.rules import Transition
from aerodrome.phases.tables import (
    NODE,
    NODE_PHASES,
    TASK,
    TASK_PHASES,
    WF,
    WORKFLOW_PHASES,
    node_phase_name,
    task_phase_name,
    workflow_phase_name,
)

TERMINAL_WF = {WF.SUCCEEDED, WF.FAILED, WF.TIMED_OUT, WF.ABORTED}


def expected_workflow(cur: int, new: int) -> type | None:
    """The reference's rules for workflow events, written out independently of the rule classes."""
    if new != WF.QUEUED and cur == new:
        return AlreadyExists
    if cur in TERMINAL_WF:
        return AlreadyInTerminalState
    if (cur, new) == (WF.RUNNING, WF.QUEUED) or (cur == WF.ABORTING and new not in TERMINAL_WF):
        return FailedPrecondition
    return None


@pytest.mark.parametrize(
    ("cur", "new"),
    list(itertools.product(WORKFLOW_PHASES, WORKFLOW_PHASES)),
    ids=[
        f"{workflow_phase_name(a)}->{workflow_phase_name(b)}"
        for a, b in itertools.product(WORKFLOW_PHASES, WORKFLOW_PHASES)
    ],
)
def test_workflow_matrix(cur: int, new: int) -> None:
    verdict = decide(WORKFLOW_POLICY, Transition(cur, new, "p:d:n"))
    want = expected_workflow(cur, new)
    if want is None:
        assert verdict is None
    else:
        assert verdict is not None
        assert type(verdict.error) is want


@pytest.mark.parametrize(
    ("cur", "new"),
    list(itertools.product(NODE_PHASES, NODE_PHASES)),
    ids=[f"{node_phase_name(a)}->{node_phase_name(b)}" for a, b in itertools.product(NODE_PHASES, NODE_PHASES)],
)
def test_node_matrix(cur: int, new: int) -> None:
    verdict = decide(NODE_POLICY, Transition(cur, new, "n0"))
    terminal = {NODE.SUCCEEDED, NODE.FAILED, NODE.TIMED_OUT, NODE.ABORTED, NODE.SKIPPED, NODE.RECOVERED}
    if cur == new:
        assert verdict is not None and type(verdict.error) is AlreadyExists
    elif cur in terminal:
        assert verdict is not None and type(verdict.error) is AlreadyInTerminalState
    else:
        assert verdict is None


@pytest.mark.parametrize(
    ("cur", "new"),
    list(itertools.product(TASK_PHASES, TASK_PHASES)),
    ids=[f"{task_phase_name(a)}->{task_phase_name(b)}" for a, b in itertools.product(TASK_PHASES, TASK_PHASES)],
)
def test_task_matrix(cur: int, new: int) -> None:
    verdict = decide(TASK_POLICY, Transition(cur, new, "t", current_version=0, new_version=0))
    if cur == new:
        assert verdict is not None and type(verdict.error) is AlreadyExists
    elif cur in {TASK.SUCCEEDED, TASK.FAILED, TASK.ABORTED}:
        assert verdict is not None and type(verdict.error) is AlreadyInTerminalState
    else:
        assert verdict is None


def test_first_event_may_be_any_phase() -> None:
    for phase in WORKFLOW_PHASES:
        assert decide(WORKFLOW_POLICY, Transition(None, phase, "x")) is None
    for phase in NODE_PHASES:
        assert decide(NODE_POLICY, Transition(None, phase, "x")) is None


def test_task_same_phase_newer_version_is_an_update() -> None:
    assert decide(TASK_POLICY, Transition(TASK.RUNNING, TASK.RUNNING, "t", current_version=1, new_version=2)) is None
    verdict = decide(TASK_POLICY, Transition(TASK.RUNNING, TASK.RUNNING, "t", current_version=2, new_version=2))
    assert verdict is not None
    assert str(verdict.error) == "have already recorded task execution phase RUNNING (version: 2) for t"


def test_terminal_rejection_carries_detail_and_reference_text() -> None:
    verdict = decide(WORKFLOW_POLICY, Transition(WF.SUCCEEDED, WF.RUNNING, "project:p"))
    assert verdict is not None
    assert str(verdict.error) == "Invalid phase change from SUCCEEDED to RUNNING for workflow execution project:p"
    assert verdict.error.details is not None
    assert verdict.error.details.already_in_terminal_state.current_phase == "SUCCEEDED"
