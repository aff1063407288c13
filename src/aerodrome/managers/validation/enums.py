"""Names of enum values that come from requests, where any number may arrive.

protobuf keeps unknown enum numbers (open enums), and ``Enum.Name`` raises ValueError on them: found
by fuzzing the gateway (DeleteWorkflowAttributes with resource type -1 ended INTERNAL).
"""

from __future__ import annotations

from typing import Any

from aerodrome.errors import InvalidArgument


def known_name(enum: Any, value: int, field: str) -> str:
    """The name of ``value``; INVALID_ARGUMENT naming the field and the accepted names when it has none."""
    try:
        return str(enum.Name(value))
    except ValueError:
        raise InvalidArgument(f"{field}: {value} is not one of {', '.join(enum.keys())}") from None


def name_or_number(enum: Any, value: int) -> str:
    """The name of ``value``, or the number itself (for messages and records that must not fail)."""
    try:
        return str(enum.Name(value))
    except ValueError:
        return str(value)
