"""The outbox writer: turns one accepted event into outbox rows inside the event's own transaction.

The EventManager calls ``add_event`` for every event it stores and ``add_notifications`` for terminal
workflow events, on the unit of work that also holds the state change, so a row exists exactly when the
change committed. Nothing here talks to the network; the dispatcher does that later.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flyteidl.admin import common_pb2, execution_pb2
from flyteidl.core import execution_pb2 as core_exec

from aerodrome.db.models import OutboxRow
from aerodrome.db.records import ExecutionView
from aerodrome.db.unit_of_work import RowSink
from aerodrome.notifications.cloudevents import AnyEvent, cloud_event, event_id, execution_key
from aerodrome.notifications.templates import Texts, placeholders
from aerodrome.settings import EventSettings, NotificationSettings

ConsoleUrl = Callable[[str, str, str], str]
WF = core_exec.WorkflowExecution


def event_sinks(settings: EventSettings) -> list[str]:
    """The configured event sinks, as the outbox names them."""
    sinks = ["nats"] if settings.nats_url else []
    return sinks + [f"webhook:{i}" for i in range(len(settings.webhook_urls))]


def _row(
    sink: str, kind: str, execution: ExecutionView, message_id: str, payload: bytes, now: datetime
) -> dict[str, Any]:
    return dict(
        sink=sink,
        lane=f"{sink}|{execution_key(execution)}",
        kind=kind,
        message_id=message_id,
        execution_project=execution.execution_project,
        execution_domain=execution.execution_domain,
        execution_name=execution.execution_name,
        payload=payload,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        last_error="",
    )


class Outbox:
    """Writes outbox rows for the configured sinks; with no sink configured, events cost nothing."""

    def __init__(self, events: EventSettings, notifications: NotificationSettings, console_url: ConsoleUrl) -> None:
        self.events = events
        self.notifications = notifications
        self.console_url = console_url
        self.sinks = event_sinks(events)
        self.kinds = frozenset(events.kinds)
        self.texts = Texts(notifications.subject, notifications.body)

    def add_event(
        self,
        uow: RowSink,
        kind: str,
        execution: ExecutionView,
        phase: str,
        event: AnyEvent,
        *,
        node_id: str = "",
        retry_attempt: int = 0,
    ) -> int:
        """One row per event sink, all carrying the same CloudEvent (and id); returns how many."""
        if not self.sinks or kind not in self.kinds:
            return 0
        ident = event_id(kind, execution, phase, node_id, retry_attempt)
        payload = cloud_event(kind, execution, phase, event, ident=ident, source=self.events.source)
        now = datetime.now(UTC)
        for sink in self.sinks:
            uow.add_new(OutboxRow, _row(sink, kind, execution, ident, payload, now))
        return len(self.sinks)

    def add_notifications(self, uow: RowSink, execution: ExecutionView, phase: int) -> int:
        """The resolved notifications of the execution that name this terminal phase (reference §8): every
        kind is an e-mail to its recipients, one per notification; Slack and PagerDuty ones also go to their
        webhook when one is configured. Returns how many rows were added."""
        closure = execution_pb2.ExecutionClosure.FromString(execution.closure)
        chosen = [n for n in closure.notifications if phase in n.phases]
        if not chosen:
            return 0
        phase_name = WF.Phase.Name(phase)
        values = placeholders(
            execution,
            phase_name,
            self.console_url(execution.execution_project, execution.execution_domain, execution.execution_name),
        )
        subject, body = self.texts.render(values)
        now = datetime.now(UTC)
        added = 0
        for index, notification in enumerate(chosen):
            kind = notification.WhichOneof("type") or "email"
            base = f"{execution_key(execution)}.{phase_name}.notification.{index}"
            for sink, message in self._messages(kind, notification, subject, body, values, phase_name):
                payload = json.dumps(message).encode()
                uow.add_new(OutboxRow, _row(sink, "notification", execution, f"{base}.{sink}", payload, now))
                added += 1
        return added

    def _messages(
        self,
        kind: str,
        notification: common_pb2.Notification,
        subject: str,
        body: str,
        values: dict[str, Any],
        phase: str,
    ) -> list[tuple[str, dict[str, Any]]]:
        recipients = list(getattr(notification, kind).recipients_email)
        messages: list[tuple[str, dict[str, Any]]] = [
            ("email", {"to": recipients, "subject": subject, "body": body, "kind": kind})
        ]
        if kind == "slack" and self.notifications.slack_webhook_url:
            messages.append(("slack", {"text": f"*{subject}*\n{body}"}))
        if kind == "pager_duty" and self.notifications.pagerduty_url:
            messages.append(("pagerduty", self._pagerduty(subject, values, phase)))
        return messages

    def _pagerduty(self, subject: str, values: dict[str, Any], phase: str) -> dict[str, Any]:
        """A PagerDuty Events API v2 trigger; the dedup key is the execution and phase."""
        key = f"{values['project']}/{values['domain']}/{values['name']}.{phase}"
        return {
            "routing_key": self.notifications.pagerduty_routing_key,
            "event_action": "trigger",
            "dedup_key": key,
            "payload": {
                "summary": subject,
                "source": "aerodrome",
                "severity": "info" if phase == "SUCCEEDED" else "error",
                "custom_details": {k: values[k] for k in ("project", "domain", "name", "phase", "error")},
            },
            "links": [{"href": values["console_url"], "text": "Execution"}],
        }
