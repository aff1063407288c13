"""What the dispatcher delivers to: one protocol for NATS, webhooks, e-mail, Slack and PagerDuty."""

from __future__ import annotations

from typing import Protocol

from aerodrome.db.models import OutboxRow


class PermanentError(Exception):
    """A delivery that cannot succeed by retrying (the sink is not configured): recorded as failed at once."""


class Sink(Protocol):
    """Delivers one outbox row; raises to have it retried (or ``PermanentError`` to fail it now)."""

    async def deliver(self, row: OutboxRow) -> None: ...

    async def close(self) -> None: ...
