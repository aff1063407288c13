"""JSON log lines: one object per record, with the request and execution ids of the context that logged."""

from __future__ import annotations

import contextvars
import json
import logging

from aerodrome.observability.logs import JsonFormatter, execution_id, request_id


def record(message: str, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    return logging.LogRecord("aerodrome.engine", logging.WARNING, __file__, 1, message, ("x",), exc_info)


def test_ids_appear_only_where_they_are_set() -> None:
    def inside() -> str:
        request_id.set("r1")
        execution_id.set("p:d:e1")
        return JsonFormatter().format(record("hello %s"))

    line = json.loads(contextvars.copy_context().run(inside))
    assert line["message"] == "hello x" and line["level"] == "WARNING" and line["logger"] == "aerodrome.engine"
    assert line["request_id"] == "r1" and line["execution_id"] == "p:d:e1"
    outside = json.loads(JsonFormatter().format(record("plain %s")))
    assert "request_id" not in outside and "execution_id" not in outside


def test_exceptions_stay_on_one_line() -> None:
    try:
        raise ValueError("bad\nvalue")
    except ValueError as exc:
        text = JsonFormatter().format(record("failed %s", exc))
    assert "\n" not in text
    assert "ValueError: bad" in json.loads(text)["exception"]
