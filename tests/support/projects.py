"""Registering a test project with the real ``pyflyte register`` (fast registration)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Protocol

PYFLYTE = str(Path(sys.executable).with_name("pyflyte"))


class Target(Protocol):
    """What a project is registered against (the integration tests' Server)."""

    config: Path

    def env(self) -> dict[str, str]: ...


def register_project(target: Target, project_dir: Path, scratch: Path, package: str = "workflows") -> str:
    """Copy the project to ``scratch`` and register ``package`` under a fresh version; returns the version."""
    root = scratch / "app"
    shutil.copytree(project_dir, root, ignore=shutil.ignore_patterns("__pycache__"))
    version = f"x{uuid.uuid4().hex[:10]}"
    command = [PYFLYTE, "-c", str(target.config), "register", "--project", "flytesnacks", "--domain", "development"]
    result = subprocess.run(
        [*command, "--version", version, package],
        cwd=root,
        env=target.env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return version
