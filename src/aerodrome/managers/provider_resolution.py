"""Provider resolution at execution creation, and the frozen result the engine reads per node.

``ProviderResolver.resolve`` reads the job configuration annotation of the execution spec and the
project-domain default (the annotation ``aerodrome/default-provider`` of a WORKFLOW_EXECUTION_CONFIG
matchable attribute), picks a provider per top-level task node (see ``job_conf.py`` for the levels),
checks that every provider that applies to this party is registered, and returns the rows to store with
the execution. An unknown provider is INVALID_ARGUMENT naming it and the level it came from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from flyteidl.admin import execution_pb2, matchable_resource_pb2
from flyteidl.core import compiler_pb2

from aerodrome.db.engine import Database
from aerodrome.db.models import ExecutionProviderRow, WorkflowRow
from aerodrome.errors import InvalidArgument, NotFound
from aerodrome.managers.attributes import PROJECT_DOMAIN, AttributeManager, Target, View
from aerodrome.managers.job_conf import (
    DEFAULT_PROVIDER_ANNOTATION,
    JOB_CONF_ANNOTATION,
    JobConf,
    Mention,
    Party,
    applicable_mentions,
    parse_job_conf,
    resolve_nodes,
)
from aerodrome.values.provider_runtime import ProviderRuntime


@dataclass(frozen=True)
class Resolution:
    """The provider of each task node (empty when nothing names one)."""

    nodes: dict[str, tuple[Mention, str, str, str, str]]  # node -> (mention, device, python, code_path, cluster)

    def rows(self, project: str, domain: str, name: str) -> list[ExecutionProviderRow]:
        return [
            ExecutionProviderRow(
                execution_project=project,
                execution_domain=domain,
                execution_name=name,
                node_id=node,
                provider_name=mention.provider,
                level=mention.level,
                device=device,
                python=python,
                code_path=code_path,
                cluster=cluster,
            )
            for node, (mention, device, python, code_path, cluster) in sorted(self.nodes.items())
        ]


def task_nodes(closure: compiler_pb2.CompiledWorkflowClosure) -> list[str]:
    """Ids of the top-level nodes that run tasks in this execution, in declaration order: task and map
    nodes, and subworkflows and branches, whose provider applies to every task they run (the engine looks
    a nested node's provider up by its top-level ancestor). Launch-plan nodes are child executions with a
    resolution of their own, and gates run no task."""
    runs_tasks = ("task_node", "array_node", "branch_node")
    return [
        n.id
        for n in closure.primary.template.nodes
        if n.WhichOneof("target") in runs_tasks
        or (n.HasField("workflow_node") and n.workflow_node.HasField("sub_workflow_ref"))
    ]


class ProviderResolver:
    """Called by the ExecutionManager before it writes an execution."""

    def __init__(self, db: Database, attributes: AttributeManager, party: Party) -> None:
        self.db = db
        self.attributes = attributes
        self.party = party

    async def _default(self, project: str, domain: str, view: View | None) -> Mention | None:
        target = Target(project, domain, level=PROJECT_DOMAIN)
        kind = matchable_resource_pb2.WORKFLOW_EXECUTION_CONFIG
        if view is not None:
            found = view.get(target, exact=True)
            if found is None:
                return None
            attrs = found
        else:
            try:
                attrs = await self.attributes.get(target, kind, exact=True)
            except NotFound:
                return None
        value = attrs.workflow_execution_config.annotations.values.get(DEFAULT_PROVIDER_ANNOTATION, "")
        if not value:
            return None
        where = f"matchable attribute WORKFLOW_EXECUTION_CONFIG of {project}/{domain}, {DEFAULT_PROVIDER_ANNOTATION}"
        mention = Mention(value, "default", where)
        mention.checked()
        return mention

    async def resolve(
        self,
        project: str,
        domain: str,
        spec: execution_pb2.ExecutionSpec,
        workflow_id: int | None,
        view: View | None = None,
    ) -> Resolution:
        text = spec.annotations.values.get(JOB_CONF_ANNOTATION, "")
        conf = parse_job_conf(text, self.party) if text.strip() else JobConf()
        default = await self._default(project, domain, view)
        mentions = applicable_mentions(conf, default)
        if not mentions and not conf.nodes_named:
            return Resolution({})
        async with self.db.transaction() as uow:
            workflow = await uow.session.get(WorkflowRow, workflow_id) if workflow_id is not None else None
            providers = await uow.providers.find_many([m.provider for m in mentions.values()])
        if workflow is None:
            raise InvalidArgument("the execution's workflow is missing, providers cannot be resolved")
        for mention in mentions.values():
            if mention.provider not in providers:
                raise InvalidArgument(
                    f"provider {mention.provider} is not registered (named at {mention.level} level, {mention.where})"
                )
        closure = compiler_pb2.CompiledWorkflowClosure.FromString(workflow.closure)
        child = spec.metadata.mode == execution_pb2.ExecutionMetadata.CHILD_WORKFLOW
        chosen = resolve_nodes(conf, default, task_nodes(closure), strict=not child)
        nodes = {}
        for node, mention in chosen.items():
            row = providers[mention.provider]
            metadata = json.loads(row.device_metadata)
            venv, path = str(metadata.get("venv", "")), str(metadata.get("path", ""))
            nodes[node] = (mention, row.device, venv, path, _cluster(row.device, metadata))
        return Resolution(nodes)

    async def shown(self, project: str, domain: str, name: str) -> list[dict[str, str]]:
        """The frozen resolution of an execution, per node (for the API and the CLI)."""
        async with self.db.transaction() as uow:
            if await uow.executions.find(project, domain, name) is None:
                raise NotFound(f"missing entity of type execution with identifier {project}/{domain}/{name}")
            rows = await uow.execution_providers.for_execution(project, domain, name)
        return [
            {"node_id": r.node_id, "provider_name": r.provider_name, "level": r.level, "device": r.device} for r in rows
        ]


async def frozen_runtimes(db: Database, project: str, domain: str, name: str) -> dict[str, ProviderRuntime]:
    """The providers of all of an execution's nodes that were resolved to one at creation, by node id (one
    read for a whole drive, instead of one per node; a node missing here runs with the server's defaults)."""
    async with db.transaction() as uow:
        rows = await uow.execution_providers.for_execution(project, domain, name)
    return {row.node_id: _runtime(row) for row in rows}


def _runtime(row: ExecutionProviderRow) -> ProviderRuntime:
    cluster = json.loads(row.cluster or "{}")
    return ProviderRuntime(
        row.provider_name,
        row.device,
        row.python,
        row.code_path,
        address=str(cluster.get("address", "")),
        runtime_env=json.dumps(cluster.get("runtime_env") or {}, sort_keys=True),
    )


def _cluster(device: str, metadata: dict[str, object]) -> str:
    """What a ray provider's attempts need of its metadata, frozen with the node (JSON)."""
    if device != "ray":
        return "{}"
    return json.dumps({"address": metadata.get("address", ""), "runtime_env": metadata.get("runtime_env") or {}})
