"""What a product workflow does to a product (the six targets of orchestrator-core)."""

from __future__ import annotations

from enum import StrEnum

from aerodrome.db.models.products import TARGETS


class Target(StrEnum):
    """The value is the name, so ``Target("CREATE")`` and ``"CREATE"`` are interchangeable."""

    CREATE = "CREATE"
    MODIFY = "MODIFY"
    TERMINATE = "TERMINATE"
    SYSTEM = "SYSTEM"
    VALIDATE = "VALIDATE"
    RECONCILE = "RECONCILE"


# A product type has at most one workflow for each of these targets (starting it must not be ambiguous).
SINGLE_PER_TYPE = frozenset({Target.CREATE, Target.TERMINATE})

assert tuple(t.value for t in Target) == TARGETS, "the enum and the database check constraint must agree"

__all__ = ["SINGLE_PER_TYPE", "TARGETS", "Target"]
