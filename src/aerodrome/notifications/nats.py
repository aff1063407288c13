"""The NATS JetStream sink: CloudEvents on ``<prefix>.<project>.<domain>.<kind>``, stream created if missing.

Each publish waits for JetStream's acknowledgement, and carries the CloudEvent id as ``Nats-Msg-Id`` so
the stream itself drops a redelivered copy within its duplicate window. The client does not reconnect
or buffer on its own: a lost connection fails the delivery, and the dispatcher's retry connects afresh,
so nothing sits in a client-side buffer the outbox does not know about.
"""

from __future__ import annotations

import logging
import re

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import BadRequestError

from aerodrome.db.models import OutboxRow
from aerodrome.settings import EventSettings

log = logging.getLogger("aerodrome.events")
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def token(name: str) -> str:
    """Subject tokens may not hold dots, spaces or wildcards: anything but letters, digits, ``_`` and ``-``
    becomes ``_``."""
    return _UNSAFE.sub("_", name)


def subject(prefix: str, project: str, domain: str, kind: str) -> str:
    """Where an event of ``kind`` of an execution in (project, domain) is published."""
    return ".".join([prefix, token(project), token(domain), kind])


class NatsSink:
    """Publishes CloudEvents to JetStream."""

    def __init__(self, settings: EventSettings) -> None:
        self.settings = settings
        self._client: Client | None = None
        self._js: JetStreamContext | None = None

    async def _stream(self) -> JetStreamContext:
        if self._client is not None and self._client.is_connected and self._js is not None:
            return self._js
        await self.close()
        s = self.settings
        client = await nats.connect(
            s.nats_url, allow_reconnect=False, connect_timeout=max(1, int(s.timeout_seconds)), max_reconnect_attempts=0
        )
        js = client.jetstream(timeout=s.timeout_seconds)
        try:
            await js.add_stream(name=s.nats_stream, subjects=[f"{s.nats_subject_prefix}.>"])
        except BadRequestError as exc:  # exists with other settings: use it as it is
            log.info("JetStream stream %s kept as configured on the server (%s)", s.nats_stream, exc)
        self._client, self._js = client, js
        return js

    async def deliver(self, row: OutboxRow) -> None:
        js = await self._stream()
        target = subject(self.settings.nats_subject_prefix, row.execution_project, row.execution_domain, row.kind)
        try:
            await js.publish(target, row.payload, headers={"Nats-Msg-Id": row.message_id})
        except Exception:
            await self.close()
            raise

    async def close(self) -> None:
        client, self._client, self._js = self._client, None, None
        if client is not None and not client.is_closed:
            try:
                await client.close()
            except Exception:  # closing a broken connection may fail; it is gone either way
                log.debug("closing the NATS connection failed", exc_info=True)
