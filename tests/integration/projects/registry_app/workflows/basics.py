"""A small flytekit project used by the registration tests: tasks, workflows, launch plans."""

from __future__ import annotations

from datetime import datetime

from flytekit import CronSchedule, LaunchPlan, task, workflow


@task
def add(a: int, b: int) -> int:
    return a + b


@task
def double(x: int) -> int:
    return x * 2


@task
def greet(name: str) -> str:
    return f"hello {name}"


@task
def shout(text: str) -> str:
    return text.upper()


@task
def stamp(when: datetime, label: str) -> str:
    return f"{label}@{when.isoformat()}"


@workflow
def arithmetic(a: int = 1, b: int = 2) -> int:
    return double(x=add(a=a, b=b))


@workflow
def inner(name: str) -> str:
    return shout(text=greet(name=name))


@workflow
def with_subworkflow(name: str = "world") -> str:
    return inner(name=name)


arithmetic_fixed = LaunchPlan.get_or_create(
    arithmetic, name="arithmetic_fixed", fixed_inputs={"a": 10}, default_inputs={"b": 5}
)


@workflow
def calls_launch_plan(b: int = 3) -> int:
    return arithmetic_fixed(b=b)


@workflow
def stamped(when: datetime, label: str = "tick") -> str:
    return stamp(when=when, label=label)


nightly = LaunchPlan.get_or_create(
    stamped,
    name="stamped_nightly",
    schedule=CronSchedule(schedule="0 2 * * *", kickoff_time_input_arg="when"),
    default_inputs={"label": "nightly"},
)
