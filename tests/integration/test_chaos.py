"""Bounded chaos: 3 trials of 20 executions of the workflow mix (the issue's CI size), the server SIGKILLed
at a random moment in each and restarted; nothing is lost, no succeeded node runs again, no task process
outlives its server, the database stays consistent (tests/support/chaos.py holds the logic; bench/chaos.py
runs it long)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.support.chaos import Chaos
from tests.support.postgres import fresh_database

PROJECT = Path(__file__).parent / "projects" / "chaos_app"
TRIALS, EXECUTIONS = 3, 20
# PostgreSQL: the killed process's leases expire before the restarted one takes them; short leases keep the
# test quick (the default is 15 s, which bench/chaos.py keeps).
SHORT_LEASES = {"AERODROME_LEASES_TTL_SECONDS": "5", "AERODROME_LEASES_HEARTBEAT_SECONDS": "1"}


@pytest.fixture(params=["sqlite", "postgres"])
def chaos(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Chaos]:
    with ExitStack() as stack:
        url = stack.enter_context(fresh_database()) if request.param == "postgres" else ""
        harness = Chaos(tmp_path, url, seed=7, kill_window=5.0, env=SHORT_LEASES if url else None)
        stack.callback(harness.close)
        harness.setup(PROJECT)
        yield harness


def test_random_sigkills_lose_nothing(chaos: Chaos) -> None:
    for number in range(1, TRIALS + 1):
        figures = chaos.trial(number, EXECUTIONS, timeout=180)
        assert figures.created == EXECUTIONS
        assert figures.clean, "\n".join(figures.problems[:30])
        print(
            f"trial {number}: killed at {figures.kill_after:.1f} s with {figures.in_flight} attempt(s) in flight; "
            f"restart {figures.restart_seconds:.1f} s, drain {figures.drain_seconds:.1f} s"
        )
