"""The workflow mix of the chaos suite (tests/support/chaos.py): every task leaves a side effect.

Each task run appends one line to ``$CHAOS_LEDGER/<execution>.<node path>.<attempt>`` before it works, so
the harness can count how often each node attempt really ran, next to the attempt records of the server.
"""

from __future__ import annotations

import os
import time
from datetime import timedelta
from functools import partial
from pathlib import Path

from flytekit import LaunchPlan, approve, current_context, map_task, task, workflow
from flytekit.exceptions.user import FlyteRecoverableException

PAUSE = 0.2


def _mark(tag: str) -> str:
    """Record this run in the ledger; returns the attempt number."""
    attempt = os.environ.get("FLYTE_ATTEMPT_NUMBER", "0")
    root = os.environ.get("CHAOS_LEDGER")
    if root:
        execution = os.environ.get("FLYTE_INTERNAL_EXECUTION_ID", "local")
        prefix = current_context().raw_output_prefix
        with open(Path(root) / f"{execution}.{tag}.{attempt}", "a") as ledger:
            ledger.write(f"{os.getpid()} {prefix}\n")
    return attempt


@task
def step(x: int, tag: str) -> int:
    _mark(tag)
    time.sleep(PAUSE)
    return x + 1


@task
def total(xs: list[int], tag: str) -> int:
    _mark(tag)
    return sum(xs)


@task
def item(x: int, pause: float) -> int:
    _mark(f"m{x}")
    time.sleep(pause)
    return x * 2


@task
def spread(x: int) -> list[int]:
    _mark("sp")
    return [x, x + 1, x + 2]


@task
def bucket(x: int) -> int:
    _mark("b")
    return x % 3


@task(cache=True, cache_version="1")
def cached_square(k: int) -> int:
    _mark("k")
    time.sleep(PAUSE)
    return k * k


@task(retries=4)
def flaky(x: int) -> int:
    """Fails recoverably on its first attempt, succeeds on any later one."""
    if _mark("r") == "0":
        raise FlyteRecoverableException("first attempt fails on purpose")
    return x + 1


@workflow
def chain(x: int) -> int:
    return step(x=step(x=step(x=x, tag="c1"), tag="c2"), tag="c3")


@workflow
def fanout(x: int) -> int:
    return total(xs=[step(x=x, tag=f"f{i}") for i in range(3)], tag="ft")


@workflow
def mapped(x: int) -> int:
    return total(xs=map_task(partial(item, pause=PAUSE), concurrency=2)(x=spread(x=x)), tag="mt")


@workflow
def inner(x: int) -> int:
    return step(x=step(x=x, tag="s1"), tag="s2")


@workflow
def sub(x: int) -> int:
    return step(x=inner(x=x), tag="s3")


inner_lp = LaunchPlan.get_or_create(inner, name="mix.inner_lp")


@workflow
def lp_node(x: int) -> int:
    return step(x=inner_lp(x=x), tag="l3")


@workflow
def gated(x: int) -> int:
    approved = approve(step(x=x, tag="g1"), "go", timeout=timedelta(minutes=30))
    return step(x=approved, tag="g2")


@workflow
def cached(x: int) -> int:
    return step(x=cached_square(k=bucket(x=x)), tag="k2")


@workflow
def retried(x: int) -> int:
    return step(x=flaky(x=x), tag="r2")
