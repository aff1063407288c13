"""Provider ids (``name:version@device``) and registration bodies, validated completely before any write.

A body that passes here is stored as one row in one transaction, so there is no half-written provider.
Device metadata is checked per device: ``local`` takes an optional code ``path`` (a directory) and an
optional ``venv`` (a Python interpreter, the server's own when absent); ``docker`` an ``image`` and a
``base_url``; ``k8s`` an ``image`` and a ``namespace``; ``ray`` an ``address`` and an optional
``runtime_env``. Unknown fields are refused, never silently dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from aerodrome.errors import InvalidArgument

DEVICES = ("local", "docker", "k8s", "ray")
_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+\-]*$")
MAX_PART = 100


@dataclass(frozen=True, order=True)
class ProviderId:
    """The canonical identity of a provider."""

    name: str
    version: str
    device: str

    def __str__(self) -> str:
        return f"{self.name}:{self.version}@{self.device}"

    @classmethod
    def parse(cls, text: str) -> ProviderId:
        """``name:version@device``, each part checked; anything else is a clear InvalidArgument."""
        if (
            not isinstance(text, str)
            or text.count(":") != 1
            or text.count("@") != 1
            or text.index(":") > text.index("@")
        ):
            raise InvalidArgument(f"provider {text!r} is not of the form name:version@device (e.g. fate:2.0.1@local)")
        name, rest = text.split(":")
        version, device = rest.split("@")
        return cls.of(name, version, device)

    @classmethod
    def of(cls, name: str, version: str, device: str) -> ProviderId:
        for field, value in (("name", name), ("version", version)):
            check_part(field, value)
        if device not in DEVICES:
            raise InvalidArgument(f"device {device!r} is not supported; use one of {', '.join(DEVICES)}")
        return cls(name, version, device)


def check_part(field: str, value: object) -> None:
    """A name or version: non-empty, no ``:`` or ``@`` (they delimit the id), no spaces, at most 100 chars."""
    if not isinstance(value, str) or not value:
        raise InvalidArgument(f"missing provider {field}")
    if ":" in value or "@" in value:
        raise InvalidArgument(f"provider {field} {value!r} must not contain ':' or '@'")
    if len(value) > MAX_PART or not _PART.match(value):
        raise InvalidArgument(
            f"provider {field} {value!r} must be at most {MAX_PART} letters, digits, '.', '_', '+' or '-', "
            "starting with a letter or digit"
        )


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class LocalMetadata(_Strict):
    path: str | None = Field(None, min_length=1)
    venv: str | None = Field(None, min_length=1)


class DockerMetadata(_Strict):
    image: str = Field(min_length=1)
    base_url: str = Field(min_length=1)


class K8sMetadata(_Strict):
    image: str = Field(min_length=1)
    namespace: str = Field(min_length=1)


class RayMetadata(_Strict):
    address: str = Field(min_length=1)
    runtime_env: dict[str, Any] | None = None


METADATA: dict[str, type[_Strict]] = {
    "local": LocalMetadata,
    "docker": DockerMetadata,
    "k8s": K8sMetadata,
    "ray": RayMetadata,
}


@dataclass(frozen=True)
class ProviderSpec:
    """A validated registration body (metadata normalised: unset optional fields left out)."""

    id: ProviderId
    metadata: dict[str, Any]
    components_description: dict[str, Any]


def _pydantic_message(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "metadata"
        parts.append(f"{where}: {error['msg'].lower()}")
    return "; ".join(parts)


def parse_spec(body: object) -> ProviderSpec:
    """The whole body of a registration, every problem named (schema only: paths are checked by the manager)."""
    if not isinstance(body, dict):
        raise InvalidArgument("the provider must be a JSON object with name, version, device and metadata")
    allowed = {"name", "version", "device", "metadata", "components_description"}
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise InvalidArgument(f"unknown provider field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
    missing = [f for f in ("name", "version", "device") if not body.get(f)]
    if missing:
        raise InvalidArgument(f"missing provider field(s): {', '.join(missing)}")
    ident = ProviderId.of(body["name"], body["version"], body["device"])
    raw = body.get("metadata", {})
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise InvalidArgument("provider metadata must be a JSON object")
    try:
        metadata = METADATA[ident.device].model_validate(raw).model_dump(exclude_none=True)
    except ValidationError as exc:
        raise InvalidArgument(f"invalid metadata for device {ident.device}: {_pydantic_message(exc)}") from None
    components = body.get("components_description") or {}
    if not isinstance(components, dict) or not all(isinstance(k, str) and k for k in components):
        raise InvalidArgument("components_description must be a JSON object keyed by component name")
    return ProviderSpec(ident, metadata, components)
