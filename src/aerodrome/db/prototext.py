"""Compact proto text as Go's ``%v`` prints it, for error messages that match FlyteAdmin's."""

from __future__ import annotations

import json

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message


def compact(message: Message) -> str:
    """``project:"p" domain:"d" name:"n"`` for flat messages; nested ones in braces."""
    parts = []
    for field, value in message.ListFields():
        if field.type == FieldDescriptor.TYPE_MESSAGE and not field.message_type.GetOptions().map_entry:
            values = value if field.label == FieldDescriptor.LABEL_REPEATED else [value]
            parts.extend(f"{field.name}:{{{compact(v)}}}" for v in values)
        elif field.type == FieldDescriptor.TYPE_ENUM:
            parts.append(f"{field.name}:{field.enum_type.values_by_number[value].name}")
        elif field.type == FieldDescriptor.TYPE_STRING:
            parts.append(f"{field.name}:{json.dumps(value)}")
        else:
            parts.append(f"{field.name}:{value}")
    return " ".join(parts)
