"""Fuzzing the type checks: any pair of literal types and any literal are judged, never crash."""

from __future__ import annotations

from flyteidl.core import literals_pb2, types_pb2
from hypothesis import given, settings
from tests.support.fuzz import examples
from tests.unit.compiler import strategies as s

from aerodrome.compiler import literal_type_of
from aerodrome.compiler.types import describe, is_castable, is_optional


@settings(max_examples=examples(150), deadline=None)
@given(s.literal_types, s.literal_types)
def test_castability_is_total(up: types_pb2.LiteralType, down: types_pb2.LiteralType) -> None:
    assert isinstance(is_castable(up, down), bool)
    assert isinstance(is_optional(down), bool)
    assert isinstance(describe(up), str)


@settings(max_examples=examples(150), deadline=None)
@given(s.literals)
def test_every_literal_has_a_type_it_casts_to(literal: literals_pb2.Literal) -> None:
    inferred = literal_type_of(literal)
    assert isinstance(inferred, types_pb2.LiteralType)
    assert isinstance(is_castable(inferred, inferred), bool)
