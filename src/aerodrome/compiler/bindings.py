"""Binding checks of the workflow compiler: each node input's binding against the variable it binds,
with the reference compiler's codes and texts (PC/validators/bindings.go)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from flyteidl.core import interface_pb2, literals_pb2, types_pb2

from aerodrome.compiler.errors import Collector
from aerodrome.compiler.graph import START
from aerodrome.compiler.types import describe, is_castable, is_optional, literal_type_of

_VAR = re.compile(r"^(\[(\d+)\]\.)?(\w+)$")


class BindingChecker:
    """Checks bindings against the interfaces of the nodes compiled so far (``interfaces``), reporting to
    ``errors``; ``names`` gives the nodes' metadata names for messages."""

    interfaces: dict[str, interface_pb2.TypedInterface]
    names: dict[str, str]
    errors: Collector

    def _promise_type(self, node_id: str, promise: types_pb2.OutputReference) -> types_pb2.LiteralType | None:
        source = promise.node_id or START
        promise.node_id = source
        interface = self.interfaces.get(source)
        if interface is None:
            self.errors.add("NodeReferenceNotFound", source, f"Referenced node [{source}] not found.")
            return None
        match = _VAR.match(promise.var)
        name = match.group(3) if match else promise.var
        variable = interface.outputs.variables.get(name)
        if variable is None:
            self.errors.variable_not_found(source, promise.var)
            return None
        t = variable.type
        if match and match.group(2) is not None:
            t = t.collection_type
        for step in promise.attr_path:
            if t.HasField("collection_type"):
                t = t.collection_type
            elif t.HasField("map_value_type"):
                t = t.map_value_type
            elif t.structure.dataclass_type:
                key = step.string_value
                if key not in t.structure.dataclass_type:
                    self.errors.add(
                        "FieldNotFound",
                        node_id,
                        f"Variable [{promise.var}] (type [{describe(t)}]) doesn't have field [{key}].",
                    )
                    return None
                t = t.structure.dataclass_type[key]
        return t

    def _check(
        self, node_id: str, var: str, data: literals_pb2.BindingData, expected: types_pb2.LiteralType, sources: set[str]
    ) -> None:
        kind = data.WhichOneof("value")
        if kind == "scalar":
            found = literal_type_of(literals_pb2.Literal(scalar=data.scalar))
            if found.WhichOneof("type") is None:
                self.errors.add("UnrecognizedValue", node_id, f"Unrecognized value [{data.scalar}].")
            elif not is_castable(found, expected):
                self.errors.add(
                    "MismatchingTypes",
                    node_id,
                    f"Variable [{var}] (type [{describe(found)}]) doesn't match expected type [{describe(expected)}].",
                )
            elif expected.HasField("enum_type") and data.scalar.primitive.string_value not in expected.enum_type.values:
                self.errors.add(
                    "IllegalEnumValue",
                    node_id,
                    f"Input [{var}] on node [{node_id}] is an Enum and "
                    f"expects value to be one of [{list(expected.enum_type.values)}].  Received "
                    f"[{data.scalar.primitive.string_value}]",
                )
        elif kind in ("collection", "map"):
            if expected.HasField("union_type"):
                matches = [v for v in expected.union_type.variants if self._fits(data, v)]
                if len(matches) != 1:
                    code = "AmbiguousBindingUnionValue" if matches else "IncompatibleBindingUnionValue"
                    self.errors.add(
                        code,
                        node_id,
                        f"Input [{var}] on node [{node_id}] expects bindings of union "
                        f"type [{describe(expected)}].  Received [{kind}] which "
                        + ("is ambiguous." if matches else "does not match any of the variants."),
                    )
                    return
                expected = matches[0]
            inner_field = "collection_type" if kind == "collection" else "map_value_type"
            if not expected.HasField(inner_field):
                self.errors.add(
                    "MismatchingBindings",
                    node_id,
                    f"Input [{var}] on node [{node_id}] expects bindings "
                    f"of type [{describe(expected)}].  Received [{kind}]",
                )
                return
            inner = getattr(expected, inner_field)
            items = data.collection.bindings if kind == "collection" else data.map.bindings.values()
            for item in items:
                self._check(node_id, var, item, inner, sources)
        elif kind == "promise":
            found_type = self._promise_type(node_id, data.promise)
            sources.add(data.promise.node_id)
            if found_type is not None and not is_castable(found_type, expected):
                source_name = self.names.get(data.promise.node_id)
                out = f"{source_name}.{data.promise.var}" if source_name else data.promise.var
                self.errors.add(
                    "MismatchingTypes",
                    node_id,
                    f"The output variable '{out}' has type "
                    f"[{describe(found_type)}], but it's assigned to the input variable '{var}' which has "
                    f"type type [{describe(expected)}].",
                )

    def _fits(self, data: literals_pb2.BindingData, expected: types_pb2.LiteralType) -> bool:
        probe = Collector()
        saved, self.errors = self.errors, probe
        try:
            self._check("", "", data, expected, set())
        finally:
            self.errors = saved
        return not probe.errors

    def bind(
        self, node_id: str, bindings: Sequence[literals_pb2.Binding], params: interface_pb2.VariableMap
    ) -> set[str]:
        """Validate a node's bindings against its inputs; returns the nodes they read from."""
        sources: set[str] = set()
        seen: set[str] = set()
        for binding in bindings:
            if binding.var in seen:
                self.errors.add(
                    "ParameterBoundMoreThanOnce", node_id, f"Input [{binding.var}] is bound more than once."
                )
                continue
            seen.add(binding.var)
            variable = params.variables.get(binding.var)
            if variable is None:
                self.errors.variable_not_found(node_id, binding.var)
                continue
            if not binding.HasField("binding"):
                self.errors.value_required(node_id, "Binding")
                continue
            self._check(node_id, binding.var, binding.binding, variable.type, sources)
        for name, variable in params.variables.items():
            if name not in seen and not is_optional(variable.type):
                self.errors.parameter_not_bound(node_id, name)
        return sources
