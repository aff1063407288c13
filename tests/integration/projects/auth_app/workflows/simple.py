"""A workflow small enough to run quickly under authentication."""

from flytekit import task, workflow


@task
def add(a: int, b: int) -> int:
    return a + b


@workflow
def wf(a: int = 1, b: int = 2) -> int:
    return add(a=a, b=b)
