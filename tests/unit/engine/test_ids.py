"""Node and child-execution ids match propeller's FixedLengthUniqueIDForParts."""

from __future__ import annotations

import re

from aerodrome.engine.ids import child_execution_name, fixed_length_id, fnv1a, node_unique_id


def test_fnv1a_known_vectors() -> None:
    # Published FNV-1a test vectors.
    assert fnv1a(b"").hex() == "811c9dc5"
    assert fnv1a(b"a").hex() == "e40c292c"
    assert fnv1a(b"foobar").hex() == "bf9cf968"
    assert fnv1a(b"foobar", 64).hex() == "85944171f73967e8"


def test_short_ids_are_joined_parts() -> None:
    assert node_unique_id("", "", "n0") == "n0"
    assert node_unique_id("n1", "0", "n0") == "n1-0-n0"
    assert node_unique_id("n1-0-n0", "2", "dn3") == "n1-0-n0-2-dn3"
    assert fixed_length_id(["", "", "end-node"]) == "end-node"


def test_long_ids_are_hashed_to_a_short_stable_id() -> None:
    long = node_unique_id("n1-0-n0-0-n2", "0", "some-long-node")
    assert re.fullmatch(r"f[a-z1-6]{7}", long)
    assert long == node_unique_id("n1-0-n0-0-n2", "0", "some-long-node")
    assert long != node_unique_id("n1-0-n0-0-n2", "1", "some-long-node")


def test_child_execution_names_are_14_characters_and_stable() -> None:
    name = child_execution_name("abcdefghijklmnopqrst", "n0", 0)
    assert re.fullmatch(r"f[a-z1-6]{13}", name)
    assert name == child_execution_name("abcdefghijklmnopqrst", "n0", 0)
    assert name != child_execution_name("abcdefghijklmnopqrst", "n0", 1)
