"""The event stream, end to end: every event of a real three-node execution arrives as a CloudEvent on a real
NATS JetStream server and on a signed webhook, in order, with stable ids — also when NATS and SMTP are down
during the execution, and when the server is SIGKILLed while the outbox still holds undelivered events."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from flytekit.models.core.execution import WorkflowExecutionPhase
from flytekit.remote import FlyteRemote
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.integration.conftest import Server, backends, start_server, stop_server
from tests.support.clients import flyte_remote
from tests.support.messaging import NatsServer, SmtpServer, WebhookReceiver, wait_until
from tests.support.postgres import fresh_database
from tests.support.projects import register_project

PROJECT_DIR = Path(__file__).parent / "projects" / "notify_app"
STREAM = "AERODROME_EVENTS"
SECRET = "s3cret-for-tests"


@dataclass
class Peers:
    nats: NatsServer
    smtp: SmtpServer
    hooks: WebhookReceiver

    def env(self) -> dict[str, str]:
        return {
            "AERODROME_EVENTS_NATS_URL": self.nats.url,
            "AERODROME_EVENTS_WEBHOOK_URLS": f'["{self.hooks.url("/events")}"]',
            "AERODROME_EVENTS_WEBHOOK_SECRET": SECRET,
            "AERODROME_EVENTS_BACKOFF_INITIAL_SECONDS": "0.2",
            "AERODROME_EVENTS_BACKOFF_MAX_SECONDS": "1",
            "AERODROME_EVENTS_TIMEOUT_SECONDS": "3",
            "AERODROME_EVENTS_MAX_ATTEMPTS": "10000",
            "AERODROME_NOTIFICATIONS_SMTP_HOST": "127.0.0.1",
            "AERODROME_NOTIFICATIONS_SMTP_PORT": str(self.smtp.port),
        }


@dataclass
class Setup:
    server: Server
    db_url: str
    remote: FlyteRemote
    version: str
    peers: Peers


@pytest.fixture(scope="module")
def peers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peers]:
    nats = NatsServer(tmp_path_factory.mktemp("nats"))
    nats.start()
    smtp = SmtpServer()
    smtp.start()
    hooks = WebhookReceiver()
    try:
        yield Peers(nats, smtp, hooks)
    finally:
        nats.stop()
        smtp.stop()
        hooks.close()


@pytest.fixture(scope="module", params=backends())
def setup(request: pytest.FixtureRequest, peers: Peers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    home = tmp_path_factory.mktemp(f"stream-{request.param}")
    scratch = tmp_path_factory.mktemp("app")
    if request.param == "postgres":
        with fresh_database() as url:
            server = start_server(home, url, "postgres", peers.env())
            try:
                yield Setup(
                    server, url, flyte_remote(server.grpc), register_project(server, PROJECT_DIR, scratch), peers
                )
            finally:
                stop_server(server)
        return
    server = start_server(home, "", "sqlite", peers.env())
    try:
        db_url = f"sqlite+aiosqlite:///{home / 'aerodrome.db'}"
        yield Setup(server, db_url, flyte_remote(server.grpc), register_project(server, PROJECT_DIR, scratch), peers)
    finally:
        stop_server(server)


def run(remote: FlyteRemote, version: str, x: int) -> Any:
    lp = remote.fetch_launch_plan(name="alerting", version=version)
    return remote.wait(remote.execute(lp, inputs={"x": x}), timeout=180, poll_interval=0.3)


def outbox(server: Server) -> dict[str, Any]:
    result: dict[str, Any] = httpx.get(f"{server.http}/healthz/outbox", timeout=10).json()
    return result


def event_log(db_url: str, name: str) -> list[tuple[str, str, str]]:
    """(kind, node id, phase) of every stored event of the execution, in the order they were recorded."""

    async def read() -> list[tuple[str, str, str]]:
        engine = create_async_engine(db_url)
        try:
            async with engine.connect() as conn:
                query = text("SELECT kind, node_id, phase FROM events WHERE execution_name = :n ORDER BY id")
                return [(k, n, p) for k, n, p in (await conn.execute(query, {"n": name})).all()]
        finally:
            await engine.dispose()

    return asyncio.run(read())


def summary(event: dict[str, Any]) -> tuple[str, str, str]:
    """(kind, node id, phase) of a CloudEvent, from its type and the raw flyteidl event in its data."""
    kind = event["type"].rsplit(".", 1)[-1].removesuffix("Execution").lower()
    raw = event["data"]["rawEvent"]
    node = raw.get("id", {}).get("nodeId", "") if kind == "node" else ""
    if kind == "task":
        node = raw["parentNodeExecutionId"]["nodeId"]
    return kind, node, event["executionphase"]


def stream_of(nats: NatsServer, name: str) -> list[tuple[str, dict[str, Any], dict[str, str]]]:
    return [
        m for m in nats.read(STREAM, "aerodrome.events.flytesnacks.development.>") if m[1]["subject"].endswith(name)
    ]


def test_every_event_of_an_execution_in_order_on_nats_and_webhook(setup: Setup) -> None:
    finished = run(setup.remote, setup.version, 1)
    assert finished.closure.phase == WorkflowExecutionPhase.SUCCEEDED
    name = finished.id.name
    wait_until(lambda: outbox(setup.server)["pending"] == 0, 30, "an empty outbox")
    logged = event_log(setup.db_url, name)
    messages = stream_of(setup.peers.nats, name)
    events = [event for _, event, _ in messages]
    assert [summary(e) for e in events] == [(k, n if k != "workflow" else "", p) for k, n, p in logged]
    assert {n for k, n, _ in logged if k == "task"} == {"n0", "n1", "n2"}  # three nodes ran
    ids = [e["id"] for e in events]
    assert len(set(ids)) == len(ids)
    for subject, event, headers in messages:
        assert headers["Nats-Msg-Id"] == event["id"]
        assert event["specversion"] == "1.0" and event["subject"] == f"flytesnacks/development/{name}"
        assert subject == f"aerodrome.events.flytesnacks.development.{summary(event)[0]}"
        if summary(event)[0] == "workflow":
            assert event["data"]["launchPlanId"]["name"] == "alerting"
    posted = [r for r in setup.peers.hooks.at("/events") if r.json()["subject"].endswith(name)]
    assert [r.json()["id"] for r in posted] == ids  # same ids, same order, on an independent sink
    for received in posted:
        expected = "sha256=" + hmac.new(SECRET.encode(), received.body, hashlib.sha256).hexdigest()
        assert received.headers["X-Aerodrome-Signature"] == expected
        assert received.headers["Content-Type"] == "application/cloudevents+json"


def test_nats_and_smtp_down_during_an_execution_lose_nothing(setup: Setup) -> None:
    peers = setup.peers
    peers.nats.stop()
    peers.smtp.stop()
    try:
        finished = run(setup.remote, setup.version, -1)  # fails: Email on FAILED
        assert finished.closure.phase == WorkflowExecutionPhase.FAILED
        name = finished.id.name
        logged = event_log(setup.db_url, name)
        status = wait_until(lambda: (s := outbox(setup.server))["pending"] >= len(logged) and s, 30, "queued rows")
        assert status["oldest_pending_age_seconds"] > 0
        wait_until(  # visible while retried: the NATS head of the lane and the e-mail, with their errors
            lambda: (
                {"nats", "email"}
                <= {r["sink"] for r in outbox(setup.server)["retrying"] if r["execution"].endswith(name)}
            ),
            30,
            "the retried rows on /healthz/outbox",
        )
        wait_until(  # the webhook is up: it does not wait for NATS
            lambda: len([r for r in peers.hooks.at("/events") if r.json()["subject"].endswith(name)]) == len(logged),
            30,
            "webhook deliveries during the NATS outage",
        )
    finally:
        peers.nats.start()
        peers.smtp.start()
    wait_until(lambda: outbox(setup.server)["pending"] == 0, 60, "the outbox to drain after the restart")
    events = [event for _, event, _ in stream_of(peers.nats, name)]
    assert [summary(e) for e in events] == [(k, n if k != "workflow" else "", p) for k, n, p in logged]
    assert len({e["id"] for e in events}) == len(events)
    mails = [m for m in peers.smtp.to("oncall@example.com") if name in m["Subject"]]
    assert len(mails) == 1


def test_sigkill_with_undelivered_events_then_restart_delivers_them(peers: Peers, tmp_path: Path) -> None:
    """Once, on SQLite: a server of its own is killed while NATS is down and its outbox holds the events."""
    home = tmp_path / "home"
    server = start_server(home, "", "sqlite", peers.env())
    version = register_project(server, PROJECT_DIR, tmp_path)
    peers.nats.stop()
    try:
        finished = run(flyte_remote(server.grpc), version, 1)
        name = finished.id.name
        logged = event_log(f"sqlite+aiosqlite:///{home / 'aerodrome.db'}", name)
        wait_until(lambda: outbox(server)["pending"] >= len(logged), 30, "undelivered rows")
    finally:
        os.kill(server.pid, signal.SIGKILL)
        server.process.wait()
        peers.nats.start()
    restarted = start_server(home, "", "sqlite", peers.env())
    try:
        wait_until(lambda: outbox(restarted)["pending"] == 0, 60, "delivery after the restart")
    finally:
        stop_server(restarted)
    events = [event for _, event, _ in stream_of(peers.nats, name)]
    assert [summary(e) for e in events] == [(k, n if k != "workflow" else "", p) for k, n, p in logged]
    assert len({e["id"] for e in events}) == len(events)


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "aerodrome", *args]
    return subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True, timeout=60)


def test_events_tail_reads_nats_and_the_event_log(setup: Setup) -> None:
    finished = run(setup.remote, setup.version, 3)
    name = finished.id.name
    wait_until(lambda: outbox(setup.server)["pending"] == 0, 30, "an empty outbox")
    env = {**setup.peers.env(), "AERODROME_HOME": str(setup.server.home)}
    from_nats = _cli("events", "tail", "--from-start", "--kind", "workflow", "--no-follow", env=env)
    assert from_nats.returncode == 0, from_nats.stderr
    mine = [line for line in from_nats.stdout.splitlines() if name in line]
    assert [line.split()[2] for line in mine] == [p for k, _, p in event_log(setup.db_url, name) if k == "workflow"]
    assert all(line.split()[1] == "workflow" for line in from_nats.stdout.splitlines())
    node_events = len([e for e in event_log(setup.db_url, name) if e[0] == "node"])
    args = ["events", "tail", "--source", "db", "--db-url", setup.db_url, "--project", "flytesnacks"]
    from_db = _cli(*args, "--kind", "node", "--from-start", "--no-follow", env=env)
    lines = [line for line in from_db.stdout.splitlines() if name in line]
    assert len(lines) == node_events and all(line.split()[1] == "node" for line in lines), from_db.stdout


def test_notifications_test_sends_one_email_or_explains_why_not(setup: Setup) -> None:
    env = setup.peers.env()
    sent = _cli("notifications", "test", "--to", "check@example.com", env=env)
    assert sent.returncode == 0, sent.stderr
    wait_until(lambda: setup.peers.smtp.to("check@example.com"), 10, "the test e-mail")
    refused = _cli(
        "notifications", "test", "--to", "x@example.com", env={**env, "AERODROME_NOTIFICATIONS_SMTP_PORT": "1"}
    )
    assert refused.returncode == 1 and "failed" in refused.stderr and "Traceback" not in refused.stderr
