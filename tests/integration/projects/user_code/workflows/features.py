"""Everyday flytekit features as users write them (registered by tests/integration/test_user_code.py):
attribute access on dataclasses and pydantic models, no-op branches, subworkflows inside a dynamic
workflow, map tasks, checkpoints and decks."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta

import flytekit
from flytekit import Secret, WorkflowFailurePolicy, conditional, current_context, dynamic, map_task, task, workflow
from flytekit.core.task import Echo
from flytekit.exceptions.user import FlyteRecoverableException
from flytekit.sensor.file_sensor import FileSensor
from flytekit.types.file import FlyteFile
from pydantic import BaseModel


@dataclass
class Inner:
    label: str
    weights: list[float]


@dataclass
class Record:
    name: str
    count: int
    inner: Inner
    tags: dict[str, int] = field(default_factory=dict)
    items: list[Inner] = field(default_factory=list)


class Model(BaseModel):
    title: str
    my_floats: list[float]
    nested: dict[str, list[int]]


@task
def make_record(name: str) -> Record:
    return Record(
        name=name,
        count=len(name),
        inner=Inner(label=f"{name}-inner", weights=[0.5, 1.5]),
        tags={"a": 1, "b": 2},
        items=[Inner(label="first", weights=[1.0]), Inner(label="second", weights=[2.0, 3.0])],
    )


@task
def make_model(title: str) -> Model:
    return Model(title=title, my_floats=[1.25, 2.5], nested={"xs": [4, 5, 6]})


@task
def shout(s: str) -> str:
    return s.upper()


@task
def times(n: int, w: float) -> float:
    return n * w


@task
def describe_inner(i: Inner) -> str:
    return f"{i.label}:{sum(i.weights)}"


@task
def total(xs: list[float]) -> float:
    return sum(xs)


@task
def total_ints(xs: list[int]) -> int:
    return sum(xs)


@task
def halve(x: float) -> float:
    return x / 2


@workflow
def record_fields(name: str = "ada") -> tuple[str, float, str, int, str]:
    r = make_record(name=name)
    return (
        shout(s=r.name),
        times(n=r.count, w=r.inner.weights[1]),
        describe_inner(i=r.items[1]),
        total_ints(xs=[r.tags["b"], r.count]),
        describe_inner(i=r.inner),
    )


@workflow
def model_fields(title: str = "m") -> tuple[str, float, int, list[float]]:
    m = make_model(title=title)
    return shout(s=m.title), total(xs=m.my_floats), total_ints(xs=m.nested["xs"]), map_task(halve)(x=m.my_floats)


@workflow
def model_default(m: Model = Model(title="default", my_floats=[2.0, 4.0, 8.0], nested={})) -> list[float]:
    """A launch-plan default (a pydantic model) whose field is mapped over."""
    return map_task(halve)(x=m.my_floats)


@dataclass
class WithFile:
    name: str
    file: FlyteFile


@task
def make_with_file() -> WithFile:
    path = current_context().working_directory + "/data.txt"
    with open(path, "w") as f:
        f.write("payload in a dataclass")
    return WithFile(name="wf", file=FlyteFile(path))


@task
def read_file(f: FlyteFile) -> str:
    with open(f) as handle:
        return handle.read()


@workflow
def file_in_dataclass() -> str:
    return read_file(f=make_with_file().file)


@task
def make_tags() -> dict[str, list[float]]:
    return {"present": [1.0, 2.0]}


@workflow
def map_over_missing_key() -> list[float]:
    """The map's input is a key the dict does not have: the node fails while its inputs are resolved."""
    return map_task(halve)(x=make_tags()["absent"])


@task
def positive(x: int) -> int:
    return x


echo = Echo(name="echo", inputs={"a": int})


@workflow
def noop_branch(x: int) -> int:
    """The negative case returns the input unchanged with flytekit's echo task (no container)."""
    return conditional("sign").if_(x > 0).then(positive(x=x)).else_().then(echo(a=x))


@task
def split(xs: list[int]) -> tuple[list[int], list[int]]:
    half = len(xs) // 2
    return xs[:half], xs[half:]


@task
def merge(a: list[int], b: list[int]) -> list[int]:
    return sorted(a + b)


