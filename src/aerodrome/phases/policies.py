"""Ordered rule lists per record kind; the first rule that rejects decides, otherwise the event is accepted."""

from __future__ import annotations

from collections.abc import Sequence

from aerodrome.phases.rules import (
    AbortingMustEnd,
    NodeAlreadyEnded,
    NodeSamePhase,
    Reject,
    Rule,
    RunningBackToQueued,
    SamePhaseTwice,
    TaskAlreadyEnded,
    TaskSamePhaseOlderVersion,
    Transition,
    WorkflowAlreadyEnded,
)

WORKFLOW_POLICY: tuple[Rule, ...] = (SamePhaseTwice(), WorkflowAlreadyEnded(), RunningBackToQueued(), AbortingMustEnd())
NODE_POLICY: tuple[Rule, ...] = (NodeSamePhase(), NodeAlreadyEnded())
TASK_POLICY: tuple[Rule, ...] = (TaskSamePhaseOlderVersion(), TaskAlreadyEnded())


def decide(policy: Sequence[Rule], transition: Transition) -> Reject | None:
    """None when the event may be applied; the first rejection otherwise. A first event is always accepted."""
    for rule in policy:
        if rule.applies(transition):
            verdict = rule.check(transition)
            if verdict is not None:
                return verdict
    return None
