"""Map tasks of the Ray launcher tests, in a module that does not import Ray: each batch of map items loads
the task's module once, and Ray's import would be most of what a batch costs."""

import os

from flytekit import map_task, task, workflow
from flytekit.exceptions.user import FlyteRecoverableException


def parent() -> str:
    """'zygote' when this process was forked from the Ray worker's warm process, else the parent's command."""
    with open(f"/proc/{os.getppid()}/cmdline", "rb") as handle:
        command = [a.decode() for a in handle.read().split(b"\0") if a]
    return "zygote" if any(os.path.basename(a) == "zygote.py" for a in command) else " ".join(command)


@task
def double(x: int) -> str:
    return f"{2 * x}:{parent()}:{os.getpid()}"


@workflow
def mapped(xs: list[int]) -> list[str]:
    return map_task(double, concurrency=16)(x=xs)


@task(retries=1)
def hazard(x: int) -> str:
    """Item 1 kills its process and item 5 fails on their first attempt; every item reports its attempt."""
    attempt = os.environ["FLYTE_ATTEMPT_NUMBER"]
    if attempt == "0" and x == 1:
        os._exit(7)
    if attempt == "0" and x == 5:
        raise FlyteRecoverableException("item 5 fails its first attempt")
    return f"{x}:{os.environ['FLYTE_K8S_ARRAY_INDEX']}:{attempt}"


@workflow
def hazards(xs: list[int]) -> list[str]:
    return map_task(hazard, concurrency=2)(x=xs)
