"""Twenty-odd workflows that together use every node kind and type family flytekit registers."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import timedelta

from flytekit import (
    LaunchPlan,
    WorkflowFailurePolicy,
    approve,
    conditional,
    dynamic,
    map_task,
    sleep,
    task,
    wait_for_input,
    workflow,
)
from flytekit.types.directory import FlyteDirectory
from flytekit.types.error import FlyteError
from flytekit.types.file import FlyteFile
from flytekit.types.structured import StructuredDataset
from pydantic import BaseModel


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclass
class Point:
    x: int
    y: int


class Settings(BaseModel):
    name: str
    retries: int = 1


@task
def square(x: int) -> int:
    return x * x


@task
def total(xs: list[int]) -> int:
    return sum(xs)


@task
def describe(x: int) -> str:
    return str(x)


@task
def shift(p: Point, by: int) -> Point:
    return Point(x=p.x + by, y=p.y + by)


@task
def configure(s: Settings) -> str:
    return s.name


@task
def paint(c: Color) -> str:
    return c.value


@task
def either(v: int | str) -> str:
    return str(v)


@task
def maybe(v: int | None = None) -> int:
    return v or 0


@task
def nested(d: dict[str, list[int]]) -> list[dict[str, int]]:
    return [{k: sum(v)} for k, v in d.items()]


@task
def read_file(f: FlyteFile) -> str:
    return f.path


@task
def list_dir(d: FlyteDirectory) -> int:
    return 0


@task
def count_rows(sd: StructuredDataset) -> int:
    return 0


@task
def cleanup(x: int, err: FlyteError | None = None) -> None:
    pass


@workflow
def wf_map(xs: list[int] = [1, 2, 3]) -> int:  # noqa: B006
    return total(xs=map_task(square)(x=xs))


@dynamic
def fan(n: int) -> list[int]:
    return [square(x=i) for i in range(n)]


@dynamic
def fan_map(xs: list[int]) -> int:
    return total(xs=map_task(square)(x=xs))


@workflow
def wf_dynamic(n: int = 3) -> list[int]:
    return fan(n=n)


@workflow
def wf_dynamic_map(xs: list[int] = [1, 2]) -> int:  # noqa: B006
    return fan_map(xs=xs)


@workflow
def wf_conditional(x: int = 3) -> int:
    return conditional("big").if_(x > 5).then(square(x=x)).elif_(x < 0).then(square(x=x)).else_().then(square(x=1))


@workflow
def wf_conditional_fail(x: int = 3) -> int:
    return conditional("only").if_(x > 0).then(square(x=x)).else_().fail("x must be positive")


@workflow
def sub(x: int) -> int:
    return square(x=x)


@workflow
def wf_subworkflow(x: int = 2) -> int:
    return sub(x=sub(x=x))


sub_lp = LaunchPlan.get_or_create(sub, name="sink_sub_lp")


@workflow
def wf_launch_plan_node(x: int = 2) -> int:
    return sub_lp(x=x)


@workflow
def wf_nested_launch_plans(x: int = 2) -> int:
    return sub_lp(x=sub_lp(x=x))


@workflow
def wf_approve(x: int = 2) -> int:
    return approve(square(x=x), "review", timeout=timedelta(hours=1))


@workflow
def wf_sleep(x: int = 2) -> int:
    s = square(x=x)
    pause = sleep(timedelta(seconds=1))
    s >> pause
    return s


@workflow
def wf_wait_for_input(x: int = 2) -> str:
    value = wait_for_input("name", timeout=timedelta(hours=1), expected_type=str)
    return value


@workflow(on_failure=cleanup, failure_policy=WorkflowFailurePolicy.FAIL_AFTER_EXECUTABLE_NODES_COMPLETE)
def wf_on_failure(x: int = 2) -> int:
    return square(x=x)


@workflow
def wf_dataclass(p: Point = Point(x=1, y=2)) -> Point:
    return shift(p=p, by=1)


@workflow
def wf_pydantic(s: Settings = Settings(name="n")) -> str:
    return configure(s=s)


@workflow
def wf_enum(c: Color = Color.RED) -> str:
    return paint(c=c)


@workflow
def wf_union(v: int | str = 1) -> str:
    return either(v=v)


@workflow
def wf_optional(v: int | None = None) -> int:
    return maybe(v=v)


@workflow
def wf_nesting(d: dict[str, list[int]] = {"a": [1]}) -> list[dict[str, int]]:  # noqa: B006
    return nested(d=d)


@workflow
def wf_files(f: FlyteFile, d: FlyteDirectory, sd: StructuredDataset) -> int:
    read_file(f=f)
    list_dir(d=d)
    return count_rows(sd=sd)


@workflow
def wf_chain_types(x: int = 1) -> str:
    return describe(x=square(x=x))
