"""What a task attempt takes from the provider its node was resolved to (frozen at execution creation).

A ``local`` provider's interpreter (``venv``) runs the task and its code ``path`` goes first on
``PYTHONPATH``; a ``ray`` provider's tasks run on the cluster at its ``address`` with its ``runtime_env``.
The device picks the launcher (``engine/launchers/router.py``); devices this server has no launcher for
register and resolve, but an attempt on them fails with the message below.
"""

from __future__ import annotations

from dataclasses import dataclass

UNAVAILABLE = {
    "docker": "device docker is not available on this server (no Docker engine is configured)",
    "k8s": "device k8s is not available on this server (no Kubernetes cluster is configured)",
    "ray": "device ray needs a Ray cluster, and this server has none: install Ray beside it "
    "(pip install 'aerodrome[ray]') and set AERODROME_ENGINE_RAY_ADDRESS or the provider's metadata.address",
}


@dataclass(frozen=True)
class ProviderRuntime:
    """The frozen resolution of one node."""

    provider_name: str
    device: str
    python: str = ""
    code_path: str = ""
    address: str = ""  # a ray provider's cluster (GCS host:port); '' means the server's ray_address
    runtime_env: str = "{}"  # a ray provider's runtime_env, JSON
