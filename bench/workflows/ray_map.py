"""A map task for bench/ray_launcher.py (tiny items, so the figure is the launcher's cost per item)."""

from __future__ import annotations

from flytekit import map_task, task, workflow


@task
def double(x: int) -> int:
    return 2 * x


@task
def total(xs: list[int]) -> int:
    return sum(xs)


@task
def numbers(n: int) -> list[int]:
    return list(range(n))


@workflow
def mapped(n: int = 1000) -> int:
    return total(xs=map_task(double, concurrency=32)(x=numbers(n=n)))
