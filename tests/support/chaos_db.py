"""What the chaos suite reads from the server's database (SQLite file or PostgreSQL), and the integrity
checks it runs on it after every trial.

The queries are plain SQL that both databases accept; the SQLite file is read with the standard library
(WAL lets a reader in while the server writes), PostgreSQL with asyncpg.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.pg_queries import fetch

TERMINAL = ("SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT")

# Each query returns offending rows; an empty answer means the check passed.
DANGLING = {
    "node execution without its execution": (
        "SELECT n.id FROM node_executions n LEFT JOIN executions e ON e.id = n.execution_id WHERE e.id IS NULL"
    ),
    "task execution without its node execution": (
        "SELECT t.id FROM task_executions t LEFT JOIN node_executions n ON n.id = t.node_execution_id "
        "WHERE n.id IS NULL"
    ),
    "node execution whose parent node is missing": (
        "SELECT n.id FROM node_executions n LEFT JOIN node_executions p ON p.id = n.parent_id "
        "WHERE n.parent_id IS NOT NULL AND p.id IS NULL"
    ),
    "child execution whose parent node is missing": (
        "SELECT e.id FROM executions e LEFT JOIN node_executions p ON p.id = e.parent_node_execution_id "
        "WHERE e.parent_node_execution_id IS NOT NULL AND p.id IS NULL"
    ),
    "task execution whose name disagrees with its node execution": (
        "SELECT t.id FROM task_executions t JOIN node_executions n ON n.id = t.node_execution_id "
        "WHERE t.execution_name <> n.execution_name OR t.node_id <> n.node_id"
    ),
    "node execution still running in a finished execution": (
        "SELECT n.id FROM node_executions n JOIN executions e ON e.id = n.execution_id "
        "WHERE e.phase IN ('SUCCEEDED','FAILED','ABORTED','TIMED_OUT') "
        "AND n.phase NOT IN ('SUCCEEDED','FAILED','TIMED_OUT','ABORTED','SKIPPED','RECOVERED')"
    ),
    "task attempt still running in a finished execution": (
        "SELECT t.id FROM task_executions t JOIN executions e ON e.execution_name = t.execution_name "
        "AND e.execution_project = t.execution_project AND e.execution_domain = t.execution_domain "
        "WHERE e.phase IN ('SUCCEEDED','FAILED','ABORTED','TIMED_OUT') "
        "AND t.phase NOT IN ('SUCCEEDED','FAILED','ABORTED')"
    ),
}


@dataclass(frozen=True)
class Database:
    """The server's database: ``url`` for PostgreSQL, else the SQLite file under ``home``."""

    url: str
    home: Path

    @property
    def sqlite(self) -> bool:
        return not self.url

    def rows(self, sql: str) -> list[dict[str, Any]]:
        if self.sqlite:
            conn = sqlite3.connect(f"file:{self.home / 'aerodrome.db'}?mode=ro", uri=True, timeout=30)
            conn.row_factory = sqlite3.Row
            try:
                return [dict(r) for r in conn.execute(sql).fetchall()]
            finally:
                conn.close()
        return [dict(r) for r in fetch(self.url, sql)]

    def executions(self) -> dict[str, dict[str, Any]]:
        """Every execution by name: phase, and the execution whose node launched it (child executions)."""
        sql = (
            "SELECT e.execution_name AS name, e.phase AS phase, n.execution_name AS parent FROM executions e "
            "LEFT JOIN node_executions n ON n.id = e.parent_node_execution_id"
        )
        return {r["name"]: r for r in self.rows(sql)}

    def attempts(self) -> list[dict[str, Any]]:
        return self.rows("SELECT execution_name, node_id, retry_attempt, phase FROM task_executions")

    def running_attempts(self) -> set[tuple[str, str, int]]:
        rows = self.rows(
            "SELECT execution_name, node_id, retry_attempt FROM task_executions WHERE phase IN ('QUEUED','RUNNING')"
        )
        return {(r["execution_name"], r["node_id"], int(r["retry_attempt"])) for r in rows}

    def integrity(self) -> list[str]:
        """Problems found: SQLite's own checks, then the dangling-row queries (both databases)."""
        problems = []
        if self.sqlite:
            conn = sqlite3.connect(f"file:{self.home / 'aerodrome.db'}?mode=ro", uri=True, timeout=30)
            try:
                verdict = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
                if verdict != ["ok"]:
                    problems.append(f"integrity_check: {verdict[:5]}")
                keys = conn.execute("PRAGMA foreign_key_check").fetchall()
                if keys:
                    problems.append(f"foreign_key_check: {keys[:5]}")
            finally:
                conn.close()
        for label, sql in DANGLING.items():
            found = self.rows(sql)
            if found:
                problems.append(f"{label}: {len(found)} row(s), ids {[r['id'] for r in found[:5]]}")
        return problems
