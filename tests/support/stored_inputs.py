"""Find the inputs objects CreateExecution stored (under their content's key, ``blobstore/inputs.py``)."""

from __future__ import annotations

from pathlib import Path

from flyteidl.core import literals_pb2


def string_input(value: str) -> literals_pb2.Literal:
    return literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(string_value=value)))


def inputs_objects(blobs: Path, project: str, domain: str, name_input: str) -> list[literals_pb2.LiteralMap]:
    """Every stored inputs object of ``project``/``domain`` whose ``name`` input is ``name_input``."""
    found = []
    for path in sorted((blobs / project / domain / "inputs").rglob("*.pb")):
        stored = literals_pb2.LiteralMap.FromString(path.read_bytes())
        literal = stored.literals.get("name")
        if literal is not None and literal.scalar.primitive.string_value == name_input:
            found.append(stored)
    return found
