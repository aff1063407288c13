"""The algorithm-provider registry: register, query and delete ``name:version@device`` providers.

Registration validates the whole body (schema, then the local paths and interpreter on this host) before
it writes one row in one transaction. Re-registering an identical body is a no-op success; a different
body under the same id is refused unless ``replace`` is given. A query without filters lists every
provider; a delete without filters is refused, and so is deleting a provider that an unfinished
execution runs with (its resolution is frozen on the execution's nodes).
"""

from __future__ import annotations

import asyncio
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from aerodrome.db.engine import Database
from aerodrome.db.models import ProviderRow
from aerodrome.db.models.base import utcnow
from aerodrome.errors import FailedPrecondition, InvalidArgument, NotFound
from aerodrome.managers.validation.providers import ProviderId, ProviderSpec, check_part, parse_spec
from aerodrome.phases.tables import WORKFLOW_TERMINAL, workflow_phase_name

TERMINAL_NAMES = sorted(workflow_phase_name(p) for p in WORKFLOW_TERMINAL)
INTERPRETER_CHECK_SECONDS = 60.0
# Finds flytekit without importing it (an import takes seconds; finding it, milliseconds).
FIND_FLYTEKIT = "import importlib.util as u\nif u.find_spec('flytekit') is None: raise SystemExit('flytekit not found')"


def _time(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def provider_document(row: ProviderRow) -> dict[str, Any]:
    """How a provider is shown by the API and the CLI."""
    return {
        "provider_name": row.provider_name,
        "name": row.name,
        "version": row.version,
        "device": row.device,
        "metadata": json.loads(row.device_metadata),
        "components_description": json.loads(row.components_description),
        "create_time": _time(row.created_at),
        "update_time": _time(row.updated_at),
    }


def _diff(old: dict[str, Any], new: dict[str, Any], prefix: str) -> list[str]:
    keys = sorted(set(old) | set(new))
    return [f"{prefix}{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in keys if old.get(k) != new.get(k)]


def _check_paths(path: str | None, venv: str | None) -> None:
    if path is not None and not Path(path).is_dir():
        raise InvalidArgument(f"metadata.path {path!r} is not a directory on the server")
    if venv is not None and (not Path(venv).is_file() or not os.access(venv, os.X_OK)):
        raise InvalidArgument(f"metadata.venv {venv!r} is not an executable Python interpreter on the server")


async def check_local_paths(metadata: dict[str, Any]) -> None:
    """A local provider's code ``path`` must be a directory and its ``venv`` an interpreter with flytekit."""
    venv = metadata.get("venv")
    await asyncio.to_thread(_check_paths, metadata.get("path"), venv)
    if venv is None:
        return
    process = await asyncio.create_subprocess_exec(
        venv,
        "-c",
        FIND_FLYTEKIT,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, err = await asyncio.wait_for(process.communicate(), INTERPRETER_CHECK_SECONDS)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise InvalidArgument(f"metadata.venv {venv!r} did not answer within 60s") from None
    if process.returncode != 0:
        last = (err.decode(errors="replace").strip().splitlines() or ["no output"])[-1]
        raise InvalidArgument(f"metadata.venv {venv!r} cannot run tasks: it does not have flytekit ({last})")


class ProviderManager:
    """Register, query, delete; and lookups for execution-time resolution."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def register(self, body: object, *, replace: bool = False) -> dict[str, Any]:
        """The stored provider, with ``outcome`` = created, unchanged or replaced."""
        spec = parse_spec(body)
        async with self.db.transaction() as uow:
            existing = await uow.providers.find(str(spec.id))
        unchanged = existing is not None and (
            json.loads(existing.device_metadata),
            json.loads(existing.components_description),
        ) == (spec.metadata, spec.components_description)
        if spec.id.device == "local" and not unchanged:
            await check_local_paths(spec.metadata)
        return await self._store(spec, replace)

    async def _store(self, spec: ProviderSpec, replace: bool) -> dict[str, Any]:
        metadata = json.dumps(spec.metadata, sort_keys=True)
        components = json.dumps(spec.components_description, sort_keys=True)
        async with self.db.transaction(write=True) as uow:
            row = await uow.providers.find(str(spec.id))
            if row is None:
                row = await uow.providers.add(
                    ProviderRow(
                        provider_name=str(spec.id),
                        name=spec.id.name,
                        version=spec.id.version,
                        device=spec.id.device,
                        device_metadata=metadata,
                        components_description=components,
                    )
                )
                return {**provider_document(row), "outcome": "created"}
            if row.device_metadata == metadata and row.components_description == components:
                return {**provider_document(row), "outcome": "unchanged"}
            if not replace:
                changes = _diff(json.loads(row.device_metadata), spec.metadata, "metadata.") + _diff(
                    json.loads(row.components_description), spec.components_description, "components_description."
                )
                raise InvalidArgument(
                    f"provider {spec.id} is already registered with a different body ({'; '.join(changes)}); "
                    "register again with replace to overwrite it"
                )
            row.device_metadata = metadata
            row.components_description = components
            row.updated_at = utcnow()
            return {**provider_document(row), "outcome": "replaced"}

    async def query(
        self, *, name: str = "", version: str = "", device: str = "", provider_name: str = ""
    ) -> list[dict[str, Any]]:
        """Providers matching every given filter; no filter lists them all."""
        if provider_name:
            ident = ProviderId.parse(provider_name)
            for given, part in ((name, ident.name), (version, ident.version), (device, ident.device)):
                if given and given != part:
                    return []
            name, version, device = ident.name, ident.version, ident.device
        async with self.db.transaction() as uow:
            rows = await uow.providers.matching(name, version, device)
        return [provider_document(r) for r in rows]

    async def delete(self, *, name: str = "", version: str = "", device: str = "") -> list[str]:
        """Delete every provider matching all given filters; returns their ids."""
        if not (name or version or device):
            raise InvalidArgument(
                "delete needs at least one of name, version or device (a filterless delete is refused)"
            )
        for field, value in (("name", name), ("version", version)):
            if value:
                check_part(field, value)
        async with self.db.transaction(write=True) as uow:
            rows = await uow.providers.matching(name, version, device)
            if not rows:
                given = ", ".join(
                    f"{k}={v}" for k, v in (("name", name), ("version", version), ("device", device)) if v
                )
                raise NotFound(f"no provider matches {given}")
            ids = [r.provider_name for r in rows]
            busy = await uow.execution_providers.in_use(ids, TERMINAL_NAMES)
            if busy:
                uses = ", ".join(f"{p} (execution {e})" for p, e in busy[:5])
                raise FailedPrecondition(f"cannot delete: unfinished executions run with {uses}")
            await uow.providers.delete_ids([r.id for r in rows])
        return ids
