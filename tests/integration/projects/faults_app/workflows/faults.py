"""Workflows of tests/integration/test_dependency_faults.py: short chains that are running while a
dependency breaks, and a task that writes a very large log."""

from __future__ import annotations

import sys
import time

from flytekit import task, workflow


@task(retries=2)
def step(x: int, pause: float) -> int:
    time.sleep(pause)
    return x + 1


@workflow
def chain(x: int = 0, pause: float = 0.5) -> int:
    return step(x=step(x=step(x=step(x=x, pause=pause), pause=pause), pause=pause), pause=pause)


@task
def loud(megabytes: int) -> int:
    """Writes ``megabytes`` MiB to stdout (the task log), then answers."""
    line = "x" * 1023 + "\n"
    block = line * 1024
    for _ in range(megabytes):
        sys.stdout.write(block)
    sys.stdout.flush()
    return megabytes


@workflow
def noisy(megabytes: int = 200) -> int:
    return loud(megabytes=megabytes)
