"""The task-output cache (what datacatalog is to Flyte): lookups, writes and serialization reservations.

Outputs themselves stay in the blob store where the producing attempt wrote them (blobs are never
rewritten), so an artifact is just a pointer to them plus where they came from.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flyteidl.core import identifier_pb2

from aerodrome.db.engine import Database
from aerodrome.db.models import CachedArtifactRow
from aerodrome.errors import AlreadyExists
from aerodrome.values.cache_keys import CacheKey


@dataclass(frozen=True)
class Artifact:
    """A cached result."""

    artifact_id: str
    outputs_uri: str
    source: identifier_pb2.TaskExecutionIdentifier | None


class CatalogManager:
    """Get, put (create or overwrite) and reserve cached task outputs."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, key: CacheKey) -> Artifact | None:
        async with self.db.transaction() as uow:
            row = await uow.cache.artifact(key.dataset, key.tag)
            if row is None:
                return None
            source = identifier_pb2.TaskExecutionIdentifier.FromString(row.source) if row.source else None
            return Artifact(row.artifact_id, row.outputs_uri, source)

    async def put(
        self, key: CacheKey, outputs_uri: str, source: identifier_pb2.TaskExecutionIdentifier, *, overwrite: bool
    ) -> Artifact:
        """Record outputs under the key; an existing artifact is kept unless ``overwrite``."""
        artifact_id = uuid.uuid4().hex
        project, domain, name, version = key.dataset
        try:
            async with self.db.transaction(write=True) as uow:
                row = await uow.cache.artifact(key.dataset, key.tag)
                if row is None:
                    await uow.add_all(
                        [
                            CachedArtifactRow(
                                dataset_project=project,
                                dataset_domain=domain,
                                dataset_name=name,
                                dataset_version=version,
                                tag=key.tag,
                                artifact_id=artifact_id,
                                outputs_uri=outputs_uri,
                                source=source.SerializeToString(),
                            )
                        ]
                    )
                elif overwrite:
                    row.artifact_id, row.outputs_uri, row.source = artifact_id, outputs_uri, source.SerializeToString()
                else:
                    return Artifact(row.artifact_id, row.outputs_uri, source)
        except AlreadyExists:  # another run of the same key wrote first: theirs stands
            found = await self.get(key)
            if found is not None:
                return found
            raise
        return Artifact(artifact_id, outputs_uri, source)

    async def reserve(self, key: CacheKey, owner: str, ttl: timedelta) -> bool:
        """Take or extend the right to compute this key; False while someone else holds it."""
        now = datetime.now(UTC)
        try:
            async with self.db.transaction(write=True) as uow:
                held = await uow.cache.reservation(key.dataset, key.tag)
                if held is None:
                    await uow.cache.add_reservation(key.dataset, key.tag, owner, now + ttl)
                    return True
                if held.owner == owner or held.expires_at < now:
                    held.owner, held.expires_at = owner, now + ttl
                    return True
                return False
        except AlreadyExists:
            return False

    async def release(self, key: CacheKey, owner: str) -> None:
        async with self.db.transaction(write=True) as uow:
            held = await uow.cache.reservation(key.dataset, key.tag)
            if held is not None and held.owner == owner:
                await uow.session.delete(held)
