"""Workflows of bench/map_tasks.py: a map over 100, 1,000 and 10,000 tiny items (engine overhead per item)."""

from __future__ import annotations

from flytekit import map_task, task, workflow


@task
def square(x: int) -> int:
    return x * x


@task
def add_up(xs: list[int]) -> int:
    return sum(xs)


@workflow
def map100(n: int = 100) -> int:
    return add_up(xs=map_task(square)(x=list(range(100))))


@workflow
def map1000(n: int = 1000) -> int:
    return add_up(xs=map_task(square)(x=list(range(1000))))


@workflow
def map10000(n: int = 10000) -> int:
    return add_up(xs=map_task(square)(x=list(range(10000))))
