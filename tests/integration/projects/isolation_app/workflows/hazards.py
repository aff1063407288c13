"""Tasks that misbehave in every way a task process can: crash, exit, hang, leak, eat memory, change its
directory and environment. tests/integration/test_isolation.py checks none of it reaches the server, the
next attempt, another map item or another execution."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import time
from datetime import timedelta

from flytekit import Resources, map_task, task, workflow
from flytekit.exceptions.user import FlyteRecoverableException

HOARD: list[bytearray] = []  # what the leaking task keeps


@task
def misbehave(x: int) -> int:
    """Item 1 segfaults, 2 aborts, 3 leaves with os._exit(0) before writing anything; others square x."""
    if x == 1:
        ctypes.string_at(0)  # a read of address 0: SIGSEGV
    if x == 2:
        os.abort()
    if x == 3:
        os._exit(0)
    return x * x


@workflow
def crashing_map(xs: list[int]) -> list[int | None]:
    return map_task(misbehave, min_success_ratio=0.1)(x=xs)


@task
def tidy(x: int) -> str:
    """Reports what it found (an environment variable or directory left by an item before it, its index),
    then leaves a mess for the next one."""
    found = os.environ.get("LEFT_BEHIND", "")
    index = os.environ.get("FLYTE_K8S_ARRAY_INDEX", "")
    here = os.getcwd()
    os.environ["LEFT_BEHIND"] = str(x)
    os.chdir("/")
    return f"{found}|{index}|{here}"


@workflow
def messy_map(xs: list[int]) -> list[str]:
    return map_task(tidy)(x=xs)


@task
def leak(x: int) -> int:
    """Keeps 100 MB in a module global: a process that runs several items grows with each."""
    HOARD.append(bytearray(100 * 2**20))
    return len(HOARD)


@workflow
def leaking_map(xs: list[int]) -> list[int]:
    return map_task(leak)(x=xs)


@task(limits=Resources(mem="256Mi"))
def greedy(size_mb: int) -> int:
    """Allocates size_mb MiB under a 256 MiB limit."""
    block = bytearray(size_mb * 2**20)
    return len(block) // 2**20


@workflow
def greedy_wf(size_mb: int) -> int:
    return greedy(size_mb=size_mb)


@task(limits=Resources(mem="256Mi"))
def greedy_item(x: int) -> int:
    if x == 1:
        return len(bytearray(2**30))
    return x


@workflow
def greedy_map(xs: list[int]) -> list[int | None]:
    return map_task(greedy_item, min_success_ratio=0.1)(x=xs)


@task(timeout=timedelta(seconds=3))
def hang(pid_file: str) -> int:
    """Starts a grandchild that would sleep for an hour, records its PID, then hangs."""
    child = subprocess.Popen(["sleep", "3600"])
    with open(pid_file, "w") as out:
        out.write(str(child.pid))
    time.sleep(3600)
    return child.pid


@workflow
def hang_wf(pid_file: str) -> int:
    return hang(pid_file=pid_file)


@task(timeout=timedelta(seconds=3))
def slow_item(x: int) -> int:
    if x == 1:
        signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM])  # even ignoring SIGTERM does not save it
        time.sleep(3600)
    return x


@workflow
def hanging_map(xs: list[int]) -> list[int | None]:
    return map_task(slow_item, min_success_ratio=0.1)(x=xs)


@task(retries=1)
def dirty_then_retry(x: int) -> str:
    """The first attempt changes its environment and directory, then fails recoverably; the retry reports
    what it found."""
    found = f"{os.environ.get('LEFT_BEHIND', '')}|{os.getcwd()}"
    if os.environ.get("FLYTE_ATTEMPT_NUMBER") == "0":
        os.environ["LEFT_BEHIND"] = "yes"
        os.chdir("/")
        raise FlyteRecoverableException("try again")
    return found


@workflow
def retried_wf(x: int) -> str:
    return dirty_then_retry(x=x)


@task
def square(x: int) -> int:
    return x * x


@workflow
def plain(x: int) -> int:
    return square(x=x)


@task(environment={"AERODROME_MAP_BATCH": "false"})
def alone(x: int) -> int:
    """Asked for a process per item: never sees another item's module state."""
    HOARD.append(bytearray(1))
    return len(HOARD)


@workflow
def alone_map(xs: list[int]) -> list[int]:
    return map_task(alone)(x=xs)


@task
def together(x: int) -> int:
    HOARD.append(bytearray(1))
    return len(HOARD)


@workflow
def together_map(xs: list[int]) -> list[int]:
    return map_task(together, concurrency=1)(x=xs)
