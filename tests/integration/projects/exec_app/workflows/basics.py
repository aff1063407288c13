"""Workflows the execution tests run with real flytekit task processes."""

from __future__ import annotations

import os
import time
from functools import partial
from pathlib import Path

from flytekit import map_task, task, workflow
from flytekit.exceptions.user import FlyteRecoverableException


@task
def add(a: int, b: int) -> int:
    return a + b


@task
def greet(n: int, name: str) -> str:
    return f"hello {name} {n}"


@workflow
def two_tasks(a: int = 1, b: int = 2, name: str = "world") -> str:
    return greet(n=add(a=a, b=b), name=name)


@task
def explode(x: int) -> int:
    if x > 0:
        raise ValueError(f"boom from user code with {x}")
    return x


@workflow
def failing(x: int = 1) -> int:
    return explode(x=x)


@task(retries=2)
def flaky(marker_dir: str) -> int:
    """Fails (recoverably) on its first two attempts, then succeeds."""
    directory = Path(marker_dir)
    directory.mkdir(parents=True, exist_ok=True)
    attempts = len(list(directory.iterdir()))
    (directory / f"attempt-{attempts}").write_text(str(os.getpid()))
    if attempts < 2:
        raise FlyteRecoverableException(f"transient failure on attempt {attempts}")
    return attempts


@workflow
def retried(marker_dir: str) -> int:
    return flaky(marker_dir=marker_dir)


@task
def sleep_for(seconds: int, pid_file: str) -> int:
    Path(pid_file).write_text(str(os.getpid()))
    time.sleep(seconds)
    return seconds


@workflow
def sleepy(seconds: int = 600, pid_file: str = "/tmp/aerodrome-sleep.pid") -> int:
    return sleep_for(seconds=seconds, pid_file=pid_file)


@task
def step(x: int, pause: float) -> int:
    time.sleep(pause)
    return x + 1


@workflow
def chain(x: int = 0, pause: float = 1.0) -> int:
    a = step(x=x, pause=pause)
    b = step(x=a, pause=pause)
    c = step(x=b, pause=pause)
    d = step(x=c, pause=pause)
    return step(x=d, pause=pause)


@workflow
def slow_map(xs: list[int], pause: float = 1.0) -> list[int]:
    """Two items at a time, so a restart lands in the middle of the map."""
    return map_task(partial(step, pause=pause), concurrency=2)(x=xs)