@task
def sort_small(xs: list[int]) -> list[int]:
    return sorted(xs)


@workflow
def merge_halves(a: list[int], b: list[int]) -> list[int]:
    return merge(a=sort_small(xs=a), b=sort_small(xs=b))


@dynamic
def merge_sort(xs: list[int]) -> list[int]:
    """Calls a @workflow from the @dynamic body, and itself recursively."""
    if len(xs) <= 2:
        return sort_small(xs=xs)
    left, right = split(xs=xs)
    if len(xs) <= 4:
        return merge_halves(a=left, b=right)
    return merge(a=merge_sort(xs=left), b=merge_sort(xs=right))


@workflow
def sorted_numbers(xs: list[int]) -> list[int]:
    return merge_sort(xs=xs)


@task(retries=2)
def resumable(n: int) -> str:
    """Fails recoverably until the checkpoint it wrote on the attempt before is there to read."""
    checkpoint = current_context().checkpoint
    previous = checkpoint.read()
    done = int(previous.decode()) if previous else 0
    if done < n:
        checkpoint.write(str(done + 1).encode())
        raise FlyteRecoverableException(f"only {done + 1} of {n} done")
    return f"finished after {done} checkpoints"


@workflow
def checkpointed(n: int = 2) -> str:
    return resumable(n=n)


@task(enable_deck=True)
def with_deck(text: str) -> str:
    flytekit.Deck("notes", f"<p>{text}</p>")
    return text


@workflow
def decked(text: str = "deck me") -> str:
    return with_deck(text=text)


@task(secret_requests=[Secret(group="user-info", key="user_secret")])
def secret_from_env() -> str:
    return current_context().secrets.get("user-info", "user_secret")


@task(secret_requests=[Secret(group="user-info", key="user_secret", mount_requirement=Secret.MountType.FILE)])
def secret_from_file() -> str:
    ctx = current_context()
    in_env = any(k.startswith("_FSEC_") for k in os.environ)
    return f"{ctx.secrets.get('user-info', 'user_secret')}|env={in_env}"


@task
def no_secret_requested() -> str:
    found = [k for k in os.environ if k.startswith("_FSEC_")]
    return f"{found}|{os.environ.get('FLYTE_SECRETS_DEFAULT_DIR', '')}"


@workflow
def with_secrets() -> tuple[str, str, str]:
    return secret_from_env(), secret_from_file(), no_secret_requested()


@task(secret_requests=[Secret(group="user-info", key="never_set")])
def needs_unset_secret() -> str:
    return current_context().secrets.get("user-info", "never_set")


@workflow
def with_unset_secret() -> str:
    return needs_unset_secret()


wait_for_file = FileSensor(name="wait_for_file")
short_wait = FileSensor(name="short_wait", timeout=timedelta(seconds=4))


@task
def read_text(path: str) -> str:
    with open(path) as handle:
        return handle.read()


@workflow
def sensed(path: str) -> str:
    """A sensor (no container: it runs through flytekit's connector) gating a task."""
    arrived = wait_for_file(path=path)
    text = read_text(path=path)
    arrived >> text
    return text


@workflow
def sensed_never(path: str) -> None:
    short_wait(path=path)


@task
def no_list(fail: bool = True) -> list[float]:
    if fail:
        raise ValueError("no list today")
    return []


@workflow(failure_policy=WorkflowFailurePolicy.FAIL_AFTER_EXECUTABLE_NODES_COMPLETE)
def map_after_failure() -> list[float]:
    """The map can no longer run once its input failed: it is reported SKIPPED."""
    return map_task(halve)(x=no_list())


@task
def total_list(x: int) -> list[float]:
    return [float(x)]


@workflow
def map_in_untaken_branch(x: int) -> list[float]:
    return conditional("maybe_map").if_(x > 0).then(map_task(halve)(x=[1.0, 2.0])).else_().then(total_list(x=x))


@dynamic(enable_deck=True)
def decked_fan_out(n: int) -> list[int]:
    flytekit.Deck("plan", f"<p>fanning out {n}</p>")
    return [positive(x=i) for i in range(n)]


@workflow
def decked_dynamic(n: int = 2) -> list[int]:
    return decked_fan_out(n=n)
