"""The filter grammar: parsing, entity/column checks and SQL translation."""

from __future__ import annotations

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from aerodrome.db.filters import Filter, filters_to_clauses, parse_filters
from aerodrome.db.repositories.entities import LaunchPlanRepository, TaskRepository
from aerodrome.errors import InvalidArgument

TASKS = TaskRepository.filter_columns()
PLANS = LaunchPlanRepository.filter_columns()


def sql(text: str, primary: str = "task", columns=TASKS) -> list[str]:  # type: ignore[no-untyped-def]
    return [
        str(c.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
        for c in filters_to_clauses(text, primary, columns)
    ]


def test_parse_joined_expressions_and_multi_values() -> None:
    assert parse_filters("eq(name,a)+value_in(version, v1;v2)+contains(workflow.name,x)") == [
        Filter("eq", "", "name", ("a",)),
        Filter("value_in", "", "version", ("v1", "v2")),
        Filter("contains", "workflow", "name", ("x",)),
    ]
    assert parse_filters("") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("eq(name,a)", "tasks.name = 'a'"),
        ("ne(name,a)", "tasks.name != 'a'"),
        ("gt(created_at,2024-01-01T00:00:00Z)", "tasks.created_at > '2024-01-01 00:00:00.000000'"),
        ("gte(version,b)", "tasks.version >= 'b'"),
        ("lt(version,b)", "tasks.version < 'b'"),
        ("lte(version,b)", "tasks.version <= 'b'"),
        ("contains(name,a_b)", "tasks.name LIKE '%' || 'a/_b' || '%' ESCAPE '/'"),
        ("value_in(version,a;b)", "tasks.version IN ('a', 'b')"),
        ("value_not_in(version,a;b)", "(tasks.version NOT IN ('a', 'b'))"),
        ("not_like(name,.flytegen%)", "tasks.name NOT LIKE '.flytegen%'"),
    ],
)
def test_each_function_translates(text: str, expected: str) -> None:
    assert sql(text) == [expected]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("eq(name)", "invalid value for filters"),
        ("bogus", "invalid value for filters"),
        ("like(name,a)", "unrecognized filter function: like"),
        ("eq(foo,a)", "'t.foo' is invalid filter"),
        ("eq(workflow.name,a)", "'w' entity is not allowed in filters"),
        ("eq(id,abc)", "is not a valid int for field id"),
        ("eq(name,a;b)", "eq takes one value, got 2"),
    ],
)
def test_errors_are_invalid_argument_with_reason(text: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        sql(text)


def test_launch_plan_filters_may_address_the_workflow() -> None:
    clauses = filters_to_clauses("eq(workflow.name,w)+eq(state,1)", "launch_plan", PLANS)
    compiled = [str(c.compile(dialect=postgresql.dialect())) for c in clauses]
    assert compiled[0].startswith("workflows.name = ")
    assert compiled[1].startswith("launch_plans.state = ")
    assert clauses[1].right.value == 1  # typed for asyncpg, not the string "1"


@pytest.mark.parametrize(
    ("raw", "ns"), [("30", 30 * 10**9), ("1h2m", 3720 * 10**9), ("1.5s", 1_500_000_000), ("250ms", 250_000_000)]
)
def test_duration_values(raw: str, ns: int) -> None:
    from aerodrome.db.filters import parse_duration_ns

    assert parse_duration_ns(raw) == ns


def test_bad_duration_is_invalid_argument() -> None:
    from aerodrome.db.filters import parse_duration_ns

    with pytest.raises(InvalidArgument, match=r"Failed to parse duration \[soon\]"):
        parse_duration_ns("soon")
