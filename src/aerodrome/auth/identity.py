"""Who is calling and which roles they hold, per project.

Roles are ordered: viewer (read) < runner (also launch, terminate, signal) < admin (also register,
activate, attributes). A grant on project ``*`` with role ``admin`` is the server-wide admin.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ROLES = ("viewer", "runner", "admin")
RANK = {role: i for i, role in enumerate(ROLES)}
SERVER_ADMIN = "*:admin"


def parse_grants(text: str | list[str]) -> dict[str, str]:
    """``"a:runner b:viewer"`` (or a list of such entries) → ``{"a": "runner", "b": "viewer"}``."""
    entries = text.split() if isinstance(text, str) else text
    grants: dict[str, str] = {}
    for entry in entries:
        project, sep, role = entry.rpartition(":")
        if not sep or not project or role not in RANK:
            raise ValueError(f"invalid grant {entry!r}: use project:role with role one of {', '.join(ROLES)}")
        grants[project] = role
    return grants


def format_grants(grants: dict[str, str]) -> str:
    return " ".join(f"{p}:{r}" for p, r in sorted(grants.items()))


@dataclass(frozen=True)
class Identity:
    """An authenticated caller (``kind`` is client, user, task or anonymous)."""

    subject: str
    kind: str
    grants: dict[str, str] = field(default_factory=dict)

    @property
    def server_admin(self) -> bool:
        return self.grants.get("*") == "admin"

    def role_in(self, project: str) -> str | None:
        """The strongest role held in ``project`` (the server admin is admin everywhere)."""
        if self.server_admin:
            return "admin"
        return self.grants.get(project)

    def allows(self, project: str, role: str) -> bool:
        held = self.role_in(project)
        return held is not None and RANK[held] >= RANK[role]


ANONYMOUS = Identity("anonymous", "anonymous", {"*": "admin"})
