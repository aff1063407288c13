"""What a product workflow does to a product (the six targets of orchestrator-core)."""

from __future__ import annotations

from enum import StrEnum


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

# The same six names as the check constraint of ``product_workflows.target`` (a unit test keeps them equal).
TARGETS = tuple(t.value for t in Target)

__all__ = ["SINGLE_PER_TYPE", "TARGETS", "Target"]
