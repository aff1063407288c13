"""Log set-up of ``aerodrome start``: rich console lines (default) or one JSON object per line.

JSON lines carry the request id and the execution id of the work that logged them, taken from
context variables: the transports set the request id per call, the engine sets the execution id in
the task that drives an execution (asyncio copies the context into tasks it creates).
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

request_id: ContextVar[str] = ContextVar("aerodrome_request_id", default="")
execution_id: ContextVar[str] = ContextVar("aerodrome_execution_id", default="")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, request_id / execution_id when known."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, var in (("request_id", request_id), ("execution_id", execution_id)):
            value = var.get()
            if value:
                document[key] = value
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return json.dumps(document, ensure_ascii=False)


def json_handler() -> logging.Handler:
    """A stderr handler writing JSON lines."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    return handler
