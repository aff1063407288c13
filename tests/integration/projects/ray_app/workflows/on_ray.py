"""Workflows of the Ray launcher tests: where a task ran is its own output (the Ray node id the worker put in
its environment, empty when it ran locally)."""

import os
import subprocess
import time
from datetime import timedelta

import ray
from flytekit import Resources, Secret, current_context, task, workflow
from flytekit.exceptions.user import FlyteRecoverableException
from flytekitplugins.ray import RayJobConfig, WorkerNodeConfig

from workflows.ray_maps import parent


def _node() -> str:
    return os.environ.get("AERODROME_RAY_NODE_ID", "")


@task(requests=Resources(cpu="1"))
def where(x: int) -> str:
    return f"{x}:{_node()}:{os.getpid()}:{parent()}"


@workflow
def three() -> tuple[str, str, str]:
    return where(x=1), where(x=2), where(x=3)


@task(requests=Resources(gpu="1"))
def wants_gpu() -> int:
    return 1


@workflow
def gpu() -> int:
    return wants_gpu()


@ray.remote
def square(i: int) -> int:
    return i * i


@ray.remote
def greeting() -> str:
    return os.environ.get("AERODROME_TEST_GREETING", "")


@task(
    task_config=RayJobConfig(
        worker_node_config=[WorkerNodeConfig(group_name="workers", replicas=1)],
        runtime_env={"env_vars": {"AERODROME_TEST_GREETING": "hello from runtime_env"}},
    )
)
def ray_sum(n: int) -> str:
    total = sum(ray.get([square.remote(i) for i in range(n)]))
    return f"{total}:{ray.get(greeting.remote())}"


@workflow
def ray_job(n: int = 20) -> str:
    return ray_sum(n=n)


@task(
    task_config=RayJobConfig(worker_node_config=[WorkerNodeConfig(group_name="many", replicas=5)]),
)
def too_wide() -> int:
    return 0


@workflow
def wide_job() -> int:
    return too_wide()


@task
def sleeper(marker: str) -> int:
    child = subprocess.Popen(["sleep", "300"])
    with open(marker + ".tmp", "w") as out:
        out.write(f"{os.getpid()} {child.pid}")
    os.rename(marker + ".tmp", marker)
    time.sleep(300)
    return 0


@workflow
def sleepy(marker: str) -> int:
    return sleeper(marker=marker)


@task(retries=2)
def flaky() -> str:
    if os.environ.get("FLYTE_ATTEMPT_NUMBER") == "0":
        raise FlyteRecoverableException("the first attempt fails")
    return f"{os.environ.get('FLYTE_ATTEMPT_NUMBER')}:{_node()}"


@workflow
def retried() -> str:
    return flaky()


@task(timeout=timedelta(seconds=3))
def slow() -> int:
    time.sleep(120)
    return 0


@workflow
def timed_out() -> int:
    return slow()


@task
def node_of(x: int) -> str:
    return _node()


@workflow
def routed() -> tuple[str, str]:
    return node_of(x=1), node_of(x=2)


@task(
    secret_requests=[
        Secret(group="ray-info", key="token"),
        Secret(group="ray-info", key="token", mount_requirement=Secret.MountType.FILE),
    ]
)
def secretive() -> str:
    """The secret from the environment and from its file, and where this ran."""
    value = current_context().secrets.get("ray-info", "token")
    directory = os.environ.get("FLYTE_SECRETS_DEFAULT_DIR", "")
    with open(os.path.join(directory, "ray-info", "token")) as handle:
        from_file = handle.read()
    return f"{value}|{from_file}|{_node()}"


@workflow
def with_secrets() -> str:
    return secretive()
