"""A three-node pipeline and a launch plan that e-mails on failure and notifies Slack on success."""

from __future__ import annotations

from flytekit import Email, LaunchPlan, Slack, WorkflowExecutionPhase, task, workflow


@task
def check(x: int) -> int:
    if x < 0:
        raise ValueError(f"negative input {x} rejected by check")
    return x * 2


@task
def plus_one(x: int) -> int:
    return x + 1


@workflow
def pipeline(x: int = 1) -> int:
    return plus_one(x=plus_one(x=check(x=x)))


alerting = LaunchPlan.get_or_create(
    pipeline,
    name="alerting",
    notifications=[
        Email(phases=[WorkflowExecutionPhase.FAILED], recipients_email=["oncall@example.com"]),
        Slack(phases=[WorkflowExecutionPhase.SUCCEEDED], recipients_email=["team@example.slack.com"]),
    ],
)
