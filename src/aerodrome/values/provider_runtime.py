"""What a task attempt takes from the provider its node was resolved to (frozen at execution creation).

Only ``local`` runs on this server: the provider's interpreter (``venv``) runs the task and its code
``path`` goes first on ``PYTHONPATH``. The other devices register and resolve, but an attempt on them
fails with a message saying what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass

UNAVAILABLE = {
    "docker": "device docker is not available on this server (no Docker engine is configured)",
    "k8s": "device k8s is not available on this server (no Kubernetes cluster is configured)",
    "ray": "device ray runs on the Ray launcher, which this server does not have yet (a later issue adds it)",
}


@dataclass(frozen=True)
class ProviderRuntime:
    """The frozen resolution of one node."""

    provider_name: str
    device: str
    python: str = ""
    code_path: str = ""

    @property
    def unavailable(self) -> str:
        """Why this server cannot run the device ('' when it can)."""
        return UNAVAILABLE.get(self.device, "" if self.device == "local" else f"device {self.device} is unknown")
