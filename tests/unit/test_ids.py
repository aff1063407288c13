"""Generated execution names: FlyteAdmin's shape (``a`` + 19 of k8s rand.String's alphabet), unbiased."""

from __future__ import annotations

from collections import Counter

from aerodrome.ids import NAME_ALPHABET, execution_name


def test_execution_names_have_flyteadmins_shape_and_differ() -> None:
    names = [execution_name() for _ in range(2000)]
    assert all(len(n) == 20 and n[0] == "a" and set(n[1:]) <= set(NAME_ALPHABET) for n in names)
    assert len(set(names)) == len(names)


def test_characters_are_drawn_without_modulo_bias() -> None:
    counts = Counter("".join(execution_name()[1:] for _ in range(3000)))  # 57,000 draws
    assert set(counts) == set(NAME_ALPHABET)
    # byte % 27 over every byte would favour the first 13 characters (10 bytes each instead of 9): they would
    # take ~28,950 draws instead of ~27,440 (one standard deviation is ~120; the line is halfway).
    first = sum(counts[c] for c in NAME_ALPHABET[:13])
    assert first < 28_200, counts
