"""Workflows of bench/scale_out.py: the control plane alone (gates, no task process)."""

from __future__ import annotations

from datetime import timedelta

from flytekit import sleep, workflow


@workflow
def gates() -> None:
    """Five short sleep gates in a row: events, leases and the graph, no task process."""
    a = sleep(timedelta(milliseconds=10))
    b = sleep(timedelta(milliseconds=10))
    c = sleep(timedelta(milliseconds=10))
    d = sleep(timedelta(milliseconds=10))
    e = sleep(timedelta(milliseconds=10))
    a >> b >> c >> d >> e
