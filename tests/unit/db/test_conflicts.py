"""Which database errors are lock conflicts to run again (a deadlock victim) rather than failures."""

from __future__ import annotations

import asyncpg
from sqlalchemy.exc import DBAPIError, IntegrityError

from aerodrome.db.engine import is_conflict, is_disconnect


def wrapped(driver_error: Exception) -> DBAPIError:
    """As SQLAlchemy's asyncpg dialect raises it: the driver's error under the adapter's, under DBAPIError."""
    adapted = Exception(str(driver_error))
    adapted.__cause__ = driver_error
    return DBAPIError("UPDATE executions …", {}, adapted)


def test_a_deadlock_victim_and_a_serialization_failure_are_conflicts() -> None:
    assert is_conflict(wrapped(asyncpg.exceptions.DeadlockDetectedError("deadlock detected")))
    assert is_conflict(wrapped(asyncpg.exceptions.SerializationError("could not serialize access")))


def test_other_errors_are_not() -> None:
    assert not is_conflict(wrapped(asyncpg.exceptions.UniqueViolationError("duplicate key")))
    assert not is_conflict(IntegrityError("INSERT …", {}, Exception("UNIQUE constraint failed")))
    assert not is_conflict(ValueError("deadlock"))
    assert not is_disconnect(wrapped(asyncpg.exceptions.DeadlockDetectedError("deadlock detected")))
