"""The one interface between the engine and whatever runs task attempts.

The graph and the node handlers see a ``Launcher``; which launcher runs an attempt (a local process, a
Ray cluster) is decided by the router (``router.py``) from the settings, the task's provider and its task
type. A launcher answers ``refusal`` for what it cannot run, so a misrouted attempt fails with a message
instead of hanging.
"""

from __future__ import annotations

from typing import Protocol

from aerodrome.engine.launchers.attempts import Attempt, AttemptResult


class Launcher(Protocol):
    """Runs task attempts to completion; cancelling ``run`` stops the attempt and everything it started."""

    platform_url: str  # where tasks reach this server's API (set once the gRPC port is bound)

    @property
    def running(self) -> int:
        """Attempts holding a slot now."""

    def has_free_slot(self) -> bool:
        """Whether a new attempt would start now (the engine claims new executions only then)."""

    def refusal(self, attempt: Attempt) -> str:
        """Why this launcher cannot run ``attempt`` ('' when it can)."""

    async def run(self, attempt: Attempt) -> AttemptResult:
        """Run one attempt to its end (outputs, a dynamic job or an error), within its timeout."""

    async def close(self) -> None:
        """Release what the launcher holds (warm processes, cluster connections)."""
