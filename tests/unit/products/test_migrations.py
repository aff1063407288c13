"""Registration helpers on a real migrated database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from tests.support.postgres import fresh_database

from aerodrome.db import migrate
from aerodrome.db.engine import Database
from aerodrome.products import ProductRegistrationError
from aerodrome.products.migrations import (
    create_product,
    create_product_type,
    create_workflow,
    delete_product_type,
    delete_workflow,
)

Step = Callable[[Connection], Any]


class Db:
    """Runs helper calls in one transaction each, as one Alembic revision would."""

    def __init__(self, url: str) -> None:
        self.url = url

    def run(self, step: Step) -> Any:
        async def go() -> Any:
            db = Database(self.url)
            try:
                async with db.engine.begin() as conn:
                    return await conn.run_sync(step)
            finally:
                await db.dispose()

        return asyncio.run(go())

    def rows(self, query: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.run(lambda c: c.execute(sa.text(query)).all())]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def migrated(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Db]:
    """One migrated database per backend for the module (migrating is the slow part)."""

    def prepared(url: str) -> Db:
        async def up() -> None:
            database = Database(url)
            await migrate.upgrade(database)
            await database.dispose()

        asyncio.run(up())
        return Db(url)

    if request.param == "sqlite":
        yield prepared(f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('products') / 'p.db'}")
    else:
        with fresh_database() as url:
            yield prepared(url)


@pytest.fixture
def db(migrated: Db) -> Db:
    """The module's database, emptied of registrations, with the product types User and UserGroup."""

    def reset(c: Connection) -> None:
        for table in ("product_workflow_types", "product_workflows", "products", "product_types"):
            c.execute(sa.text(f"DELETE FROM {table}"))
        create_product_type(c, {"name": "User", "description": "accounts"})
        create_product_type(c, {"name": "UserGroup"})

    migrated.run(reset)
    return migrated


CREATE_USER = {"name": "create_user", "target": "CREATE", "description": "Create a user", "product_type": "User"}


def test_identical_registration_is_a_no_op(db: Db) -> None:
    db.run(lambda c: create_workflow(c, CREATE_USER))
    db.run(lambda c: create_workflow(c, dict(CREATE_USER)))
    assert db.rows("SELECT name, target, is_task FROM product_workflows") == [("create_user", "CREATE", False)]
    assert len(db.rows("SELECT * FROM product_workflow_types")) == 1


def test_a_different_registration_under_the_same_name_is_an_error(db: Db) -> None:
    db.run(lambda c: create_workflow(c, CREATE_USER))
    changed = {**CREATE_USER, "description": "Make a user"}
    with pytest.raises(ProductRegistrationError, match=r"description: 'Create a user' -> 'Make a user'"):
        db.run(lambda c: create_workflow(c, changed))


def test_unknown_product_type_is_an_error_and_writes_nothing(db: Db) -> None:
    with pytest.raises(ProductRegistrationError, match="unknown product type\\(s\\) Nope"):
        db.run(lambda c: create_workflow(c, {**CREATE_USER, "product_type": ["User", "Nope"]}))
    assert db.rows("SELECT name FROM product_workflows") == []


def test_targets_are_checked(db: Db) -> None:
    with pytest.raises(ProductRegistrationError, match="target 'DESTROY' is not one of CREATE"):
        db.run(lambda c: create_workflow(c, {**CREATE_USER, "target": "DESTROY"}))


def test_one_create_workflow_per_product_type(db: Db) -> None:
    db.run(lambda c: create_workflow(c, CREATE_USER))
    with pytest.raises(ProductRegistrationError, match="'User' already has a CREATE workflow \\('create_user'\\)"):
        db.run(lambda c: create_workflow(c, {**CREATE_USER, "name": "create_user_again"}))
    db.run(lambda c: create_workflow(c, {**CREATE_USER, "name": "modify_a", "target": "MODIFY"}))
    db.run(lambda c: create_workflow(c, {**CREATE_USER, "name": "modify_b", "target": "MODIFY"}))


def test_missing_fields_are_named(db: Db) -> None:
    with pytest.raises(ProductRegistrationError, match="description is required"):
        db.run(lambda c: create_workflow(c, {"name": "x", "target": "CREATE", "product_type": "User"}))
    with pytest.raises(ProductRegistrationError, match="unknown field\\(s\\) tag"):
        db.run(lambda c: create_workflow(c, {**CREATE_USER, "tag": "X"}))


def test_delete_removes_links_and_refuses_unknown_names(db: Db) -> None:
    db.run(lambda c: create_workflow(c, CREATE_USER))
    with pytest.raises(ProductRegistrationError, match="still used by workflow create_user"):
        db.run(lambda c: delete_product_type(c, "User"))
    db.run(lambda c: delete_workflow(c, "create_user"))
    assert db.rows("SELECT * FROM product_workflow_types") == []
    with pytest.raises(ProductRegistrationError, match="no such workflow registration"):
        db.run(lambda c: delete_workflow(c, "create_user"))
    db.run(lambda c: delete_product_type(c, "User"))
    assert db.rows("SELECT name FROM product_types") == [("UserGroup",)]


def test_products_and_types(db: Db) -> None:
    db.run(lambda c: create_product(c, {"name": "User internal", "product_type": "User", "tag": "USER_INT"}))
    db.run(lambda c: create_product(c, {"name": "User internal", "product_type": "User", "tag": "USER_INT"}))
    with pytest.raises(ProductRegistrationError, match="different tag"):
        db.run(lambda c: create_product(c, {"name": "User internal", "product_type": "User", "tag": "X"}))
    with pytest.raises(ProductRegistrationError, match="still used by product User internal"):
        db.run(lambda c: delete_product_type(c, "User"))
    with pytest.raises(ProductRegistrationError, match="different description"):
        db.run(lambda c: create_product_type(c, {"name": "User", "description": "other"}))
