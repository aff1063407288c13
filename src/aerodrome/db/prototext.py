"""Compact proto text as Go's ``%v`` prints it, for error messages that match FlyteAdmin's."""

from __future__ import annotations

import json

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message


def _is_map(field: FieldDescriptor) -> bool:
    return field.message_type is not None and field.message_type.GetOptions().map_entry


def _is_repeated(field: FieldDescriptor) -> bool:
    # protobuf 6+ has ``is_repeated``; older releases only ``label``.
    flag = getattr(field, "is_repeated", None)
    if flag is None:
        return bool(field.label == FieldDescriptor.LABEL_REPEATED)  # type: ignore[attr-defined]
    return bool(flag)


def _enum_name(field: FieldDescriptor, number: int) -> str:
    assert field.enum_type is not None
    value = field.enum_type.values_by_number.get(number)
    return value.name if value is not None else str(number)


def compact(message: Message) -> str:
    """``project:"p" domain:"d" name:"n"`` for flat messages; nested ones in braces."""
    parts: list[str] = []
    for field, value in message.ListFields():
        if field.type == FieldDescriptor.TYPE_MESSAGE and not _is_map(field):
            values = value if _is_repeated(field) else [value]
            parts.extend(f"{field.name}:{{{compact(v)}}}" for v in values)
        elif field.type == FieldDescriptor.TYPE_ENUM:
            parts.append(f"{field.name}:{_enum_name(field, value)}")
        elif field.type == FieldDescriptor.TYPE_STRING:
            parts.append(f"{field.name}:{json.dumps(value)}")
        else:
            parts.append(f"{field.name}:{value}")
    return " ".join(parts)
