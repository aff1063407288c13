"""Generated identifiers, as FlyteAdmin makes them."""

from __future__ import annotations

import secrets

# k8s rand.String's alphabet: no vowels (no accidental words), no look-alike characters.
NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def execution_name() -> str:
    """``a`` + 19 random characters: 20 in all, alphanumeric, a valid DNS label."""
    return "a" + "".join(secrets.choice(NAME_ALPHABET) for _ in range(19))
