"""Which launcher an attempt goes to: the provider's device, then the task type, then the default."""

from __future__ import annotations

import asyncio
from pathlib import Path

from flyteidl.core import identifier_pb2, tasks_pb2

from aerodrome.engine.launchers.attempts import Attempt, AttemptResult
from aerodrome.engine.launchers.router import LauncherRouter
from aerodrome.values.provider_runtime import ProviderRuntime


class Recording:
    """A launcher that records what it was given and may refuse everything."""

    def __init__(self, name: str, refuse: str = "") -> None:
        self.name, self.refuse, self.ran, self.closed = name, refuse, [], False
        self.platform_url = ""
        self.running = 0

    def has_free_slot(self) -> bool:
        return self.name == "local"

    def refusal(self, attempt: Attempt) -> str:
        return self.refuse

    def batches_for(self, attempt: Attempt) -> str | None:  # a marker instead of a batch runner
        return f"{self.name} batches" if self.name == "local" else None

    async def run(self, attempt: Attempt) -> AttemptResult:
        self.ran.append(attempt.node_id)
        return AttemptResult(outputs_url=f"{self.name}://out")

    async def close(self) -> None:
        self.closed = True


def attempt(task_type: str = "python-task", device: str = "") -> Attempt:
    provider = ProviderRuntime(provider_name=f"fate:2.0.1@{device}", device=device) if device else None
    return Attempt(
        execution=identifier_pb2.WorkflowExecutionIdentifier(project="p", domain="d", name="e"),
        node_id="n0",
        attempt=0,
        task=tasks_pb2.TaskTemplate(type=task_type),
        inputs_url="",
        output_prefix="",
        raw_output_prefix="",
        workdir=Path("/nonexistent"),
        provider=provider,
    )


def test_device_then_task_type_then_default() -> None:
    local, ray = Recording("local"), Recording("ray")
    router = LauncherRouter({"local": local, "ray": ray}, task_types={"ray": "ray"})
    assert router.choose(attempt(device="ray")) is ray
    assert router.choose(attempt(task_type="ray", device="local")) is local  # the provider's device wins
    assert router.choose(attempt(task_type="ray")) is ray
    assert router.choose(attempt()) is local
    assert LauncherRouter({"local": local, "ray": ray}, default="ray").choose(attempt()) is ray


def test_a_device_without_launcher_fails_at_once_naming_what_to_configure() -> None:
    router = LauncherRouter({"local": Recording("local")})
    result = asyncio.run(router.run(attempt(device="ray")))
    assert result.error is not None and result.error.code == "DeviceUnavailable"
    assert "AERODROME_ENGINE_RAY_ADDRESS" in result.error.message and "fate:2.0.1@ray" in result.error.message
    assert "device gpu-farm is unknown" in asyncio.run(router.run(attempt(device="gpu-farm"))).error.message  # type: ignore[union-attr]


def test_a_refusal_is_the_attempts_error() -> None:
    router = LauncherRouter({"local": Recording("local"), "ray": Recording("ray", refuse="asks for 1 GPU")})
    result = asyncio.run(router.run(attempt(device="ray")))
    assert result.error is not None and result.error.message == "asks for 1 GPU"


def test_slots_platform_url_and_close_span_all_launchers() -> None:
    local, ray = Recording("local"), Recording("ray")
    router = LauncherRouter({"local": local, "ray": ray})
    local.running, ray.running = 2, 3
    assert router.running == 5 and router.has_free_slot()
    router.platform_url = "127.0.0.1:9"
    assert local.platform_url == ray.platform_url == "127.0.0.1:9"
    asyncio.run(router.close())
    assert local.closed and ray.closed


def test_an_unconfigured_default_is_refused() -> None:
    try:
        LauncherRouter({"local": Recording("local")}, default="ray")
    except ValueError as exc:
        assert "'ray' is not configured" in str(exc)
    else:
        raise AssertionError("accepted a default launcher that does not exist")


def test_map_items_run_in_batches_only_where_the_chosen_launcher_offers_them() -> None:
    router = LauncherRouter(
        {"local": Recording("local"), "ray": Recording("ray"), "off": Recording("off", refuse="no")},
        task_types={"ray": "ray"},
    )
    assert router.batches_for(attempt()) == "local batches"
    assert router.batches_for(attempt(device="ray")) is None
    assert router.batches_for(attempt(task_type="ray")) is None
    assert router.batches_for(attempt(device="off")) is None  # refused: its items fail through run
    assert router.batches_for(attempt(device="gpu-farm")) is None
