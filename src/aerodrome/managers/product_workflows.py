"""The product-workflow registry as the server sees it: list registrations, and start one.

Registrations are written by data migrations. A registration name designates the Flyte workflow of the
project-domain that has that name, or ends in ``.<name>`` (flytekit names a workflow ``<module>.<function>``,
and ``LazyWorkflowInstance`` registers the function name). Starting runs that workflow's active launch
plan, else its latest version, with JSON inputs, through the ExecutionManager like any other execution.
"""

from __future__ import annotations

from typing import Any

from flyteidl.admin import execution_pb2
from flyteidl.core import identifier_pb2

from aerodrome.db.engine import Database
from aerodrome.db.transformers.entities import launch_plan_from_row
from aerodrome.errors import FailedPrecondition, InvalidArgument, NotFound
from aerodrome.managers.executions import ExecutionManager
from aerodrome.managers.json_inputs import inputs_from_json
from aerodrome.products.targets import TARGETS

START_FIELDS = {"product_type", "target", "inputs", "project", "domain", "workflow", "name"}


def _text(body: dict[str, Any], field: str, *, required: bool = True) -> str:
    value = body.get(field, "")
    if value is None:
        value = ""
    if not isinstance(value, str) or (required and not value):
        raise InvalidArgument(f"{field} is required (a string)" if required else f"{field} must be a string")
    return value


class ProductWorkflowManager:
    """Reads of the registry and ``start``."""

    def __init__(self, db: Database, executions: ExecutionManager) -> None:
        self.db = db
        self.executions = executions

    async def product_types(self) -> list[dict[str, Any]]:
        async with self.db.transaction() as uow:
            found = await uow.products.types()
        return [
            {
                "name": t.name,
                "description": t.description,
                "products": [{"name": p.name, "tag": p.tag, "status": p.status} for p in products],
            }
            for t, products in found
        ]

    async def _flyte_workflow(self, project: str, domain: str, name: str) -> tuple[str | None, str]:
        """(the Flyte workflow name, or None with the reason)."""
        async with self.db.transaction() as uow:
            names = await uow.products.flyte_workflow_names(project, domain, name)
        if not names:
            return None, f"no Flyte workflow named {name} or *.{name} is registered in {project}/{domain}"
        if len(names) > 1:
            return None, f"several Flyte workflows match {name} in {project}/{domain}: {', '.join(names)}"
        return names[0], ""

    async def workflows(
        self, *, product_type: str = "", target: str = "", project: str = "", domain: str = ""
    ) -> list[dict[str, Any]]:
        """Registrations, filtered; with ``project`` and ``domain``, also the Flyte workflow each designates."""
        if target and target not in TARGETS:
            raise InvalidArgument(f"target {target!r} is not one of {', '.join(TARGETS)}")
        if bool(project) != bool(domain):
            raise InvalidArgument("give both project and domain, or neither")
        async with self.db.transaction() as uow:
            if product_type and not await uow.products.type_exists(product_type):
                raise NotFound(f"product type {product_type!r} is not registered")
            rows = await uow.products.workflows(product_type, target)
        out = []
        for row, types in rows:
            item: dict[str, Any] = {
                "name": row.name,
                "target": row.target,
                "description": row.description,
                "is_task": row.is_task,
                "product_types": types,
                "created_at": row.created_at.isoformat().replace("+00:00", "Z"),
            }
            if project:
                item["flyte_workflow"], item["flyte_workflow_problem"] = await self._flyte_workflow(
                    project, domain, row.name
                )
            out.append(item)
        return out

    async def start(self, body: object) -> dict[str, Any]:
        """Launch the workflow registered for (product type, target); returns the execution id."""
        if not isinstance(body, dict):
            raise InvalidArgument("the request must be a JSON object")
        unknown = sorted(set(body) - START_FIELDS)
        if unknown:
            raise InvalidArgument(f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(START_FIELDS))}")
        product_type, target = _text(body, "product_type"), _text(body, "target")
        project, domain = _text(body, "project"), _text(body, "domain")
        chosen_name = _text(body, "workflow", required=False)
        candidates = await self.workflows(product_type=product_type, target=target)
        if chosen_name:
            candidates = [c for c in candidates if c["name"] == chosen_name]
        if not candidates:
            which = f" named {chosen_name}" if chosen_name else ""
            raise NotFound(f"no {target} workflow{which} is registered for product type {product_type}")
        if len(candidates) > 1:
            names = ", ".join(c["name"] for c in candidates)
            raise InvalidArgument(f"several {target} workflows are registered for {product_type} ({names}); pick one")
        registration = candidates[0]["name"]
        flyte_name, problem = await self._flyte_workflow(project, domain, registration)
        if flyte_name is None:
            raise FailedPrecondition(f"cannot start {registration}: {problem}")
        async with self.db.transaction() as uow:
            lp_row = await uow.products.launch_plan_for(project, domain, flyte_name)
        if lp_row is None:
            raise FailedPrecondition(f"cannot start {registration}: workflow {flyte_name} has no launch plan")
        plan = launch_plan_from_row(lp_row)
        inputs = inputs_from_json(body.get("inputs"), plan.closure.expected_inputs)
        spec = execution_pb2.ExecutionSpec(
            launch_plan=plan.id,
            metadata=execution_pb2.ExecutionMetadata(
                mode=execution_pb2.ExecutionMetadata.MANUAL, principal="aerodrome-products"
            ),
        )
        spec.annotations.values.update({"aerodrome/product-type": product_type, "aerodrome/target": target})
        created = await self.executions.create(
            execution_pb2.ExecutionCreateRequest(
                project=project, domain=domain, name=_text(body, "name", required=False), spec=spec, inputs=inputs
            )
        )
        ident: identifier_pb2.WorkflowExecutionIdentifier = created.id
        return {
            "execution": {"project": ident.project, "domain": ident.domain, "name": ident.name},
            "workflow": registration,
            "flyte_workflow": flyte_name,
            "launch_plan": {"name": plan.id.name, "version": plan.id.version},
        }
