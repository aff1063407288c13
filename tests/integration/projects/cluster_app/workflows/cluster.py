"""Workflows the multi-process tests and bench/scale_out.py run on several aerodrome processes."""

from __future__ import annotations

import time
from datetime import timedelta

from flytekit import approve, sleep, task, workflow


@task
def step(x: int, pause: float) -> int:
    time.sleep(pause)
    return x + 1


@workflow
def chain(x: int = 0, pause: float = 0.0) -> int:
    """Five task nodes in a row."""
    a = step(x=x, pause=pause)
    b = step(x=a, pause=pause)
    c = step(x=b, pause=pause)
    d = step(x=c, pause=pause)
    return step(x=d, pause=pause)


@workflow
def one(x: int = 0) -> int:
    """One task: the unit of bench/scale_out.py's task-process figure."""
    return step(x=x, pause=0.0)


@workflow
def gates() -> None:
    """Five short sleep gates and no task: only the control plane works (bench/scale_out.py)."""
    a = sleep(timedelta(milliseconds=10))
    b = sleep(timedelta(milliseconds=10))
    c = sleep(timedelta(milliseconds=10))
    d = sleep(timedelta(milliseconds=10))
    e = sleep(timedelta(milliseconds=10))
    a >> b >> c >> d >> e


@workflow
def gated(x: int = 1) -> int:
    """Waits for an approval, then one task."""
    approved = approve(step(x=x, pause=0.0), "go", timeout=timedelta(minutes=5))
    return step(x=approved, pause=0.0)


@workflow
def long(seconds: float = 600.0) -> int:
    return step(x=0, pause=seconds)
