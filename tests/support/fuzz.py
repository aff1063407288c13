"""Example counts of the property-based fuzz tests: small for CI, scaled up by AERODROME_FUZZ_SCALE for a hunt.

``AERODROME_FUZZ_SCALE=50 pytest tests/unit -k fuzz`` runs fifty times the CI examples.
"""

from __future__ import annotations

import os


def examples(ci: int) -> int:
    return ci * max(int(os.environ.get("AERODROME_FUZZ_SCALE", "1") or 1), 1)
