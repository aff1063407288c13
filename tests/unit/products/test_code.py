"""The code registry: lazy imports, clear errors naming module and function, no silent overwrite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from aerodrome.products import ALL_WORKFLOWS, LazyWorkflowInstance, WorkflowCodeError


@pytest.fixture(autouse=True)
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty registry and a package directory on sys.path, both restored afterwards."""
    saved = dict(ALL_WORKFLOWS)
    ALL_WORKFLOWS.clear()
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    ALL_WORKFLOWS.clear()
    ALL_WORKFLOWS.update(saved)


def test_registration_imports_nothing_until_used(registry: Path) -> None:
    (registry / "lazy_mod_a.py").write_text("LOADED = True\ndef create_thing():\n    return 'made'\n")
    entry = LazyWorkflowInstance("lazy_mod_a", "create_thing")
    import sys

    assert "lazy_mod_a" not in sys.modules
    assert ALL_WORKFLOWS["create_thing"] is entry
    assert entry.instantiate()() == "made"
    assert "lazy_mod_a" in sys.modules
    assert entry.flyte_name == "lazy_mod_a.create_thing"


def test_missing_module_names_module_and_function() -> None:
    entry = LazyWorkflowInstance("no_such_pkg.flows", "create_x")
    with pytest.raises(WorkflowCodeError, match=r"function 'create_x'.*module 'no_such_pkg\.flows' does not exist"):
        entry.instantiate()


def test_missing_function_names_both(registry: Path) -> None:
    (registry / "lazy_mod_b.py").write_text("def other():\n    pass\n")
    with pytest.raises(WorkflowCodeError, match=r"module 'lazy_mod_b' has no function 'create_y'"):
        LazyWorkflowInstance("lazy_mod_b", "create_y").instantiate()


def test_a_failing_import_inside_the_module_is_reported_as_such(registry: Path) -> None:
    (registry / "lazy_mod_c.py").write_text("import not_installed_dependency\ndef f():\n    pass\n")
    with pytest.raises(WorkflowCodeError, match=r"could not be imported: No module named 'not_installed_dependency'"):
        LazyWorkflowInstance("lazy_mod_c", "f").instantiate()


def test_registering_a_name_twice_is_an_error() -> None:
    LazyWorkflowInstance("pkg.a", "create_user")
    with pytest.raises(WorkflowCodeError, match=r"'create_user' is registered twice: pkg\.a\.create_user and pkg\.b"):
        LazyWorkflowInstance("pkg.b", "create_user")


@pytest.mark.parametrize(("package", "function"), [("", "f"), ("pkg", " "), (".relative", "f")])
def test_bad_arguments(package: str, function: str) -> None:
    with pytest.raises(WorkflowCodeError):
        LazyWorkflowInstance(package, function)


def test_targets_agree_with_the_database_constraint() -> None:
    from aerodrome.db.models.products import TARGETS as STORED
    from aerodrome.products import TARGETS

    assert TARGETS == STORED
