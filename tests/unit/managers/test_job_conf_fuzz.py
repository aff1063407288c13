"""Fuzzing the job-conf parser: any text, and any YAML built from its own vocabulary, is read or refused
with INVALID_ARGUMENT (never a crash), and what is read resolves every node to a checked provider or none."""

from __future__ import annotations

import json

import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st
from tests.support.fuzz import examples

from aerodrome.errors import InvalidArgument
from aerodrome.managers.job_conf import Party, parse_job_conf, resolve_nodes

KEYS = ["dag", "conf", "task", "tasks", "party_tasks", "parties", "provider", "role", "party_id", "n0", "x", "0"]
ME = Party("guest", "9999")
leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10_000),
    st.floats(allow_nan=False),
    st.sampled_from(["guest", "9999", "p:1@local", "p:1@ray", "bad id", "", "9999"]),
    st.text(max_size=6),
)
documents = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(KEYS) | st.integers(0, 3), inner, max_size=4),  # type: ignore[operator]
    ),
    max_leaves=12,
)


def read(text: str) -> None:
    try:
        conf = parse_job_conf(text, ME)
        for mention in resolve_nodes(conf, None, ["n0", "n1"], strict=False).values():
            mention.checked()
    except InvalidArgument as exc:
        assert exc.message


@settings(max_examples=examples(300), deadline=None)
@given(st.text(max_size=80))
@example("dag: [")
@example("&a [*a]")
@example("!!python/object:os.system {}")
def test_any_text_is_read_or_refused(text: str) -> None:
    read(text)


@settings(max_examples=examples(120), deadline=None)
@given(documents)
def test_any_document_of_its_vocabulary_is_read_or_refused(document: object) -> None:
    read(yaml.safe_dump(document))
    read(json.dumps(document))


def test_deep_nesting_is_refused_fast() -> None:
    import time

    started = time.perf_counter()
    for text in ("[" * 5000, "{a: " * 5000, "- " * 5000, "[" * 900 + "]" * 900):
        read(text)  # RecursionError (an INTERNAL) after 15 s for the first, before the fix
    assert time.perf_counter() - started < 3
