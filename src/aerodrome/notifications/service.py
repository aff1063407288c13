"""Builds the outbox writer, the sinks and the dispatcher from the settings (called by the composition root)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from aerodrome.db.engine import Database
from aerodrome.db.models import OutboxRow
from aerodrome.managers.events import Recorded
from aerodrome.notifications.dispatcher import Dispatcher
from aerodrome.notifications.email import EmailSender
from aerodrome.notifications.nats import NatsSink
from aerodrome.notifications.outbox import Outbox
from aerodrome.notifications.sinks import Sink
from aerodrome.notifications.webhooks import HttpPoster
from aerodrome.settings import Settings

Watch = Callable[[Callable[[Recorded], None]], Callable[[], None]]


def outbox(settings: Settings) -> Outbox:
    """The writer the EventManager uses."""
    return Outbox(settings.events, settings.notifications, settings.console_url)


def sinks(settings: Settings, client: httpx.AsyncClient) -> dict[str, Sink]:
    """Every sink the outbox may name; e-mail is always there (it fails visibly when SMTP is not set up)."""
    ev, nt = settings.events, settings.notifications
    found: dict[str, Sink] = {"email": EmailSender(nt)}
    if ev.nats_url:
        found["nats"] = NatsSink(ev)
    for index, url in enumerate(ev.webhook_urls):
        found[f"webhook:{index}"] = HttpPoster(
            client, url, content_type="application/cloudevents+json", secret=ev.webhook_secret
        )
    if nt.slack_webhook_url:
        found["slack"] = HttpPoster(client, nt.slack_webhook_url, content_type="application/json")
    if nt.pagerduty_url:
        found["pagerduty"] = HttpPoster(client, nt.pagerduty_url, content_type="application/json")
    return found


def dispatcher(settings: Settings, db: Database, watch: Watch) -> Dispatcher:
    """The dispatcher service with its sinks; the HTTP sinks share one client, closed when it stops."""
    client = httpx.AsyncClient(timeout=settings.events.timeout_seconds)
    return Dispatcher(db, sinks(settings, client), settings.events, watch, on_stop=[client.aclose])


@dataclass(frozen=True)
class OutboxMonitor:
    """Outbox depth, age of the oldest undelivered row and the newest failed deliveries."""

    db: Database

    async def status(self) -> dict[str, Any]:
        async with self.db.transaction() as uow:
            stats = await uow.outbox.stats()
            failures = await uow.outbox.failures(20)
            retrying = await uow.outbox.retrying(20)
        age = (datetime.now(UTC) - stats.oldest_pending).total_seconds() if stats.oldest_pending else 0.0
        return {
            "pending": stats.pending,
            "oldest_pending_age_seconds": round(age, 3),
            "failed": stats.failed,
            "recent_failures": [_described(row) for row in failures],
            "retrying": [_described(row) for row in retrying],
        }


def _described(row: OutboxRow) -> dict[str, Any]:
    return {
        "id": row.message_id,
        "sink": row.sink,
        "execution": f"{row.execution_project}/{row.execution_domain}/{row.execution_name}",
        "attempts": row.attempts,
        "error": row.last_error,
        "at": row.updated_at.isoformat(),
    }
