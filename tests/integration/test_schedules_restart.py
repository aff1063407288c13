"""Schedules across restarts and processes: missed fires caught up once each (with a shifted scheduler
clock instead of minutes of sleep), the catch-up cap, and three processes on one PostgreSQL database."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from flyteidl.admin import launch_plan_pb2, project_pb2
from flytekit.models.core.identifier import Identifier, ResourceType

from tests.integration.conftest import Server, start_server, stop_server
from tests.integration.test_schedules import EVERY_SECOND, PROJECT_DIR, assert_each_second_once, per_second, set_state
from tests.support.clients import admin_stub, flyte_remote
from tests.support.postgres import fresh_database
from tests.support.projects import register_project
from tests.support.schedules import DOMAIN, PROJECT, Fired, scheduled, schedules_api, wait_for

FAST = {"AERODROME_SCHEDULER_POLL_INTERVAL_SECONDS": "0.5"}
OFFSET = "AERODROME_SCHEDULER_CLOCK_OFFSET_SECONDS"
CRON, RATE = "sched.every_minute", "sched.rate_minute"
RACE_SECONDS = 30


@contextlib.contextmanager
def database(backend: str) -> Iterator[str]:
    if backend == "postgres":
        with fresh_database() as url:
            yield url
    else:
        yield ""


@contextlib.contextmanager
def running(home: Path, url: str, backend: str, env: dict[str, str]) -> Iterator[Server]:
    server = start_server(home, url, backend, env)
    try:
        yield server
    finally:
        stop_server(server)


def assert_steps(fired: list[Fired], step: timedelta) -> None:
    """Each fire time once, ``step`` apart, created in fire-time order."""
    times = [f.scheduled_at for f in fired]
    assert len(set(times)) == len(times), times
    assert all(b - a == step for a, b in pairwise(times)), times
    assert [f.scheduled_at for f in sorted(fired, key=lambda f: f.created_at)] == times


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_missed_fires_run_once_each_after_a_restart(backend: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    with database(backend) as url:
        with running(home, url, backend, FAST) as server:
            version = register_project(server, PROJECT_DIR, tmp_path / "scratch")
            remote = flyte_remote(server.grpc)
            for name in (CRON, RATE):
                remote.activate_launchplan(Identifier(ResourceType.LAUNCH_PLAN, PROJECT, DOMAIN, name, version))
            anchors = {s["name"]: datetime.fromisoformat(s["active_since"]) for s in schedules_api(server.http)}
        # Down for a bit more than 3 periods: the restarted scheduler's clock is 190 s ahead.
        with running(home, url, backend, {**FAST, OFFSET: "190"}) as server, admin_stub(server.grpc) as stub:
            wait_for(stub, RATE, 3)
            wait_for(stub, CRON, 3)
            time.sleep(1)  # let the catch-up finish
            rate, cron = scheduled(stub, RATE), scheduled(stub, CRON)
        start = anchors[RATE].replace(microsecond=0)
        assert [f.scheduled_at for f in rate[:3]] == [start + timedelta(minutes=k) for k in (1, 2, 3)]
        assert_steps(rate, timedelta(minutes=1))
        first_minute = anchors[CRON].replace(second=0, microsecond=0) + timedelta(minutes=1)
        assert cron[0].scheduled_at == first_minute and len(cron) >= 3
        assert_steps(cron, timedelta(minutes=1))
        # Down for ten more minutes with a cap of 2: only the latest two missed fires of each run. A minute
        # boundary may pass (in the shifted clock) while a server runs, so fires are split by when they were
        # created, not by what a listing saw just before the stop.
        restarted = datetime.now(UTC)
        env = {**FAST, OFFSET: "790", "AERODROME_SCHEDULER_CATCH_UP_CAP": "2"}
        with running(home, url, backend, env) as server, admin_stub(server.grpc) as stub:
            wait_for(stub, RATE, len(rate) + 2)
            wait_for(stub, CRON, len(cron) + 2)
            time.sleep(1)
            after = {RATE: scheduled(stub, RATE), CRON: scheduled(stub, CRON)}
            log = (home / "server.log").read_text()
    for name, fires in after.items():
        assert len({f.scheduled_at for f in fires}) == len(fires), name
        before = [f for f in fires if f.created_at < restarted]
        new = sorted((f for f in fires if f.created_at >= restarted), key=lambda f: f.scheduled_at)
        # The two caught-up fires, plus at most one that came due while the server ran (not ten missed ones).
        assert 2 <= len(new) <= 3, (name, new)
        assert all(b.scheduled_at - a.scheduled_at == timedelta(minutes=1) for a, b in pairwise(new)), (name, new)
        assert new[0].scheduled_at - before[-1].scheduled_at > timedelta(minutes=5), name  # older ones dropped
    assert "skipped" in log and "missed fire" in log


def test_three_processes_on_one_database_fire_each_second_once(tmp_path: Path) -> None:
    """Each process runs a scheduler; every fire time gets exactly one execution. The processes share one
    blob directory and signing key, as several processes on one database must (any of them may drive a fire
    another one created)."""
    env = {
        "AERODROME_BLOB_URL": str(tmp_path / "blobs"),
        "AERODROME_BLOB_SIGNING_KEY": "race",
        "AERODROME_SCHEDULER_POLL_INTERVAL_SECONDS": "1",
    }
    with fresh_database() as url, contextlib.ExitStack() as stack:
        servers = [stack.enter_context(running(tmp_path / f"home{i}", url, "postgres", env)) for i in range(3)]
        version = register_project(servers[0], PROJECT_DIR, tmp_path / "scratch")
        per_second(servers[1].grpc, version, EVERY_SECOND, version)
        flyte_remote(servers[2].grpc).activate_launchplan(
            Identifier(ResourceType.LAUNCH_PLAN, PROJECT, DOMAIN, EVERY_SECOND, version)
        )
        time.sleep(RACE_SECONDS)
        set_state(servers[0], EVERY_SECOND, version, launch_plan_pb2.INACTIVE)
        time.sleep(1.5)
        with admin_stub(servers[1].grpc) as stub:
            fired = scheduled(stub, EVERY_SECOND)
    assert_each_second_once(fired)
    assert len(fired) >= RACE_SECONDS - 3, len(fired)


def test_a_fire_that_cannot_be_created_is_logged_and_retried(tmp_path: Path) -> None:
    """While the project is archived CreateExecution refuses the fires; the scheduler logs each failure,
    keeps going, and once the project is active again runs the fires it could not, in order."""
    home = tmp_path / "home"
    with running(home, "", "sqlite", FAST) as server, admin_stub(server.grpc) as stub:
        version = register_project(server, PROJECT_DIR, tmp_path / "scratch")
        per_second(server.grpc, version, EVERY_SECOND, version)
        set_state(server, EVERY_SECOND, version, launch_plan_pb2.ACTIVE)
        wait_for(stub, EVERY_SECOND, 2)
        stub.UpdateProject(project_pb2.Project(id=PROJECT, name=PROJECT, state=project_pb2.Project.ARCHIVED))
        time.sleep(0.5)
        during = len(scheduled(stub, EVERY_SECOND))
        time.sleep(3)
        assert len(scheduled(stub, EVERY_SECOND)) == during
        stub.UpdateProject(project_pb2.Project(id=PROJECT, name=PROJECT, state=project_pb2.Project.ACTIVE))
        wait_for(stub, EVERY_SECOND, during + 4)
        set_state(server, EVERY_SECOND, version, launch_plan_pb2.INACTIVE)
        time.sleep(1)
        fired = scheduled(stub, EVERY_SECOND)
        log = " ".join((home / "server.log").read_text().split())  # rich wraps long lines
    assert_each_second_once(fired)
    assert f"schedule {PROJECT}/{DOMAIN}/{EVERY_SECOND}: fire at" in log and "failed, retrying" in log
    assert "is not active" in log
