"""Compile errors in the reference compiler's shape: code, node id and description, collected and sorted."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class CompileError:
    """One problem found while compiling."""

    code: str
    node_id: str
    description: str

    def __str__(self) -> str:
        return f"Code: {self.code}, Node Id: {self.node_id}, Description: {self.description}"


class CompileErrors(Exception):
    """Every problem found (deduplicated, sorted by code then text), raised together."""

    def __init__(self, errors: list[CompileError]) -> None:
        self.errors = sorted(set(errors), key=lambda e: (e.code, str(e)))
        super().__init__(str(self))

    def __str__(self) -> str:
        lines = "".join(f"\tError {i}: {e}\n" for i, e in enumerate(self.errors))
        return f"Collected Errors: {len(self.errors)}\n{lines}"


class Collector:
    """Accumulates errors during one compilation."""

    def __init__(self) -> None:
        self.errors: list[CompileError] = []

    def add(self, code: str, node_id: str, description: str) -> None:
        self.errors.append(CompileError(code, node_id, description))

    def raise_if_any(self) -> None:
        if self.errors:
            raise CompileErrors(self.errors)

    # The reference's constructors, by name.
    def value_required(self, node: str, what: str) -> None:
        self.add("ValueRequired", node, f"Value required [{what}].")

    def parameter_not_bound(self, node: str, var: str) -> None:
        self.add("ParameterNotBound", node, f"Parameter not bound [{var}].")

    def variable_not_found(self, node: str, var: str) -> None:
        self.add("VariableNameNotFound", node, f"Variable [{var}] not found on node [{node}].")
