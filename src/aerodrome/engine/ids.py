"""Node-execution and child-execution ids, generated exactly as propeller generates them.

flytekit and the console find nested node executions by these ids (``n1-0-n0`` under parent ``n1``
attempt 0), so they must match the reference: parts joined with ``-`` (empty leading parts skipped), and
an id longer than its limit replaced by ``f`` + base32(fnv) in the alphabet ``a-z1-6`` without padding.
"""

from __future__ import annotations

import base64

NODE_ID_LIMIT = 20
_STANDARD = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_FLYTE = b"abcdefghijklmnopqrstuvwxyz123456"
_TRANSLATE = bytes.maketrans(_STANDARD, _FLYTE)


def fnv1a(data: bytes, bits: int = 32) -> bytes:
    """FNV-1a (32 or 64 bit), big-endian bytes as Go's hash.Sum returns them."""
    if bits == 32:
        value, prime, mask = 0x811C9DC5, 0x01000193, 0xFFFFFFFF
    else:
        value, prime, mask = 0xCBF29CE484222325, 0x100000001B3, 0xFFFFFFFFFFFFFFFF
    for byte in data:
        value = ((value ^ byte) * prime) & mask
    return value.to_bytes(bits // 8, "big")


def fixed_length_id(parts: list[str], limit: int = NODE_ID_LIMIT, *, bits: int = 32) -> str:
    """``FixedLengthUniqueIDForParts``: the joined parts, or a short hash when they are too long."""
    joined = ""
    for i, part in enumerate(parts):
        if i > 0 and joined:
            joined += "-"
        joined += part
    if len(joined) <= limit:
        return joined
    encoded = base64.b32encode(fnv1a(joined.encode(), bits)).translate(_TRANSLATE).rstrip(b"=").decode()
    return "f" + encoded


def node_unique_id(parent: str, attempt: str, node_id: str) -> str:
    """The id a node execution is recorded under (``parent`` empty at the top level)."""
    return fixed_length_id([parent, attempt, node_id])


def child_execution_name(execution: str, node_unique: str, attempt: int) -> str:
    """The name of the execution a launch-plan node starts (stable, so a restart finds it again)."""
    return fixed_length_id([execution, node_unique, str(attempt)], bits=64)
