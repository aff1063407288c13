"""Generated identifiers, as FlyteAdmin makes them."""

from __future__ import annotations

import secrets

# k8s rand.String's alphabet: no vowels (no accidental words), no look-alike characters.
NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_UNBIASED = 256 - 256 % len(NAME_ALPHABET)  # bytes below this map evenly onto the alphabet


def execution_name() -> str:
    """``a`` + 19 random characters: 20 in all, alphanumeric, a valid DNS label.

    One read of the system's random source per name (``secrets.choice`` per character cost 19 reads, a
    visible share of CreateExecution's CPU); bytes that would bias the choice are skipped.
    """
    chars: list[str] = []
    while len(chars) < 19:
        chars += [NAME_ALPHABET[b % len(NAME_ALPHABET)] for b in secrets.token_bytes(24) if b < _UNBIASED]
    return "a" + "".join(chars[:19])
