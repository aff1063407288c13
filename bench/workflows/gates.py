"""A workflow that only waits on a sleep gate (no task process): bench/create_execution.py creates it."""

from __future__ import annotations

from datetime import timedelta

from flytekit import sleep, workflow


@workflow
def waits() -> None:
    sleep(timedelta(hours=2))
