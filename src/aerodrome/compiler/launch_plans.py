"""Launch-plan input checks against the workflow interface (checkAndFetchExpectedInputForLaunchPlan)."""

from __future__ import annotations

from flyteidl.core import interface_pb2, literals_pb2

from aerodrome.compiler.types import describe, is_castable, literal_type_of
from aerodrome.errors import InvalidArgument


def validate_default_inputs(default_inputs: interface_pb2.ParameterMap) -> None:
    """Each default input has a typed variable, and a default or ``required`` (and a matching type)."""
    for name, param in default_inputs.parameters.items():
        if not param.HasField("var") or not param.var.HasField("type"):
            raise InvalidArgument(
                f"The Variable component of the Parameter {name} in default_inputs either is missing, or has a "
                "missing Type"
            )
        if param.HasField("artifact_query"):
            raise InvalidArgument(f"artifact mode not enabled but query found default_inputs {name}")
        if not param.HasField("default") and not param.required:
            raise InvalidArgument(
                f"Invalid variable {name} in default_inputs - variable has neither default, nor is required. "
                "One must be specified"
            )
        if param.HasField("default") and not is_castable(literal_type_of(param.default), param.var.type):
            raise InvalidArgument(
                f"Type mismatch for Parameter {name} in default_inputs has type {describe(param.var.type)}, "
                f"expected {describe(literal_type_of(param.default))}"
            )


def expected_launch_plan_inputs(
    workflow_interface: interface_pb2.TypedInterface,
    default_inputs: interface_pb2.ParameterMap,
    fixed_inputs: literals_pb2.LiteralMap,
) -> interface_pb2.ParameterMap:
    """Every workflow input: its launch-plan default, else required; fixed inputs are left out."""
    inputs = workflow_interface.inputs.variables
    if not inputs:
        if default_inputs.parameters:
            raise InvalidArgument(
                f"invalid launch plan default inputs, expected none but found {len(default_inputs.parameters)}"
            )
        if fixed_inputs.literals:
            raise InvalidArgument(
                f"invalid launch plan fixed inputs, expected none but found {len(fixed_inputs.literals)}"
            )
        return interface_pb2.ParameterMap()
    for name, param in default_inputs.parameters.items():
        if name not in inputs:
            raise InvalidArgument(f"unexpected default_input {name}")
        if not is_castable(param.var.type, inputs[name].type):
            raise InvalidArgument(
                f"invalid default_input wrong type {name}, expected {describe(inputs[name].type)}, "
                f"got {describe(param.var.type)} instead"
            )
    for name, literal in fixed_inputs.literals.items():
        if name not in inputs:
            raise InvalidArgument(f"unexpected fixed_input {name}")
        given = literal_type_of(literal)
        if not is_castable(given, inputs[name].type):
            raise InvalidArgument(
                f"invalid fixed_input wrong type {name}, expected {describe(inputs[name].type)}, "
                f"got {describe(given)} instead"
            )
    expected = interface_pb2.ParameterMap()
    for name, variable in inputs.items():
        if name in default_inputs.parameters:
            expected.parameters[name].CopyFrom(default_inputs.parameters[name])
        elif name not in fixed_inputs.literals:
            expected.parameters[name].CopyFrom(
                interface_pb2.Parameter(
                    var=interface_pb2.Variable(type=variable.type, description=variable.description), required=True
                )
            )
    return expected
