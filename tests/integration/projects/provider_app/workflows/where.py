"""Tasks that report which interpreter ran them and which provider code they could import."""

from __future__ import annotations

import os
import sys
import time

from flytekit import map_task, task, workflow


def _where() -> str:
    try:
        import provider_lib  # only importable from a provider's code path
    except ImportError:
        library = "-"
    else:
        library = provider_lib.VERSION
    return f"{sys.executable}|{library}|{os.environ.get('AERODROME_PROVIDER', '-')}"


@task
def where() -> str:
    return _where()


@workflow
def two_nodes() -> tuple[str, str]:
    first = where()
    second = where()
    return first, second


@task
def nap(seconds: int) -> int:
    time.sleep(seconds)
    return seconds


@workflow
def sleepy(seconds: int = 60) -> int:
    return nap(seconds=seconds)


@task
def where_at(index: int) -> str:
    return f"{index}:{_where()}"


@workflow
def inner() -> str:
    return where()


@workflow
def nested() -> tuple[str, list[str]]:
    """A subworkflow's task and a map task's items run with the provider of their top-level node."""
    return inner(), map_task(where_at)(index=[0, 1])
