"""Notifications on terminal phases, end to end: a launch plan registered with the real ``pyflyte register``
(Email on FAILED, Slack on SUCCEEDED), executions run by the server, e-mails received by a real SMTP server
(aiosmtpd) and Slack/PagerDuty JSON by a real HTTP server. One server per backend for the module."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from flytekit.models.common import EmailNotification, Notification, PagerDutyNotification
from flytekit.models.core.execution import WorkflowExecutionPhase
from flytekit.models.execution import ExecutionMetadata, ExecutionSpec, NotificationList
from flytekit.models.literals import LiteralMap
from flytekit.remote import FlyteRemote

from tests.integration.conftest import Server, backends, start_server, stop_server
from tests.support.clients import flyte_remote
from tests.support.messaging import SmtpServer, WebhookReceiver, wait_until
from tests.support.postgres import fresh_database
from tests.support.projects import register_project

PROJECT_DIR = Path(__file__).parent / "projects" / "notify_app"
REFUSED = "nobody@example.com"
PD_KEY = "routing-key-123"


@dataclass
class Setup:
    server: Server
    remote: FlyteRemote
    version: str
    smtp: SmtpServer
    hooks: WebhookReceiver

    def outbox(self) -> dict[str, Any]:
        response = httpx.get(f"{self.server.http}/healthz/outbox", timeout=10)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def run(self, x: int) -> Any:
        lp = self.remote.fetch_launch_plan(name="alerting", version=self.version)
        execution = self.remote.execute(lp, inputs={"x": x})
        return self.remote.wait(execution, timeout=180, poll_interval=0.3)

    def create(self, notifications: list[Notification] | None, *, disable_all: bool = False) -> Any:
        """CreateExecution as flytekit's client sends it, with the spec's own notification list."""
        lp = self.remote.fetch_launch_plan(name="alerting", version=self.version)
        name = f"n{uuid.uuid4().hex[:12]}"
        spec = ExecutionSpec(
            launch_plan=lp.id,
            metadata=ExecutionMetadata(mode=ExecutionMetadata.ExecutionMode.MANUAL, principal="tester", nesting=0),
            notifications=NotificationList(notifications) if notifications is not None else None,
            disable_all=disable_all or None,
        )
        self.remote.client.create_execution("flytesnacks", "development", name, spec, LiteralMap({}))
        execution = self.remote.fetch_execution(name=name)
        return self.remote.wait(execution, timeout=180, poll_interval=0.3)

    def settle(self) -> None:
        """Wait until the dispatcher has nothing left to try."""
        wait_until(lambda: self.outbox()["pending"] == 0, 30, "an empty outbox")


@pytest.fixture(scope="module", params=backends())
def setup(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    smtp = SmtpServer(refuse={REFUSED})
    smtp.start()
    hooks = WebhookReceiver()
    env = {
        "AERODROME_NOTIFICATIONS_SMTP_HOST": "127.0.0.1",
        "AERODROME_NOTIFICATIONS_SMTP_PORT": str(smtp.port),
        "AERODROME_NOTIFICATIONS_SENDER": "flyte@example.com",
        "AERODROME_NOTIFICATIONS_SLACK_WEBHOOK_URL": hooks.url("/slack"),
        "AERODROME_NOTIFICATIONS_PAGERDUTY_URL": hooks.url("/pagerduty"),
        "AERODROME_NOTIFICATIONS_PAGERDUTY_ROUTING_KEY": PD_KEY,
        "AERODROME_EVENTS_MAX_ATTEMPTS": "3",
        "AERODROME_EVENTS_BACKOFF_INITIAL_SECONDS": "0.1",
        "AERODROME_EVENTS_BACKOFF_MAX_SECONDS": "0.5",
    }
    home = tmp_path_factory.mktemp(f"notify-{request.param}")
    try:
        if request.param == "postgres":
            with fresh_database() as url:
                server = start_server(home, url, "postgres", env)
                try:
                    yield _setup(server, smtp, hooks, tmp_path_factory.mktemp("app"))
                finally:
                    stop_server(server)
        else:
            server = start_server(home, "", "sqlite", env)
            try:
                yield _setup(server, smtp, hooks, tmp_path_factory.mktemp("app"))
            finally:
                stop_server(server)
    finally:
        smtp.stop()
        hooks.close()


def _setup(server: Server, smtp: SmtpServer, hooks: WebhookReceiver, scratch: Path) -> Setup:
    version = register_project(server, PROJECT_DIR, scratch)
    return Setup(server, flyte_remote(server.grpc), version, smtp, hooks)


def _mentions(messages: list[Any], name: str) -> list[Any]:
    return [m for m in messages if name in m["Subject"] or name in m.get_content()]


def test_failed_run_sends_exactly_one_email_with_name_and_error(setup: Setup) -> None:
    finished = setup.run(-1)
    assert finished.closure.phase == WorkflowExecutionPhase.FAILED
    name = finished.id.name
    mails = wait_until(lambda: _mentions(setup.smtp.to("oncall@example.com"), name), 30, "the failure e-mail")
    setup.settle()
    mail = mails[0]
    body = mail.get_content()
    assert name in mail["Subject"] and "failed" in mail["Subject"]
    assert "negative input -1 rejected by check" in body
    assert f"/console/projects/flytesnacks/domains/development/executions/{name}" in body
    assert mail["From"] == "flyte@example.com"
    assert len(_mentions(setup.smtp.messages, name)) == 1  # Email on FAILED only; Slack is for SUCCEEDED
    assert not [r for r in setup.hooks.at("/slack") if name in r.json()["text"]]


def test_succeeded_run_notifies_slack_by_email_and_webhook(setup: Setup) -> None:
    finished = setup.run(2)
    assert finished.closure.phase == WorkflowExecutionPhase.SUCCEEDED
    name = finished.id.name
    mails = wait_until(lambda: _mentions(setup.smtp.to("team@example.slack.com"), name), 30, "the Slack e-mail")
    hooks = wait_until(lambda: [r for r in setup.hooks.at("/slack") if name in r.json()["text"]], 30, "the Slack hook")
    setup.settle()
    assert "succeeded" in mails[0]["Subject"]
    assert len(_mentions(setup.smtp.messages, name)) == 1 and len(hooks) == 1
    assert hooks[0].headers["Content-Type"] == "application/json"


def test_request_notifications_override_the_launch_plan(setup: Setup) -> None:
    finished = setup.create(
        [
            Notification([WorkflowExecutionPhase.SUCCEEDED], email=EmailNotification(["override@example.com"])),
            Notification([WorkflowExecutionPhase.SUCCEEDED], pager_duty=PagerDutyNotification(["pd@example.com"])),
        ]
    )
    assert finished.closure.phase == WorkflowExecutionPhase.SUCCEEDED
    name = finished.id.name
    wait_until(lambda: _mentions(setup.smtp.to("override@example.com"), name), 30, "the overriding e-mail")
    wait_until(lambda: _mentions(setup.smtp.to("pd@example.com"), name), 30, "the PagerDuty e-mail")
    pd = wait_until(lambda: [r.json() for r in setup.hooks.at("/pagerduty") if name in r.json()["dedup_key"]], 30, "PD")
    setup.settle()
    assert pd[0]["routing_key"] == PD_KEY and pd[0]["event_action"] == "trigger"
    assert pd[0]["payload"]["severity"] == "info" and name in pd[0]["payload"]["summary"]
    assert not _mentions(setup.smtp.to("team@example.slack.com"), name)  # the launch plan's Slack one is overridden
    assert len(_mentions(setup.smtp.messages, name)) == 2


def test_disable_all_sends_nothing(setup: Setup) -> None:
    finished = setup.create(None, disable_all=True)
    assert finished.closure.phase == WorkflowExecutionPhase.SUCCEEDED
    setup.settle()
    name = finished.id.name
    assert not _mentions(setup.smtp.messages, name)
    assert not [r for r in setup.hooks.at("/slack") if name in r.json()["text"]]


def test_refused_recipient_is_retried_then_recorded_as_failed(setup: Setup) -> None:
    finished = setup.create([Notification([WorkflowExecutionPhase.SUCCEEDED], email=EmailNotification([REFUSED]))])
    assert finished.closure.phase == WorkflowExecutionPhase.SUCCEEDED  # the execution is never affected
    name = finished.id.name
    failure = wait_until(
        lambda: [f for f in setup.outbox()["recent_failures"] if f["execution"].endswith(f"/{name}")],
        30,
        "the failed delivery on /healthz/outbox",
    )[0]
    assert failure["sink"] == "email" and failure["attempts"] == 3
    assert REFUSED in failure["error"]
    metrics = httpx.get(f"{setup.server.http}/metrics/outbox", timeout=10).text
    assert "aerodrome_outbox_failed " in metrics and "aerodrome_outbox_failed 0\n" not in metrics


def test_a_webhook_answering_500_is_retried_then_recorded_as_failed(setup: Setup) -> None:
    setup.hooks.status = 500
    try:
        finished = setup.run(5)  # SUCCEEDED: the Slack notification's e-mail and webhook
        name = finished.id.name
        failure = wait_until(
            lambda: [f for f in setup.outbox()["recent_failures"] if f["execution"].endswith(f"/{name}")],
            30,
            "the failed Slack delivery on /healthz/outbox",
        )[0]
    finally:
        setup.hooks.status = 200
    assert finished.closure.phase == WorkflowExecutionPhase.SUCCEEDED
    assert failure["sink"] == "slack" and failure["attempts"] == 3 and "HTTP 500" in failure["error"]
    wait_until(lambda: _mentions(setup.smtp.to("team@example.slack.com"), name), 30, "the Slack e-mail all the same")
