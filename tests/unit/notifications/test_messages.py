"""What the outbox writes: CloudEvents with stable fields, and notifications chosen and worded as the reference does."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from flyteidl.admin import common_pb2, execution_pb2
from flyteidl.core import execution_pb2 as core_exec
from flyteidl.core import identifier_pb2
from flyteidl.event import event_pb2
from sqlalchemy import select

from aerodrome.db import migrate
from aerodrome.db.engine import Database
from aerodrome.db.models import ExecutionRow, OutboxRow
from aerodrome.notifications.cloudevents import cloud_event, event_id
from aerodrome.notifications.nats import subject
from aerodrome.notifications.outbox import Outbox
from aerodrome.notifications.templates import Texts, placeholders
from aerodrome.notifications.webhooks import signature
from aerodrome.settings import EventSettings, NotificationSettings

WF = core_exec.WorkflowExecution


def _execution(error: str = "") -> ExecutionRow:
    closure = execution_pb2.ExecutionClosure(
        workflow_id=identifier_pb2.Identifier(project="p", domain="d", name="wf", version="v1"),
        notifications=[
            common_pb2.Notification(phases=[WF.FAILED], email=common_pb2.EmailNotification(recipients_email=["a@x"])),
            common_pb2.Notification(
                phases=[WF.SUCCEEDED], slack=common_pb2.SlackNotification(recipients_email=["s@x"])
            ),
        ],
    )
    if error:
        closure.error.message = error
    spec = execution_pb2.ExecutionSpec(
        launch_plan=identifier_pb2.Identifier(project="p", domain="d", name="lp", version="v1"),
        labels=common_pb2.Labels(values={"team": "ml"}),
    )
    return ExecutionRow(
        execution_project="p",
        execution_domain="d",
        execution_name="e1",
        closure=closure.SerializeToString(),
        spec=spec.SerializeToString(),
    )


def test_cloud_event_carries_the_raw_event_labels_and_launch_plan() -> None:
    event = event_pb2.WorkflowExecutionEvent(
        execution_id=identifier_pb2.WorkflowExecutionIdentifier(project="p", domain="d", name="e1"), phase=WF.RUNNING
    )
    event.occurred_at.FromDatetime(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    ident = event_id("workflow", _execution(), "RUNNING")
    body = json.loads(cloud_event("workflow", _execution(), "RUNNING", event, ident=ident, source="aerodrome"))
    assert ident.startswith("p/d/e1.RUNNING.")
    assert body["id"] == ident and body["subject"] == "p/d/e1" and body["time"] == "2026-01-02T03:04:05Z"
    assert body["type"] == "com.flyte.resource.cloudevents.WorkflowExecution"
    assert body["data"]["labels"] == {"team": "ml"}
    assert body["data"]["launchPlanId"]["name"] == "lp"
    assert body["data"]["rawEvent"]["phase"] == "RUNNING"


def test_templates_take_both_placeholder_forms_and_dotted_names() -> None:
    values = placeholders(_execution("boom"), "FAILED", "http://h/console/x")
    subject, body = Texts(
        "{{project}}/{{ domain }} {{ name }} {{phase}}", "{{ workflow.name }}@{{launch_plan.version}}{{ error }}"
    ).render(values)
    assert subject == "p/d e1 failed"
    assert body == "wf@v1 The execution failed with error: [boom]."


def test_a_broken_template_falls_back_to_the_default() -> None:
    subject, body = Texts("{{ name ", "{% if %}").render(placeholders(_execution(), "SUCCEEDED", "http://h/c"))
    assert "e1" in subject and "succeeded" in subject and "http://h/c" in body


def test_nats_subjects_and_webhook_signatures() -> None:
    assert subject("aerodrome.events", "my.proj", "dev *", "node") == "aerodrome.events.my_proj.dev__.node"
    assert signature("k", b"body") == "sha256=c6d811ef3aeb02437cd423f1abe13209041864630bdc4e2c04def5c7b0031a23"


async def test_terminal_phase_writes_one_email_per_matching_notification_plus_the_slack_hook(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'o.db'}")
    await migrate.upgrade(db)
    outbox = Outbox(
        EventSettings(),
        NotificationSettings(slack_webhook_url="http://hook"),
        lambda p, d, n: f"http://h/console/projects/{p}/domains/{d}/executions/{n}",
    )
    try:
        async with db.transaction(write=True) as uow:
            outbox.add_notifications(uow, _execution(), WF.SUCCEEDED)
            outbox.add_notifications(uow, _execution(), WF.ABORTED)  # no notification names ABORTED
        async with db.transaction() as uow:
            rows = (await uow.session.execute(select(OutboxRow).order_by(OutboxRow.id))).scalars().all()
    finally:
        await db.dispose()
    assert [r.sink for r in rows] == ["email", "slack"]
    mail = json.loads(rows[0].payload)
    assert mail["to"] == ["s@x"] and "e1" in mail["subject"] and "/executions/e1" in mail["body"]
    assert "e1" in json.loads(rows[1].payload)["text"]
    assert {r.lane for r in rows} == {"email|p/d/e1", "slack|p/d/e1"}
