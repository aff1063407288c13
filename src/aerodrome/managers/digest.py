"""Canonical digests and human-readable diffs of protobuf messages.

Identical re-registration must be recognised whatever order a client serialised map entries in, so the
digest hashes a deterministic serialization rather than the bytes as received. The diff is what a user
reads when a different body is registered under an existing version.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message

MAX_DIFF_LINES = 40


def canonical(message: Message) -> Any:
    """The message as JSON-compatible data with defaults omitted."""
    return json_format.MessageToDict(message, preserving_proto_field_name=False)


def digest(message: Message) -> bytes:
    """SHA-256 of the deterministic serialization (map entries sorted, defaults omitted).

    Equal messages give equal bytes whatever order a client wrote map entries in, which is all that
    identical-vs-different needs; it is an order of magnitude cheaper than hashing canonical JSON.
    """
    return serialized_with_digest(message)[1]


def serialized_with_digest(message: Message) -> tuple[bytes, bytes]:
    """The deterministic serialization and its digest: callers that store the message anyway keep these
    bytes (a valid serialization like any other) instead of serializing it a second time."""
    data = message.SerializeToString(deterministic=True)
    return data, hashlib.sha256(data).digest()


def _walk(path: str, old: Any, new: Any, out: list[str]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(old.keys() | new.keys()):
            _walk(f"{path}.{key}" if path else key, old.get(key), new.get(key), out)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            _walk(f"{path}[{i}]", a, b, out)
    elif old != new:
        out.append(f"{path}:\n\t- {json.dumps(old)} \n\t+ {json.dumps(new)}")


def diff(old: Message, new: Message) -> str:
    """Each differing field path with its stored (``-``) and requested (``+``) value."""
    lines: list[str] = []
    _walk("", canonical(old), canonical(new), lines)
    if len(lines) > MAX_DIFF_LINES:
        lines = [*lines[:MAX_DIFF_LINES], f"... and {len(lines) - MAX_DIFF_LINES} more differences"]
    return "\n".join(lines)
