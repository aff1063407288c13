"""The code registry: workflow name -> the module and function that define it, imported only when used.

``LazyWorkflowInstance("workflows.user_group", "create_user_group")`` registers the name
``create_user_group`` (the join key with the database registration). Nothing is imported until
``instantiate()``; a missing module, a module whose own imports fail, and a missing function are each a
``WorkflowCodeError`` naming both the module and the function. Registering a name twice is an error.
"""

from __future__ import annotations

import importlib
from typing import Any


class WorkflowCodeError(Exception):
    """The code registry cannot provide a workflow; the message names the module and the function."""


class LazyWorkflowInstance:
    """One entry of the code registry (see the module docstring)."""

    def __init__(self, package: str, function: str, *, name: str | None = None) -> None:
        for field, value in (("package", package), ("function", function)):
            if not isinstance(value, str) or not value.strip():
                raise WorkflowCodeError(f"LazyWorkflowInstance needs a non-empty {field}")
        if package.startswith("."):
            raise WorkflowCodeError(f"LazyWorkflowInstance needs an absolute module path, not {package!r}")
        self.package = package
        self.function = function
        self.name = name or function
        existing = ALL_WORKFLOWS.get(self.name)
        if existing is not None:
            raise WorkflowCodeError(
                f"workflow {self.name!r} is registered twice: {existing.package}.{existing.function} and "
                f"{package}.{function}"
            )
        ALL_WORKFLOWS[self.name] = self
        self._loaded: Any = None

    def __repr__(self) -> str:
        return f"LazyWorkflowInstance({self.package!r}, {self.function!r})"

    def instantiate(self) -> Any:
        """Import the module and return the function (a flytekit workflow), once."""
        if self._loaded is not None:
            return self._loaded
        where = f"workflow {self.name!r} (function {self.function!r} in module {self.package!r})"
        try:
            module = importlib.import_module(self.package)
        except ModuleNotFoundError as exc:
            missing = exc.name or ""
            if missing and (self.package == missing or self.package.startswith(f"{missing}.")):
                raise WorkflowCodeError(f"{where}: module {self.package!r} does not exist") from None
            raise WorkflowCodeError(f"{where}: module {self.package!r} could not be imported: {exc}") from None
        except Exception as exc:
            raise WorkflowCodeError(
                f"{where}: module {self.package!r} could not be imported: {type(exc).__name__}: {exc}"
            ) from None
        if not hasattr(module, self.function):
            raise WorkflowCodeError(f"{where}: module {self.package!r} has no function {self.function!r}")
        self._loaded = getattr(module, self.function)
        return self._loaded

    @property
    def flyte_name(self) -> str:
        """The name flytekit registers the workflow under (its ``name``, normally ``module.function``)."""
        name = getattr(self.instantiate(), "name", None)
        return name if isinstance(name, str) and name else f"{self.package}.{self.function}"


ALL_WORKFLOWS: dict[str, LazyWorkflowInstance] = {}
