"""Provider ids and registration bodies: every part validated before anything is written."""

from __future__ import annotations

import pytest

from aerodrome.errors import InvalidArgument
from aerodrome.managers.validation.providers import ProviderId, parse_spec


def test_canonical_id_round_trips() -> None:
    ident = ProviderId.parse("fate:2.0.1@local")
    assert (ident.name, ident.version, ident.device) == ("fate", "2.0.1", "local")
    assert str(ident) == "fate:2.0.1@local"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("fate", "not of the form"),
        ("fate@local:1", "not of the form"),
        ("fa:te:1@local", "not of the form"),
        ("fate:1@lo@cal", "not of the form"),
        (":1@local", "missing provider name"),
        ("fate:@local", "missing provider version"),
        ("fate:1@gpu", "device 'gpu' is not supported"),
        ("fa te:1@local", "must be at most 100 letters"),
    ],
)
def test_malformed_ids(text: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        ProviderId.parse(text)


def test_parts_with_delimiters_are_refused_in_bodies() -> None:
    with pytest.raises(InvalidArgument, match="provider version '2:0' must not contain ':' or '@'"):
        parse_spec({"name": "fate", "version": "2:0", "device": "local"})


@pytest.mark.parametrize(
    ("device", "metadata", "kept"),
    [
        ("local", {}, {}),
        ("local", {"path": "/code", "venv": None}, {"path": "/code"}),
        (
            "docker",
            {"image": "fate:2", "base_url": "unix:///d.sock"},
            {"image": "fate:2", "base_url": "unix:///d.sock"},
        ),
        ("k8s", {"image": "fate:2", "namespace": "fate"}, {"image": "fate:2", "namespace": "fate"}),
        ("ray", {"address": "ray://h:10001", "runtime_env": {"pip": ["x"]}}, None),
    ],
)
def test_metadata_per_device(device: str, metadata: dict[str, object], kept: dict[str, object] | None) -> None:
    spec = parse_spec({"name": "p", "version": "1", "device": device, "metadata": metadata})
    assert spec.metadata == (metadata if kept is None else kept)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "p", "version": "1", "device": "docker", "metadata": {"image": "x"}}, "base_url: field required"),
        ({"name": "p", "version": "1", "device": "k8s", "metadata": {"image": "x"}}, "namespace: field required"),
        ({"name": "p", "version": "1", "device": "local", "metadata": {"image": "x"}}, "image: extra inputs"),
        ({"name": "p", "version": "1", "device": "local", "metadata": {"venv": 3}}, "venv: input should be"),
        ({"name": "p", "version": "1", "device": "local", "metadata": []}, "metadata must be a JSON object"),
        ({"name": "p", "device": "local"}, "missing provider field"),
        ({"name": "p", "version": "1", "device": "local", "protocol": "x"}, "unknown provider field"),
        ([1], "must be a JSON object"),
    ],
)
def test_invalid_bodies(body: object, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        parse_spec(body)
