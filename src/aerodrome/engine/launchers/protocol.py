"""The one interface between the engine and whatever runs task attempts.

The graph and the node handlers see a ``Launcher``; which launcher runs an attempt (a local process, a
Ray cluster) is decided by the router (``router.py``) from the settings, the task's provider and its task
type. A launcher answers ``refusal`` for what it cannot run, so a misrouted attempt fails with a message
instead of hanging. The items of a map task go through ``run`` one attempt each, or, where the launcher that
would run them says so (``batches_for``), through its ``ItemBatches``: many items in one process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from aerodrome.engine.launchers.attempts import Attempt, AttemptResult

if TYPE_CHECKING:
    from aerodrome.engine.launchers.batches import OnDone


class ItemBatches(Protocol):
    """Runs map items (attempts of one array node) several to a process, each keeping its own attempt."""

    @property
    def capacity(self) -> int:
        """Batches that may run at once (the array node's runners when it sets no parallelism)."""

    @property
    def size(self) -> int:
        """Items per batch at most."""

    async def run(self, items: list[Attempt], on_done: OnDone) -> list[int]:
        """Run the items in order, calling ``on_done`` as each ends; return the positions of those it did not
        start (they go to another batch). Raises ``WarmUnavailable`` when none could start: the items then
        run one attempt each through ``Launcher.run``."""


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

    def batches_for(self, attempt: Attempt) -> ItemBatches | None:
        """What runs map items like ``attempt`` in batches, or None when each item is one ``run``."""

    async def run(self, attempt: Attempt) -> AttemptResult:
        """Run one attempt to its end (outputs, a dynamic job or an error), within its timeout."""

    async def close(self) -> None:
        """Release what the launcher holds (warm processes, cluster connections)."""
