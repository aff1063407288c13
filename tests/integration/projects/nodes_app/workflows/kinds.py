"""Workflows that use every node kind the engine runs (registered by tests/integration/test_node_kinds.py)."""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta
from pathlib import Path

from flytekit import (
    CronSchedule,
    LaunchPlan,
    approve,
    conditional,
    dynamic,
    eager,
    map_task,
    sleep,
    task,
    wait_for_input,
    workflow,
)
from flytekit.types.error import FlyteError


@task
def square(x: int) -> int:
    return x * x


@task
def total(xs: list[int]) -> int:
    return sum(xs)


@task
def double(x: int) -> int:
    return 2 * x


@task
def add(a: int, b: int) -> int:
    return a + b


@workflow
def map_squares(xs: list[int]) -> int:
    return total(xs=map_task(square)(x=xs))


@dynamic
def dyn_squares(n: int) -> int:
    doubled = [double(x=i) for i in range(n)]
    return add(a=total(xs=map_task(square)(x=list(range(n)))), b=total(xs=doubled))


@task
def picky(x: int) -> int:
    if x % 2:
        raise ValueError(f"odd {x}")
    return x


@workflow
def tolerant_map(xs: list[int]) -> list[int | None]:
    return map_task(picky, min_success_ratio=0.5)(x=xs)


@workflow
def strict_map(xs: list[int]) -> list[int | None]:
    return map_task(picky, min_success_ratio=0.9)(x=xs)


@workflow
def dynamic_wf(n: int) -> int:
    return dyn_squares(n=n)


@workflow
def inner(x: int) -> int:
    return double(x=square(x=x))


@workflow
def with_subworkflow(x: int) -> int:
    return double(x=inner(x=x))


@workflow
def classify(x: int) -> int:
    return (
        conditional("sign")
        .if_(x > 0)
        .then(double(x=x))
        .elif_(x < 0)
        .then(square(x=x))
        .else_()
        .fail("zero is neither positive nor negative")
    )


@task
def report(x: int) -> str:
    return f"report {x}"


@task
def titled(title: str, body: str) -> str:
    return f"{title} {body}"


@workflow
def approval(x: int) -> str:
    approved = approve(double(x=x), "review", timeout=timedelta(minutes=5))
    return report(x=approved)


@workflow
def impatient(x: int) -> str:
    approved = approve(double(x=x), "never", timeout=timedelta(seconds=2))
    return report(x=approved)


@workflow
def typed_input(x: int) -> str:
    title = wait_for_input("title", timeout=timedelta(minutes=5), expected_type=str)
    return titled(title=title, body=report(x=x))


@workflow
def nap(x: int) -> int:
    pause = sleep(timedelta(seconds=1))
    result = double(x=x)
    pause >> result
    return result


# Launch plans nested three levels deep: outer -> middle -> inner_lp.
inner_lp = LaunchPlan.get_or_create(inner, name="kinds.inner_lp")


@workflow
def middle(x: int) -> int:
    return double(x=inner_lp(x=x))


middle_lp = LaunchPlan.get_or_create(middle, name="kinds.middle_lp")


@workflow
def outer(x: int) -> int:
    return add(a=middle_lp(x=x), b=inner_lp(x=x))


@task
def fragile(x: int, marker: str) -> int:
    if Path(marker).exists():
        raise ValueError(f"marker {marker} present")
    return x + 1


@task
def cleanup(x: int, marker: str, err: FlyteError | None = None) -> None:
    Path(marker + ".cleaned").write_text(err.message if err else "no error")


@workflow(on_failure=cleanup)
def with_failure_node(x: int, marker: str) -> int:
    return fragile(x=x, marker=marker)


@workflow
def recoverable(x: int, marker: str) -> int:
    return fragile(x=double(x=x), marker=marker)


@task(cache=True, cache_version="1")
def counted(x: int, ledger: str) -> int:
    with open(ledger, "a") as handle:
        handle.write(f"{os.getpid()}\n")
    return x * 10


@workflow
def cached(x: int, ledger: str) -> int:
    return counted(x=x, ledger=ledger)


@task(cache=True, cache_version="1", cache_serialize=True)
def serialized(x: int, ledger: str) -> int:
    with open(ledger, "a") as handle:
        handle.write(f"{os.getpid()}\n")
    time.sleep(3)
    return x * 100


@workflow
def serialized_wf(x: int, ledger: str) -> int:
    return serialized(x=x, ledger=ledger)


@task
def stamp(when: datetime) -> str:
    return when.isoformat()


@workflow
def daily(when: datetime) -> str:
    return stamp(when=when)


daily_lp = LaunchPlan.get_or_create(
    daily,
    name="kinds.daily_lp",
    schedule=CronSchedule(schedule="0 0 * * *", kickoff_time_input_arg="when"),
)


@eager
async def eager_squares(x: int) -> int:
    squared = square(x=x)  # inside an eager task, each call is a child execution on the backend
    return double(x=squared)
