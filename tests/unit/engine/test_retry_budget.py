"""Retry budgets: user and system failures spend separate budgets; non-retryable failures never retry."""

from __future__ import annotations

from flyteidl.core import execution_pb2

from aerodrome.engine.launchers.attempts import AttemptResult
from aerodrome.engine.nodes.task import RetryBudget

FAILURE = execution_pb2.ExecutionError(message="boom")


def failed(*, retryable: bool, system: bool) -> AttemptResult:
    return AttemptResult(error=FAILURE, retryable=retryable, system=system)


def test_user_and_system_failures_spend_their_own_budget() -> None:
    budget = RetryBudget(user=1, system=2)
    assert budget.spend(failed(retryable=True, system=False))
    assert not budget.spend(failed(retryable=True, system=False))
    assert budget.spend(failed(retryable=True, system=True))
    assert budget.spend(failed(retryable=True, system=True))
    assert not budget.spend(failed(retryable=True, system=True))


def test_permanent_failures_are_not_retried() -> None:
    budget = RetryBudget(user=5)
    assert not budget.spend(failed(retryable=False, system=False))
    assert not budget.spend(failed(retryable=False, system=True))
    assert (budget.user, budget.system) == (5, 3)
