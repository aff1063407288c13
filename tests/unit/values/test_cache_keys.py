"""Cache keys: what changes the key and what does not."""

from __future__ import annotations

import pytest
from flyteidl.core import identifier_pb2, interface_pb2, literals_pb2, tasks_pb2, types_pb2

from aerodrome.values.cache_keys import cache_key

INT = types_pb2.LiteralType(simple=types_pb2.INTEGER)


def task(version: str = "t1", cache_version: str = "1", ignore: tuple[str, ...] = ()) -> tasks_pb2.TaskTemplate:
    inputs = interface_pb2.VariableMap(
        variables={"x": interface_pb2.Variable(type=INT), "y": interface_pb2.Variable(type=INT)}
    )
    outputs = interface_pb2.VariableMap(variables={"o0": interface_pb2.Variable(type=INT)})
    return tasks_pb2.TaskTemplate(
        id=identifier_pb2.Identifier(
            resource_type=identifier_pb2.TASK, project="p", domain="d", name="t", version=version
        ),
        interface=interface_pb2.TypedInterface(inputs=inputs, outputs=outputs),
        metadata=tasks_pb2.TaskMetadata(
            discoverable=True, discovery_version=cache_version, cache_ignore_input_vars=ignore
        ),
    )


def inputs(x: int, y: int) -> literals_pb2.LiteralMap:
    def lit(v: int) -> literals_pb2.Literal:
        return literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(integer=v)))

    return literals_pb2.LiteralMap(literals={"x": lit(x), "y": lit(y)})


def test_dataset_and_tag_shape() -> None:
    key = cache_key(task(), inputs(1, 2))
    assert (key.project, key.domain, key.name) == ("p", "d", "flyte_task-t")
    assert key.version.startswith("1-") and len(key.version.split("-")[1]) == 8
    assert key.tag.startswith("flyte_cached-")


def test_task_version_is_not_part_of_the_key_but_cache_version_and_inputs_are() -> None:
    base = cache_key(task(), inputs(1, 2))
    assert cache_key(task(version="t2"), inputs(1, 2)) == base
    assert cache_key(task(cache_version="2"), inputs(1, 2)).version != base.version
    assert cache_key(task(), inputs(1, 3)).tag != base.tag


def test_ignored_inputs_do_not_change_the_tag() -> None:
    assert cache_key(task(ignore=("y",)), inputs(1, 2)).tag == cache_key(task(ignore=("y",)), inputs(1, 99)).tag


def test_literal_hashes_stand_for_their_values() -> None:
    first, second = inputs(1, 2), inputs(1, 2)
    first.literals["x"].hash = second.literals["x"].hash = "abc"
    second.literals["x"].scalar.primitive.integer = 5
    assert cache_key(task(), first).tag == cache_key(task(), second).tag


def test_an_empty_cache_version_is_refused() -> None:
    with pytest.raises(ValueError, match="empty discoveryVersion"):
        cache_key(task(cache_version=" "), inputs(1, 2))
