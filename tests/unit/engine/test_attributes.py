"""Attribute paths against flytekit's own encoding and decoding, on random nested dataclasses and pydantic
models (both encodings: msgpack binary scalars and the old generic structs).

For every valid path the resolved literal, decoded by flytekit with the field's type, must equal the value
Python gives for the same path (what flytekit's local execution hands the next task); every invalid path
(a missing field or key, an index past the end) must raise a PathError naming the step.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
from collections.abc import Iterator
from typing import Any

import msgpack
import pydantic
import pytest
from flyteidl.core import literals_pb2, types_pb2
from flytekit.core.context_manager import FlyteContextManager
from flytekit.core.promise import resolve_attr_path_in_dict, resolve_attr_path_in_pb_struct
from flytekit.core.type_engine import TypeEngine
from flytekit.models.literals import Literal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aerodrome.engine.attributes import PathError, follow

_names = itertools.count()
LEAVES: dict[type, st.SearchStrategy[Any]] = {
    int: st.integers(-(2**31), 2**31),
    float: st.floats(allow_nan=False, allow_infinity=False, width=32),
    str: st.text(max_size=8),
    bool: st.booleans(),
}
KEYS = st.text(alphabet="abcxyz", min_size=1, max_size=4)


def draw_type(data: st.DataObject, flavour: str, depth: int) -> Any:
    """A random type: a leaf, List/Dict of a type, or a record (dataclass or pydantic model) of types."""
    choices = ["leaf"] if depth >= 3 else ["leaf", "leaf", "list", "dict", "record"]
    kind = data.draw(st.sampled_from(choices))
    if kind == "leaf":
        return data.draw(st.sampled_from(list(LEAVES)))
    if kind == "list":
        return list[draw_type(data, flavour, depth + 1)]  # type: ignore[misc]
    if kind == "dict":
        return dict[str, draw_type(data, flavour, depth + 1)]  # type: ignore[misc]
    return draw_record(data, flavour, depth + 1)


def draw_record(data: st.DataObject, flavour: str, depth: int) -> type:
    count = data.draw(st.integers(1, 3))
    fields = [(f"f{i}", draw_type(data, flavour, depth)) for i in range(count)]
    name = f"R{next(_names)}"
    if flavour == "pydantic":
        return pydantic.create_model(name, **{n: (t, ...) for n, t in fields})  # type: ignore[call-overload,no-any-return]
    return dataclasses.make_dataclass(name, fields)


def draw_value(data: st.DataObject, t: Any) -> Any:
    if t in LEAVES:
        return data.draw(LEAVES[t])
    origin = getattr(t, "__origin__", None)
    if origin is list:
        return [draw_value(data, t.__args__[0]) for _ in range(data.draw(st.integers(0, 3)))]
    if origin is dict:
        keys = data.draw(st.lists(KEYS, max_size=3, unique=True))
        return {k: draw_value(data, t.__args__[1]) for k in keys}
    return t(**{name: draw_value(data, ft) for name, ft in fields_of(t).items()})


def fields_of(t: type) -> dict[str, Any]:
    if dataclasses.is_dataclass(t):
        return {f.name: f.type for f in dataclasses.fields(t)}
    return {n: f.annotation for n, f in t.model_fields.items()}  # type: ignore[attr-defined]


def paths(value: Any, t: Any, prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], Any, Any]]:
    """Every valid path below ``value`` with the value and type it reaches."""
    if prefix:
        yield prefix, value, t
    origin = getattr(t, "__origin__", None)
    if t in LEAVES:
        return
    if origin is list:
        for i, item in enumerate(value):
            yield from paths(item, t.__args__[0], (*prefix, i))
    elif origin is dict:
        for k, item in value.items():
            yield from paths(item, t.__args__[1], (*prefix, k))
    else:
        for name, ft in fields_of(t).items():
            yield from paths(getattr(value, name), ft, (*prefix, name))


def attrs(path: tuple[str | int, ...]) -> list[types_pb2.PromiseAttribute]:
    return [
        types_pb2.PromiseAttribute(int_value=p) if isinstance(p, int) else types_pb2.PromiseAttribute(string_value=p)
        for p in path
    ]


def encode(value: Any, t: type, old_format: bool) -> literals_pb2.Literal:
    ctx = FlyteContextManager.current_context()
    previous = os.environ.get("FLYTE_USE_OLD_DC_FORMAT")
    os.environ["FLYTE_USE_OLD_DC_FORMAT"] = "true" if old_format else "false"
    try:
        literal = TypeEngine.to_literal(ctx, value, t, TypeEngine.to_literal_type(t))
    finally:
        if previous is None:
            os.environ.pop("FLYTE_USE_OLD_DC_FORMAT")
        else:
            os.environ["FLYTE_USE_OLD_DC_FORMAT"] = previous
    return literal.to_flyte_idl()  # type: ignore[no-any-return]


def decode(literal: literals_pb2.Literal, t: Any) -> Any:
    ctx = FlyteContextManager.current_context()
    return TypeEngine.to_python_value(ctx, Literal.from_flyte_idl(literal), t)


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return float(a) == float(b)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return bool(a == b)


@pytest.mark.parametrize("flavour", ["dataclass", "pydantic"])
@pytest.mark.parametrize("old_format", [False, True], ids=["msgpack", "struct"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_path_resolves_as_flytekit_reads_it(flavour: str, old_format: bool, data: st.DataObject) -> None:
    t = draw_record(data, flavour, 0)
    value = draw_value(data, t)
    literal = encode(value, t, old_format)
    for path, expected, field_type in paths(value, t):
        resolved = follow(literal, attrs(path))
        try:
            got = decode(resolved, field_type)
        except Exception:
            # Only where flytekit itself cannot pass the field on either (e.g. a dict of pydantic models).
            assert not flytekit_passes_on(literal, path, field_type, old_format), (path, resolved)
            continue
        assert same(got, expected), (path, resolved)


def flytekit_passes_on(literal: literals_pb2.Literal, path: tuple[str | int, ...], t: Any, old_format: bool) -> bool:
    """Whether flytekit's local execution hands this field to a task: it resolves the path inside the
    msgpack (or the struct) itself, makes a literal of what it reached and decodes that with the type."""
    ctx = FlyteContextManager.current_context()
    try:
        if old_format:
            reached = resolve_attr_path_in_pb_struct(literal.scalar.generic, list(path))
            local = TypeEngine.to_literal(ctx, reached, type(reached), TypeEngine.to_literal_type(type(reached)))
            TypeEngine.to_python_value(ctx, local, t)
        else:
            unpacked = msgpack.loads(literal.scalar.binary.value, strict_map_key=False)
            value = resolve_attr_path_in_dict(unpacked, list(path))
            packed = literals_pb2.Binary(value=msgpack.dumps(value), tag="msgpack")
            decode(literals_pb2.Literal(scalar=literals_pb2.Scalar(binary=packed)), t)
    except Exception:
        return False
    return True


@pytest.mark.parametrize("old_format", [False, True], ids=["msgpack", "struct"])
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_invalid_paths_name_the_missing_step(old_format: bool, data: st.DataObject) -> None:
    t = draw_record(data, "dataclass", 0)
    value = draw_value(data, t)
    literal = encode(value, t, old_format)
    valid = list(paths(value, t))
    prefix, reached, reached_type = data.draw(st.sampled_from([((), value, t), *valid]))
    if reached_type in LEAVES:
        bad: str | int = "missing_field"
    elif isinstance(reached, list):
        bad = len(reached)
    else:
        bad = "missing_field"
    with pytest.raises(PathError, match=repr(bad) if isinstance(bad, int) else "missing_field"):
        follow(literal, attrs((*prefix, bad)))
