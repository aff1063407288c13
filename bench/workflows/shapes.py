"""Workflows measured by bench/execution.py (tiny tasks, so the figures are engine overhead)."""

from __future__ import annotations

from flytekit import map_task, task, workflow


@task
def inc(x: int) -> int:
    return x + 1


@workflow
def one(x: int = 0) -> int:
    return inc(x=x)


@workflow
def chain100(x: int = 0) -> int:
    value = inc(x=x)
    for _ in range(99):
        value = inc(x=value)
    return value


@task
def total(xs: list[int]) -> int:
    return sum(xs)


@workflow
def fanout100(x: int = 0) -> int:
    return total(xs=[inc(x=x) for _ in range(99)])


@workflow
def map1000(x: int = 0) -> int:
    return total(xs=map_task(inc)(x=list(range(1000))))
