"""Workflows the console's browser tests drive: three steps, a failure with a log, a gate, a slow run,
typed inputs for the launch form, a map, and a scheduled launch plan."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from flytekit import CronSchedule, LaunchPlan, approve, conditional, map_task, task, wait_for_input, workflow


@task
def step(x: int) -> int:
    time.sleep(1.5)
    return x + 1


@workflow
def three_steps(x: int = 1) -> int:
    return step(x=step(x=step(x=x)))


@task
def explode(x: int) -> int:
    print(f"about to fail on {x} <b>not bold</b>", flush=True)
    if x > 0:
        raise ValueError(f"cannot handle {x}")
    return x


@workflow
def broken(x: int = 7) -> int:
    return explode(x=step(x=x))


@task
def report(x: int) -> str:
    return f"approved {x}"


@workflow
def gated(x: int = 2) -> str:
    approved = approve(step(x=x), "review", timeout=timedelta(minutes=10))
    return report(x=approved)


@workflow
def titled(x: int = 1) -> str:
    title = wait_for_input("title", timeout=timedelta(minutes=10), expected_type=str)
    step(x=x) >> title
    return title


@task
def linger(x: int) -> int:
    time.sleep(120)
    return x


@workflow
def slow(x: int = 1) -> int:
    return linger(x=x)


@task
def describe(text: str, n: int, ratio: float, flag: bool, when: datetime, items: list[int]) -> str:
    return f"{text}|{n * 2}|{ratio}|{flag}|{when.year}|{sum(items)}"


@workflow
def typed(
    text: str,
    n: int,
    ratio: float = 0.5,
    flag: bool = False,
    when: datetime = datetime(2026, 1, 1),
    items: list[int] = [1, 2],  # noqa: B006 - flytekit turns defaults into literals; never mutated
) -> str:
    return describe(text=text, n=n, ratio=ratio, flag=flag, when=when, items=items)


@task
def square(x: int) -> int:
    return x * x


@workflow
def squares(xs: list[int] = [1, 2, 3]) -> list[int]:  # noqa: B006
    return map_task(square)(x=xs)


@workflow
def inner(x: int) -> int:
    return step(x=step(x=x))


@workflow
def nested(x: int = 1) -> int:
    """A subworkflow and a branch, drawn differently on the graph."""
    y = inner(x=x)
    return conditional("sign").if_(y > 0).then(step(x=y)).else_().then(square(x=y))


nightly = LaunchPlan.get_or_create(
    three_steps, name="nightly_three_steps", schedule=CronSchedule(schedule="30 2 * * *"), default_inputs={"x": 5}
)
