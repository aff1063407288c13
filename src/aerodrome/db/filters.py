"""FlyteAdmin's list-filter grammar, parsed once and turned into SQL by the repositories.

``filters`` is a list of ``function(field, value)`` expressions joined by ``+``; values are split on
``;``; a field may carry an entity prefix (``workflow.name``). Fields are database column names of the
addressed entity. Error texts follow FlyteAdmin (AP/common/filters.go, AP/manager/impl/util/filters.go).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, not_
from sqlalchemy.sql.elements import KeyedColumnElement

from aerodrome.errors import InvalidArgument, invalid

# Entity names accepted as a field prefix, with the short codes FlyteAdmin prints in its errors.
ENTITY_CODES: dict[str, str] = {
    "execution": "e",
    "launch_plan": "l",
    "node_execution": "ne",
    "node_execution_event": "nee",
    "task": "t",
    "task_execution": "te",
    "workflow": "w",
    "entities": "nen",
    "named_entity_metadata": "nem",
    "project": "p",
    "signal": "s",
    "admin_tag": "at",
    "execution_admin_tag": "eat",
    "execution_tag": "et",
    "description_entity": "d",
}

SINGLE_VALUE = frozenset({"contains", "not_like", "gt", "gte", "lt", "lte", "eq", "ne"})
MULTI_VALUE = frozenset({"value_in", "value_not_in"})
# Bounds that keep one list call cheap: the text is parsed in linear time, and the values become bind
# parameters (SQLite accepts 32,766 per statement).
MAX_FILTER_CHARS = 64 * 1024
MAX_FILTER_VALUES = 10_000
_INT64 = (-(2**63), 2**63 - 1)

Columns = Mapping[str, Mapping[str, KeyedColumnElement[Any]]]


@dataclass(frozen=True)
class Filter:
    """One parsed ``function(entity.field, values)`` expression; ``entity`` is "" when unprefixed."""

    function: str
    entity: str
    field: str
    values: tuple[str, ...]


def _split(expression: str) -> tuple[str, str, str] | None:
    """Function, field and value of ``function(field,value)``: what the reference's ``(.+)\\((.+),\\s?(.+)\\)``
    captures (greedy: the last ``(`` before the last ``,`` before the last ``)``), found in linear time. The
    backtracking regex itself took 15 s on 1,000 opening parentheses, with the event loop blocked."""
    if "\n" in expression:
        return None
    close = expression.rfind(")")
    comma = expression.rfind(",", 0, max(close - 1, 0))
    opening = expression.rfind("(", 1, max(comma - 1, 0))
    if close < 0 or comma < 0 or opening < 0:
        return None
    return expression[:opening], expression[opening + 1 : comma], expression[comma + 1 : close]


def parse_filters(text: str) -> list[Filter]:
    """Parse a ``filters`` string; an empty string gives no filters."""
    if len(text) > MAX_FILTER_CHARS:
        raise InvalidArgument(
            f"filters is {len(text)} characters long, more than the {MAX_FILTER_CHARS} accepted: "
            "narrow the query (e.g. a value_in of fewer values) or split it into several calls"
        )
    if "\x00" in text:  # PostgreSQL text cannot hold NUL: the driver would fail on it
        raise InvalidArgument("invalid value for filters: NUL characters are not allowed")
    if not text.strip():
        return []
    parsed = []
    for expression in text.split("+"):
        parts = _split(expression.strip())
        if parts is None:
            raise InvalidArgument(f"invalid value for filters: {expression!r} is not of the form function(field,value)")
        function, field, value = (part.strip() for part in parts)
        if function not in SINGLE_VALUE | MULTI_VALUE:
            raise InvalidArgument(f"unrecognized filter function: {function}")
        entity, _, column = field.rpartition(".")
        parsed.append(Filter(function, entity, column, tuple(value.split(";"))))
    if sum(len(f.values) for f in parsed) > MAX_FILTER_VALUES:
        raise InvalidArgument(f"filters name more than {MAX_FILTER_VALUES} values in all: split the query")
    return parsed


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}


def parse_duration_ns(raw: str) -> int:
    """A duration filter value in nanoseconds: a bare number is seconds, else Go syntax (``1h2m3.5s``)."""
    text = raw.strip()
    try:
        return _in_int64(int(float(text) * 10**9), raw, "duration")
    except (ValueError, OverflowError):  # not a number; or inf / nan
        pass
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise InvalidArgument(f"Failed to parse duration [{raw}]")
    try:
        return _in_int64(int(sum(float(n) * _NS[u] for n, u in parts)), raw, "duration")
    except OverflowError:
        raise InvalidArgument(f"Failed to parse duration [{raw}]: out of range") from None


def _in_int64(value: int, raw: str, field: str) -> int:
    """Database integers are 64-bit: a bigger value would fail in the driver, not as a clear error."""
    if not _INT64[0] <= value <= _INT64[1]:
        raise InvalidArgument(f"invalid value for filters: {raw!r} is out of range for field {field}")
    return value


def _convert(column: KeyedColumnElement[Any], raw: str) -> Any:
    """Coerce a filter value to the column's Python type, so PostgreSQL gets typed parameters."""
    if column.key == "duration":
        return parse_duration_ns(raw)
    try:
        python_type = column.type.python_type
    except NotImplementedError:
        return raw
    try:
        if python_type is bool:
            return raw.lower() in {"1", "true", "t", "yes"}
        if python_type is int:
            return _in_int64(int(raw), raw, column.key)
        if python_type is float:
            return float(raw)
        if python_type is datetime:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            # In UTC now (as the column's type would convert it): year 1 at +01:00 cannot be, and says so here.
            return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise InvalidArgument(
            f"invalid value for filters: {raw!r} is not a valid {python_type.__name__} for field {column.key}"
        ) from None
    return raw


