"""Cache keys of cacheable tasks, derived as datacatalog derives them.

The dataset is the task's project and domain, ``flyte_task-<name>`` and a version made of the cache
version and short hashes of the input and output interfaces: the task **version** is deliberately not
part of it, so re-registering a task without changing ``cache_version`` keeps its cache. The tag is a
hash of the input values (minus ``cache_ignore_input_vars``), with every literal that carries its own
``hash`` standing for itself by that hash.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from flyteidl.core import catalog_pb2, identifier_pb2, interface_pb2, literals_pb2, tasks_pb2

from aerodrome.managers.digest import digest


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hashed(literal: literals_pb2.Literal) -> literals_pb2.Literal:
    """The literal with every sub-literal that has a ``hash`` replaced by ``Literal{hash}``."""
    if literal.hash:
        return literals_pb2.Literal(hash=literal.hash)
    if literal.HasField("collection"):
        return literals_pb2.Literal(
            collection=literals_pb2.LiteralCollection(literals=[_hashed(x) for x in literal.collection.literals])
        )
    if literal.HasField("map"):
        return literals_pb2.Literal(
            map=literals_pb2.LiteralMap(literals={k: _hashed(v) for k, v in literal.map.literals.items()})
        )
    return literal


def _interface_hash(variables: interface_pb2.VariableMap) -> str:
    return _b64(digest(variables))[:8]


@dataclass(frozen=True)
class CacheKey:
    """Where a cacheable task's outputs are looked up: dataset and tag."""

    project: str
    domain: str
    name: str
    version: str
    tag: str

    @property
    def dataset(self) -> tuple[str, str, str, str]:
        return (self.project, self.domain, self.name, self.version)

    def metadata(
        self, artifact_id: str, source: identifier_pb2.TaskExecutionIdentifier | None
    ) -> catalog_pb2.CatalogMetadata:
        """The ``catalog_key`` reported in node events."""
        meta = catalog_pb2.CatalogMetadata(
            dataset_id=identifier_pb2.Identifier(
                resource_type=identifier_pb2.DATASET,
                project=self.project,
                domain=self.domain,
                name=self.name,
                version=self.version,
            ),
            artifact_tag=catalog_pb2.CatalogArtifactTag(artifact_id=artifact_id, name=self.tag),
        )
        if source is not None:
            meta.source_task_execution.CopyFrom(source)
        return meta


def cache_key(task: tasks_pb2.TaskTemplate, inputs: literals_pb2.LiteralMap) -> CacheKey:
    """The key of one run of a cacheable task (``metadata.discoverable``) with these inputs."""
    version = task.metadata.discovery_version.strip()
    if not version:
        raise ValueError(f"task cannot have an empty discoveryVersion {task.id.name}")
    ignored = set(task.metadata.cache_ignore_input_vars)
    kept = literals_pb2.LiteralMap(literals={k: _hashed(v) for k, v in inputs.literals.items() if k not in ignored})
    in8 = _interface_hash(task.interface.inputs)
    out8 = _interface_hash(task.interface.outputs)
    return CacheKey(
        project=task.id.project,
        domain=task.id.domain,
        name=f"flyte_task-{task.id.name}",
        version=f"{version}-{in8}-{out8}",
        tag=f"flyte_cached-{_b64(digest(kept))}",
    )
