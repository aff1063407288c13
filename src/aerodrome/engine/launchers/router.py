"""Which launcher runs an attempt.

A node resolved to a provider runs where the provider's ``device`` says (``local``, ``ray``); otherwise a
task of a type some launcher claims (flytekit's ``ray`` jobs) goes there; everything else goes to the
default launcher from the settings. A device or task type no launcher here serves fails the attempt at
once with the reason, so the user sees what to configure instead of a task that never starts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from aerodrome.engine.launchers.attempts import Attempt, AttemptResult, system_error
from aerodrome.engine.launchers.protocol import ItemBatches, Launcher
from aerodrome.values.provider_runtime import UNAVAILABLE


class LauncherRouter:
    """A ``Launcher`` that hands each attempt to the launcher chosen for it."""

    def __init__(
        self, launchers: Mapping[str, Launcher], *, default: str = "local", task_types: Mapping[str, str] | None = None
    ) -> None:
        if default not in launchers:
            raise ValueError(f"the default launcher {default!r} is not configured (have: {', '.join(launchers)})")
        self.launchers = dict(launchers)
        self.default = default
        self.task_types = dict(task_types or {})  # task type -> launcher name

    @property
    def platform_url(self) -> str:
        return self.launchers[self.default].platform_url

    @platform_url.setter
    def platform_url(self, url: str) -> None:
        for launcher in self.launchers.values():
            launcher.platform_url = url

    @property
    def running(self) -> int:
        return sum(launcher.running for launcher in self.launchers.values())

    def has_free_slot(self) -> bool:
        return any(launcher.has_free_slot() for launcher in self.launchers.values())

    def choose(self, attempt: Attempt) -> Launcher | str:
        """The launcher for ``attempt``, or why none here can run it."""
        if attempt.provider is not None:
            device = attempt.provider.device
            if device not in self.launchers:
                reason = UNAVAILABLE.get(device, f"device {device} is unknown")
                return f"{reason} (provider {attempt.provider.provider_name})"
            launcher = self.launchers[device]
        else:
            name = self.task_types.get(attempt.task.type, self.default)
            launcher = self.launchers.get(name, self.launchers[self.default])
        return launcher.refusal(attempt) or launcher

    def refusal(self, attempt: Attempt) -> str:
        choice = self.choose(attempt)
        return choice if isinstance(choice, str) else ""

    def batches_for(self, attempt: Attempt) -> ItemBatches | None:
        choice = self.choose(attempt)
        return None if isinstance(choice, str) else choice.batches_for(attempt)

    async def run(self, attempt: Attempt) -> AttemptResult:
        choice = self.choose(attempt)
        if isinstance(choice, str):
            return system_error("DeviceUnavailable", choice)
        return await choice.run(attempt)

    async def close(self) -> None:
        await asyncio.gather(*(launcher.close() for launcher in self.launchers.values()), return_exceptions=True)
