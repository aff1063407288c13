"""Notification e-mails through SMTP (aiosmtplib): plain, STARTTLS or implicit TLS, optional login.

One message per notification, addressed to all its recipients; the SMTP conversation is the delivery, so
a refused recipient or a server that is down raises and the dispatcher retries.
"""

from __future__ import annotations

import json
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib

from aerodrome.db.models import OutboxRow
from aerodrome.notifications.sinks import PermanentError
from aerodrome.settings import NotificationSettings


def message(sender: str, to: list[str], subject: str, body: str, message_id: str = "") -> EmailMessage:
    """A plain-text e-mail; ``message_id`` (the outbox id) lets a mail system drop a redelivered copy."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = ", ".join(to)
    mail["Subject"] = subject
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(idstring=message_id.replace("/", ".")[:60] or None, domain="aerodrome")
    mail.set_content(body)
    return mail


class EmailSender:
    """Sends notification e-mails with the configured SMTP settings."""

    def __init__(self, settings: NotificationSettings) -> None:
        self.settings = settings

    async def send(self, mail: EmailMessage) -> None:
        s = self.settings
        if not s.smtp_host:
            raise PermanentError("no SMTP server configured (AERODROME_NOTIFICATIONS_SMTP_HOST)")
        await aiosmtplib.send(
            mail,
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_user or None,
            password=s.smtp_password or None,
            use_tls=s.smtp_tls,
            start_tls=s.smtp_starttls if not s.smtp_tls else False,
            timeout=s.smtp_timeout_seconds,
        )

    async def deliver(self, row: OutboxRow) -> None:
        content = json.loads(row.payload)
        await self.send(
            message(self.settings.sender, content["to"], content["subject"], content["body"], row.message_id)
        )

    async def close(self) -> None:
        return None
