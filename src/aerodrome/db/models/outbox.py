"""The transactional outbox (design decision 12): messages that must leave the process, one row per sink.

A row is written in the same transaction as the state change that caused it, so a committed event is
never lost and a rolled-back one never leaves. ``lane`` (sink + execution) orders delivery: a
dispatcher delivers the rows of a lane in id order and owns a lane while ``claimed_until`` lies ahead.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from aerodrome.db.models.base import Base, RowMixin, UtcDateTime

PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"


class OutboxRow(RowMixin, Base):
    """One message for one sink: a CloudEvent for NATS or a webhook, or a notification (e-mail, Slack, PagerDuty)."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_lane_id", "status", "lane", "id"),
        Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
    )

    sink: Mapped[str] = mapped_column(String(64))  # nats | webhook:<n> | email | slack | pagerduty
    lane: Mapped[str] = mapped_column(String(900))  # "<sink>|<project>/<domain>/<name>"
    kind: Mapped[str] = mapped_column(String(16))  # workflow | node | task | notification
    message_id: Mapped[str] = mapped_column(String(900))  # the CloudEvent id, stable across redeliveries
    execution_project: Mapped[str] = mapped_column(String(255))
    execution_domain: Mapped[str] = mapped_column(String(255))
    execution_name: Mapped[str] = mapped_column(String(255))
    payload: Mapped[bytes] = mapped_column(LargeBinary)  # JSON: the CloudEvent or the notification message
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
