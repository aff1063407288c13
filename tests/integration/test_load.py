"""A bounded load: 16 flytekit clients for 10 s of mixed calls (executions, gets, filtered lists, new
registrations, data-proxy uploads, and calls whose error is the answer) against a server of this module's
own, on SQLite and PostgreSQL. No call may fail other than as expected. ``bench/soak.py`` runs the same mix
for longer and reports latencies, throughput and memory."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.integration.conftest import Server, start_server, stop_server
from tests.support.load import prepare, run_load
from tests.support.postgres import fresh_database

CLIENTS, SECONDS = 16, 10.0


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def load_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp(f"load-{request.param}")
    if request.param == "postgres":
        with fresh_database() as url:
            srv = start_server(home, url, "postgres")
            yield srv
            stop_server(srv)
        return
    srv = start_server(home, "", "sqlite")
    yield srv
    stop_server(srv)


@pytest.mark.slow
def test_mixed_load_has_no_unexpected_errors(load_server: Server) -> None:
    version = prepare(load_server.grpc, uuid.uuid4().hex[:8])
    tally = run_load(load_server.grpc, version, CLIENTS, SECONDS)
    unexpected = {f"{op} {code}": (n, tally.first_error[(op, code)]) for (op, code), n in tally.unexpected.items()}
    assert not unexpected, unexpected
    # Every kind of call ran and succeeded at least once; the expected errors came with the expected codes.
    assert set(tally.latencies) >= {
        "create_execution", "get_execution", "list_executions", "list_tasks", "register_task",
        "register_workflow", "register_launch_plan", "get_launch_plan", "upload",
    }, sorted(tally.latencies)  # fmt: skip
    assert {op for op, _ in tally.expected} == {"register_identical", "get_missing"}, tally.expected