def _python_type(column: KeyedColumnElement[Any]) -> type | None:
    try:
        return column.type.python_type  # type: ignore[no-any-return]
    except NotImplementedError:
        return None


def to_clause(flt: Filter, primary: str, columns: Columns) -> ColumnElement[bool]:
    """Turn a parsed filter into a SQL condition over the columns the caller allows.

    ``columns`` maps each joinable entity name to its filterable columns; ``primary`` is the entity an
    unprefixed field belongs to.
    """
    entity = flt.entity or primary
    if entity not in columns:
        code = ENTITY_CODES.get(entity)
        if code is None:
            raise InvalidArgument(f"invalid value for filters: unknown entity '{entity}' in {flt.entity}.{flt.field}")
        raise InvalidArgument(f"'{code}' entity is not allowed in filters")
    column = columns[entity].get(flt.field)
    if column is None:
        raise InvalidArgument(f"'{ENTITY_CODES.get(entity, entity)}.{flt.field}' is invalid filter")
    kind = _python_type(column)
    if kind is bytes:  # serialized protobuf: no filter means anything on it (the driver would fail on text)
        raise InvalidArgument(f"invalid value for filters: field {flt.field} holds binary data and cannot be filtered")
    if flt.function in ("contains", "not_like") and kind not in (str, None):
        raise InvalidArgument(
            f"invalid value for filters: {flt.function} compares text, and field {flt.field} is not a text field"
        )
    values = [_convert(column, v) for v in flt.values]
    clause: ColumnElement[bool]
    if flt.function in MULTI_VALUE:
        clause = column.in_(values)
        return not_(clause) if flt.function == "value_not_in" else clause
    if len(values) != 1:
        raise InvalidArgument(f"invalid value for filters: {flt.function} takes one value, got {len(values)}")
    value = values[0]
    match flt.function:
        case "contains":
            clause = column.contains(value, autoescape=True)
        case "not_like":
            clause = column.not_like(value)
        case "gt":
            clause = column > value
        case "gte":
            clause = column >= value
        case "lt":
            clause = column < value
        case "lte":
            clause = column <= value
        case "eq":
            clause = column == value
        case _:
            clause = column != value
    return clause


def filters_to_clauses(text: str, primary: str, columns: Columns) -> list[ColumnElement[bool]]:
    """Parse and translate a whole ``filters`` string."""
    return [to_clause(f, primary, columns) for f in parse_filters(text)]


def columns_of(table_columns: Any) -> dict[str, KeyedColumnElement[Any]]:
    """Every column of an ORM class or table, by name (FlyteAdmin allows any model column)."""
    return {c.key: c for c in table_columns}


__all__ = ["ENTITY_CODES", "Columns", "Filter", "filters_to_clauses", "invalid", "parse_filters", "to_clause"]
