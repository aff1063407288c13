"""Reads of the product-workflow registry, and the Flyte entities a registration starts."""

from __future__ import annotations

from sqlalchemy import case, select

from aerodrome.db.models import (
    LaunchPlanRow,
    ProductRow,
    ProductTypeRow,
    ProductWorkflowRow,
    ProductWorkflowTypeRow,
    WorkflowRow,
)
from aerodrome.db.repositories.base import Repository


class ProductRepository(Repository[ProductWorkflowRow]):
    """Registrations are written by data migrations; the server only reads them."""

    async def types(self) -> list[tuple[ProductTypeRow, list[ProductRow]]]:
        """Every product type with its products, by name."""
        type_rows = (await self.session.execute(select(ProductTypeRow).order_by(ProductTypeRow.name))).scalars()
        products = (await self.session.execute(select(ProductRow).order_by(ProductRow.name))).scalars().all()
        return [(t, [p for p in products if p.product_type_id == t.id]) for t in type_rows]

    async def type_exists(self, name: str) -> bool:
        query = select(ProductTypeRow.id).where(ProductTypeRow.name == name)
        return (await self.session.execute(query)).first() is not None

    async def workflows(self, product_type: str = "", target: str = "") -> list[tuple[ProductWorkflowRow, list[str]]]:
        """Registrations (optionally of one product type and one target) with their product type names."""
        query = select(ProductWorkflowRow).order_by(ProductWorkflowRow.name)
        if target:
            query = query.where(ProductWorkflowRow.target == target)
        if product_type:
            query = (
                query.join(ProductWorkflowTypeRow, ProductWorkflowTypeRow.workflow_id == ProductWorkflowRow.id)
                .join(ProductTypeRow, ProductTypeRow.id == ProductWorkflowTypeRow.product_type_id)
                .where(ProductTypeRow.name == product_type)
            )
        rows = list((await self.session.execute(query)).scalars().all())
        links = await self.session.execute(
            select(ProductWorkflowTypeRow.workflow_id, ProductTypeRow.name)
            .join(ProductTypeRow, ProductTypeRow.id == ProductWorkflowTypeRow.product_type_id)
            .where(ProductWorkflowTypeRow.workflow_id.in_([r.id for r in rows]))
            .order_by(ProductTypeRow.name)
        )
        by_workflow: dict[int, list[str]] = {}
        for workflow_id, type_name in links.all():
            by_workflow.setdefault(workflow_id, []).append(type_name)
        return [(r, by_workflow.get(r.id, [])) for r in rows]

    async def flyte_workflow_names(self, project: str, domain: str, name: str) -> list[str]:
        """Flyte workflow names a registration name designates: itself, or any ``<module>.<name>``."""
        query = (
            select(WorkflowRow.name)
            .where(
                WorkflowRow.project == project,
                WorkflowRow.domain == domain,
                (WorkflowRow.name == name) | WorkflowRow.name.endswith(f".{name}", autoescape=True),
            )
            .distinct()
            .order_by(WorkflowRow.name)
        )
        return list((await self.session.execute(query)).scalars().all())

    async def launch_plan_for(self, project: str, domain: str, workflow_name: str) -> LaunchPlanRow | None:
        """The workflow's active launch plan (its default-named one first), else its latest version."""
        query = (
            select(LaunchPlanRow)
            .join(WorkflowRow, WorkflowRow.id == LaunchPlanRow.workflow_id)
            .where(WorkflowRow.project == project, WorkflowRow.domain == domain, WorkflowRow.name == workflow_name)
            .order_by(
                LaunchPlanRow.state.desc(),
                case((LaunchPlanRow.name == workflow_name, 0), else_=1),
                LaunchPlanRow.created_at.desc(),
                LaunchPlanRow.id.desc(),
            )
            .limit(1)
        )
        row: LaunchPlanRow | None = (await self.session.execute(query)).scalar_one_or_none()
        return row
