"""Transition rules: each looks at one event against the stored record and may reject it.

A rule declares the stored phases (``FROM``) and event phases (``TO``) it applies to and returns a
``Reject`` (with the error the caller gets) or ``None`` to let later rules decide. Rules carry the
reference's exact texts (FlyteAdmin execution, node and task event handlers).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from flyteidl.admin import event_pb2

from aerodrome.errors import AdminError, AlreadyExists, AlreadyInTerminalState, FailedPrecondition
from aerodrome.phases.tables import (
    NODE_TERMINAL,
    TASK_TERMINAL,
    WF,
    WORKFLOW_TERMINAL,
    node_phase_name,
    task_phase_name,
    workflow_phase_name,
)


@dataclass(frozen=True)
class Transition:
    """An event's phase against the stored record (``current`` is None when there is no record yet)."""

    current: int | None
    new: int
    subject: object  # how the record is named in messages (its str(), made only when a message is)
    current_version: int = 0
    new_version: int = 0


@dataclass(frozen=True)
class Reject:
    """The event must not be applied; the caller gets ``error``."""

    error: AdminError


def terminal_detail(phase_name: str) -> event_pb2.EventFailureReason:
    return event_pb2.EventFailureReason(
        already_in_terminal_state=event_pb2.EventErrorAlreadyInTerminalState(current_phase=phase_name)
    )


class Rule:
    """Base class: applies when the stored phase is in FROM and the event phase in TO (None = any)."""

    FROM: ClassVar[frozenset[int] | None] = None
    TO: ClassVar[frozenset[int] | None] = None

    def applies(self, t: Transition) -> bool:
        if t.current is None:
            return False
        return (self.FROM is None or t.current in self.FROM) and (self.TO is None or t.new in self.TO)

    def check(self, t: Transition) -> Reject | None:
        raise NotImplementedError


class SamePhaseTwice(Rule):
    """Workflow: a repeated non-QUEUED phase is a duplicate (AlreadyExists, which engines treat as done)."""

    TO = frozenset(set(WF.Phase.values()) - {WF.QUEUED})

    def check(self, t: Transition) -> Reject | None:
        if t.current != t.new:
            return None
        name = workflow_phase_name(t.new)
        return Reject(AlreadyExists(f"This phase {name} was already recorded for workflow execution {t.subject}"))


class WorkflowAlreadyEnded(Rule):
    FROM = WORKFLOW_TERMINAL

    def check(self, t: Transition) -> Reject | None:
        assert t.current is not None
        cur, new = workflow_phase_name(t.current), workflow_phase_name(t.new)
        return Reject(
            AlreadyInTerminalState(
                f"Invalid phase change from {cur} to {new} for workflow execution {t.subject}",
                details=terminal_detail(cur),
            )
        )


class RunningBackToQueued(Rule):
    FROM = frozenset({WF.RUNNING})
    TO = frozenset({WF.QUEUED})

    def check(self, t: Transition) -> Reject | None:
        return Reject(FailedPrecondition(f"Cannot go from RUNNING to QUEUED for workflow execution {t.subject}"))


class AbortingMustEnd(Rule):
    FROM = frozenset({WF.ABORTING})
    TO = frozenset(set(WF.Phase.values()) - WORKFLOW_TERMINAL)

    def check(self, t: Transition) -> Reject | None:
        new = workflow_phase_name(t.new)
        return Reject(
            FailedPrecondition(f"Invalid phase change from aborting to {new} for workflow execution {t.subject}")
        )


class NodeSamePhase(Rule):
    def check(self, t: Transition) -> Reject | None:
        if t.current != t.new:
            return None
        return Reject(AlreadyExists(f"This phase was already recorded {node_phase_name(t.new)} for {t.subject}"))


class NodeAlreadyEnded(Rule):
    FROM = NODE_TERMINAL

    def check(self, t: Transition) -> Reject | None:
        assert t.current is not None
        cur, new = node_phase_name(t.current), node_phase_name(t.new)
        # The reference reports the event's phase as the "current" phase in the detail (sic).
        return Reject(
            AlreadyInTerminalState(
                f"Invalid phase change from {cur} to {new} for node execution {t.subject}", details=terminal_detail(new)
            )
        )


class TaskSamePhaseOlderVersion(Rule):
    def check(self, t: Transition) -> Reject | None:
        if t.current != t.new or t.current_version < t.new_version:
            return None
        return Reject(
            AlreadyExists(
                f"have already recorded task execution phase {task_phase_name(t.new)} "
                f"(version: {t.new_version}) for {t.subject}"
            )
        )


class TaskAlreadyEnded(Rule):
    FROM = TASK_TERMINAL

    def check(self, t: Transition) -> Reject | None:
        assert t.current is not None
        cur, new = task_phase_name(t.current), task_phase_name(t.new)
        return Reject(
            AlreadyInTerminalState(
                f"invalid phase change from {cur} to {new} for task execution {t.subject}", details=terminal_detail(new)
            )
        )
