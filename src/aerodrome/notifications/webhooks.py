"""HTTP deliveries: CloudEvents to webhooks (HMAC-SHA256 signed), Slack and PagerDuty JSON posts.

Only a 2xx answer counts as delivered; any other status, a refused connection or a timeout is retried.
"""

from __future__ import annotations

import hashlib
import hmac

import httpx

from aerodrome.db.models import OutboxRow

SIGNATURE_HEADER = "X-Aerodrome-Signature"


def signature(secret: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of the body>``; receivers compute the same with the shared secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class HttpPoster:
    """POSTs a row's payload to one URL."""

    def __init__(self, client: httpx.AsyncClient, url: str, *, content_type: str, secret: str = "") -> None:
        self.client = client
        self.url = url
        self.content_type = content_type
        self.secret = secret

    async def deliver(self, row: OutboxRow) -> None:
        headers = {"Content-Type": self.content_type}
        if self.content_type.startswith("application/cloudevents"):
            headers["ce-id"] = row.message_id
        if self.secret:
            headers[SIGNATURE_HEADER] = signature(self.secret, row.payload)
        response = await self.client.post(self.url, content=row.payload, headers=headers)
        if not response.is_success:
            raise RuntimeError(f"{self.url} answered HTTP {response.status_code}: {response.text[:200]}")

    async def close(self) -> None:
        return None
