"""Product workflows for users' own code: the code registry and the data-migration helpers.

Stage 1 (database): a data migration made by ``aerodrome db revision --head data`` calls
``aerodrome.products.migrations.create_workflow`` / ``delete_workflow`` (and the product-type helpers).
Stage 2 (code): ``LazyWorkflowInstance("pkg.module", "function")`` maps a registered workflow name to the
flytekit workflow that implements it, imported only when used. ``aerodrome products check`` compares both.
"""

from aerodrome.products.code import ALL_WORKFLOWS, LazyWorkflowInstance, WorkflowCodeError
from aerodrome.products.errors import ProductRegistrationError
from aerodrome.products.targets import TARGETS, Target

__all__ = [
    "ALL_WORKFLOWS",
    "TARGETS",
    "LazyWorkflowInstance",
    "ProductRegistrationError",
    "Target",
    "WorkflowCodeError",
]
