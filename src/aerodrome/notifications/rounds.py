"""A dispatcher round's outcome, and what the single dispatcher of a SQLite database must skip meanwhile.

On SQLite the dispatcher reads due rows without a turn at the single writer and writes outcomes in the
background. Until an outcome is committed, the database still shows its rows as pending, so they are
skipped here (and a lane behind an unwritten retry is held). A read whose snapshot began before a commit
may still show the old state, so an entry is dropped only by a read that began after its commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from aerodrome.db.models import OutboxRow
from aerodrome.db.repositories.outbox import Failure


@dataclass
class Outcome:
    """What one round did, written back in one transaction."""

    delivered: list[int] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    released: list[int] = field(default_factory=list)

    def merge(self, other: Outcome) -> None:
        self.delivered.extend(other.delivered)
        self.failures.extend(other.failures)
        self.released.extend(other.released)


K = TypeVar("K")


def _prune(held: dict[K, int | None], seen: int) -> None:
    for key in [k for k, commit in held.items() if commit is not None and commit <= seen]:
        del held[key]


class Unwritten:
    """Rows and lanes to skip, each with the number of the commit that wrote its outcome (None until then)."""

    def __init__(self) -> None:
        self.rows: dict[int, int | None] = {}
        self.lanes: dict[str, int | None] = {}
        self.commits = 0

    def fresh(self, rows: Sequence[OutboxRow], seen: int) -> list[OutboxRow]:
        """The rows of a read that began at commit number ``seen`` that are really due."""
        _prune(self.rows, seen)
        _prune(self.lanes, seen)
        return [r for r in rows if r.id not in self.rows and r.lane not in self.lanes]

    def add(self, ids: Iterable[int], failures: Sequence[Failure]) -> None:
        """A round's outcome, now waiting to be written."""
        self.rows.update(dict.fromkeys([*ids, *(f.id for f in failures)]))
        self.lanes.update(dict.fromkeys(f.lane for f in failures if not f.give_up))

    def committed(self, ids: Iterable[int], failures: Sequence[Failure]) -> None:
        """An outcome was committed: reads that begin from now on show it."""
        self.commits += 1
        for ident in [*ids, *(f.id for f in failures)]:
            if ident in self.rows:
                self.rows[ident] = self.commits
        for failure in failures:
            if failure.lane in self.lanes:
                self.lanes[failure.lane] = self.commits
