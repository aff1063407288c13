"""Tasks that report which interpreter ran them and which provider code they could import."""

from __future__ import annotations

import os
import sys
import time

from flytekit import task, workflow


@task
def where() -> str:
    try:
        import provider_lib  # only importable from a provider's code path
    except ImportError:
        library = "-"
    else:
        library = provider_lib.VERSION
    return f"{sys.executable}|{library}|{os.environ.get('AERODROME_PROVIDER', '-')}"


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
