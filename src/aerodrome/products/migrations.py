"""Helpers for data migrations: register product types, products and product workflows, and remove them.

Call them from ``upgrade()``/``downgrade()`` of a revision on the ``data`` branch with ``op.get_bind()``.
They are strict where orchestrator-core's are silent: an identical registration is a no-op, a different
one under the same name is an error, an unknown product type is an error, a second CREATE or TERMINATE
workflow for a product type is an error, and removing something that does not exist is an error. Any
error aborts the revision, and Alembic rolls its transaction back, so nothing is half-written.

They use plain SQL tables (not the ORM models) and portable statements, so they work on SQLite and
PostgreSQL and against the schema of the revision they run at.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from aerodrome.db.models.base import utcnow
from aerodrome.products.errors import ProductRegistrationError
from aerodrome.products.targets import SINGLE_PER_TYPE, TARGETS


def _stamps() -> tuple[sa.ColumnClause[Any], sa.ColumnClause[Any]]:
    return sa.column("created_at", sa.DateTime(timezone=True)), sa.column("updated_at", sa.DateTime(timezone=True))


types_t = sa.table("product_types", sa.column("id"), sa.column("name"), sa.column("description"), *_stamps())
products_t = sa.table(
    "products",
    sa.column("id"),
    sa.column("name"),
    sa.column("product_type_id"),
    sa.column("tag"),
    sa.column("description"),
    sa.column("status"),
    *_stamps(),
)
workflows_t = sa.table(
    "product_workflows",
    sa.column("id"),
    sa.column("name"),
    sa.column("target"),
    sa.column("description"),
    sa.column("is_task", sa.Boolean()),
    *_stamps(),
)
links_t = sa.table("product_workflow_types", sa.column("workflow_id"), sa.column("product_type_id"))


def _spec(kind: str, spec: Mapping[str, Any], required: tuple[str, ...], optional: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(spec, Mapping):
        raise ProductRegistrationError(f"a {kind} registration must be a mapping, got {type(spec).__name__}")
    unknown = sorted(set(spec) - set(required) - set(optional))
    if unknown:
        raise ProductRegistrationError(
            f"{kind} {spec.get('name')!r}: unknown field(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(required + optional)}"
        )
    for field in required:
        value = spec.get(field)
        if not isinstance(value, str) or not value.strip():
            raise ProductRegistrationError(f"{kind} {spec.get('name')!r}: {field} is required (a non-empty string)")
    return dict(spec)


def _type_ids(conn: Connection, names: list[str], who: str) -> dict[str, int]:
    rows = conn.execute(sa.select(types_t.c.name, types_t.c.id).where(types_t.c.name.in_(names))).all()
    found = {name: ident for name, ident in rows}
    missing = [n for n in names if n not in found]
    if missing:
        raise ProductRegistrationError(f"{who}: unknown product type(s) {', '.join(missing)}")
    return found


def create_product_type(conn: Connection, spec: Mapping[str, Any]) -> None:
    """``{"name": "User", "description": "…"}``."""
    spec = _spec("product type", spec, ("name",), ("description",))
    name, description = spec["name"], spec.get("description", "")
    row = conn.execute(sa.select(types_t.c.description).where(types_t.c.name == name)).first()
    if row is not None:
        if row.description != description:
            raise ProductRegistrationError(
                f"product type {name!r} already exists with a different description ({row.description!r})"
            )
        return
    now = utcnow()
    conn.execute(sa.insert(types_t).values(name=name, description=description, created_at=now, updated_at=now))


def delete_product_type(conn: Connection, name: str) -> None:
    """Refused while products or workflow registrations use the type."""
    ident = _type_ids(conn, [name], f"delete product type {name!r}")[name]
    used_by = conn.execute(
        sa.select(workflows_t.c.name)
        .join(links_t, links_t.c.workflow_id == workflows_t.c.id)
        .where(links_t.c.product_type_id == ident)
        .order_by(workflows_t.c.name)
    ).scalars()
    products = conn.execute(sa.select(products_t.c.name).where(products_t.c.product_type_id == ident)).scalars()
    users = [f"workflow {w}" for w in used_by] + [f"product {p}" for p in products]
    if users:
        raise ProductRegistrationError(f"product type {name!r} is still used by {', '.join(users)}")
    conn.execute(sa.delete(types_t).where(types_t.c.id == ident))


def create_product(conn: Connection, spec: Mapping[str, Any]) -> None:
    """``{"name": "User internal", "product_type": "User", "tag": "USER_INT", "description": "…"}``."""
    spec = _spec("product", spec, ("name", "product_type"), ("tag", "description", "status"))
    name = spec["name"]
    type_id = _type_ids(conn, [spec["product_type"]], f"product {name!r}")[spec["product_type"]]
    wanted = {
        "product_type_id": type_id,
        "tag": spec.get("tag", ""),
        "description": spec.get("description", ""),
        "status": spec.get("status", "active"),
    }
    row = conn.execute(sa.select(products_t).where(products_t.c.name == name)).mappings().first()
    if row is not None:
        changed = [k for k, v in wanted.items() if row[k] != v]
        if changed:
            raise ProductRegistrationError(f"product {name!r} already exists with a different {', '.join(changed)}")
        return
    now = utcnow()
    conn.execute(sa.insert(products_t).values(name=name, created_at=now, updated_at=now, **wanted))


def delete_product(conn: Connection, name: str) -> None:
    if conn.execute(sa.delete(products_t).where(products_t.c.name == name)).rowcount == 0:
        raise ProductRegistrationError(f"delete product {name!r}: no such product")


def _types_of(spec: Mapping[str, Any]) -> list[str]:
    value = spec.get("product_type")
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n.strip() for n in names):
        raise ProductRegistrationError(
            f"workflow {spec.get('name')!r}: product_type must be a product type name or a non-empty list of them"
        )
    return sorted(set(names))


def _linked_types(conn: Connection, workflow_id: int) -> list[str]:
    query = (
        sa.select(types_t.c.name)
        .join(links_t, links_t.c.product_type_id == types_t.c.id)
        .where(links_t.c.workflow_id == workflow_id)
        .order_by(types_t.c.name)
    )
    return list(conn.execute(query).scalars())


def create_workflow(conn: Connection, spec: Mapping[str, Any]) -> None:
    """``{"name", "target", "description", "product_type": "User" | [..], "is_task": False}``."""
    spec = _spec("workflow", spec, ("name", "target", "description"), ("product_type", "is_task"))
    name, target = spec["name"], spec["target"]
    if target not in TARGETS:
        raise ProductRegistrationError(f"workflow {name!r}: target {target!r} is not one of {', '.join(TARGETS)}")
    is_task = spec.get("is_task", False)
    if not isinstance(is_task, bool):
        raise ProductRegistrationError(f"workflow {name!r}: is_task must be true or false")
    type_names = _types_of(spec)
    type_ids = _type_ids(conn, type_names, f"workflow {name!r}")
    row = conn.execute(sa.select(workflows_t).where(workflows_t.c.name == name)).mappings().first()
    if row is not None:
        stored = {
            "target": row["target"],
            "description": row["description"],
            "is_task": bool(row["is_task"]),
            "product_type": _linked_types(conn, row["id"]),
        }
        wanted = {"target": target, "description": spec["description"], "is_task": is_task, "product_type": type_names}
        changes = [f"{k}: {stored[k]!r} -> {wanted[k]!r}" for k in wanted if stored[k] != wanted[k]]
        if changes:
            raise ProductRegistrationError(
                f"workflow {name!r} is already registered differently ({'; '.join(changes)}); delete it first"
            )
        return
    if target in SINGLE_PER_TYPE:
        clash = conn.execute(
            sa.select(workflows_t.c.name, types_t.c.name)
            .join(links_t, links_t.c.workflow_id == workflows_t.c.id)
            .join(types_t, types_t.c.id == links_t.c.product_type_id)
            .where(workflows_t.c.target == target, links_t.c.product_type_id.in_(list(type_ids.values())))
        ).first()
        if clash is not None:
            raise ProductRegistrationError(
                f"workflow {name!r}: product type {clash[1]!r} already has a {target} workflow ({clash[0]!r})"
            )
    now = utcnow()
    conn.execute(
        sa.insert(workflows_t).values(
            name=name, target=target, description=spec["description"], is_task=is_task, created_at=now, updated_at=now
        )
    )
    workflow_id = conn.execute(sa.select(workflows_t.c.id).where(workflows_t.c.name == name)).scalar_one()
    conn.execute(sa.insert(links_t), [{"workflow_id": workflow_id, "product_type_id": i} for i in type_ids.values()])


def delete_workflow(conn: Connection, name: str) -> None:
    """Remove a registration and its links; an unknown name is an error (a typo must not pass silently)."""
    workflow_id = conn.execute(sa.select(workflows_t.c.id).where(workflows_t.c.name == name)).scalar_one_or_none()
    if workflow_id is None:
        raise ProductRegistrationError(f"delete workflow {name!r}: no such workflow registration")
    conn.execute(sa.delete(links_t).where(links_t.c.workflow_id == workflow_id))
    conn.execute(sa.delete(workflows_t).where(workflows_t.c.id == workflow_id))
