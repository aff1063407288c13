"""The workflow compiler and type checker (pure: no I/O, no database)."""

from aerodrome.compiler.compile import compile_workflow
from aerodrome.compiler.errors import CompileError, CompileErrors
from aerodrome.compiler.interfaces import LaunchPlanInterface
from aerodrome.compiler.launch_plans import expected_launch_plan_inputs, validate_default_inputs
from aerodrome.compiler.requirements import Requirements, workflow_requirements
from aerodrome.compiler.tasks import compile_task
from aerodrome.compiler.types import is_castable, literal_type_of

__all__ = [
    "CompileError",
    "CompileErrors",
    "LaunchPlanInterface",
    "Requirements",
    "compile_task",
    "compile_workflow",
    "expected_launch_plan_inputs",
    "is_castable",
    "literal_type_of",
    "validate_default_inputs",
    "workflow_requirements",
]
