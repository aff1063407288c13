"""Keys are deterministic and nothing a client sends can make one escape its prefix."""

from __future__ import annotations

import hashlib

import pytest

from aerodrome.blobstore import layout
from aerodrome.errors import InvalidArgument


@pytest.mark.parametrize(
    "name",
    ["../x", "../../x", "a/../../x", "/etc/passwd", "a//b", "a/./b", ".", "..", "a\\..\\b", "x\x00y", ""],
)
def test_escaping_names_are_rejected(name: str) -> None:
    with pytest.raises(InvalidArgument):
        layout.upload_key("p", "d", "root", name)
    with pytest.raises(InvalidArgument):
        layout.upload_key("p", "d", name, "file.txt")


def test_project_domain_and_ids_are_single_segments() -> None:
    with pytest.raises(InvalidArgument):
        layout.upload_key("p/q", "d", "r", "f")
    with pytest.raises(InvalidArgument):
        layout.execution_key("p", "d", "a/b")
    with pytest.raises(InvalidArgument):
        layout.node_key("p", "d", "e", "../n")


def test_upload_key_keeps_the_filename_as_basename() -> None:
    digest = hashlib.md5(b"x").digest()
    key = layout.upload_key("flytesnacks", "development", layout.md5_root(digest), "fastabc.tar.gz")
    assert key == f"flytesnacks/development/uploads/{layout.md5_root(digest)}/fastabc.tar.gz"
    assert layout.upload_key("p", "d", "a/b", "c/d.txt") == "p/d/uploads/a/b/c/d.txt"


def test_md5_root_is_flyteadmins_standard_base32() -> None:
    assert layout.md5_root(bytes(16)) == "AAAAAAAAAAAAAAAAAAAAAAAAAA======"


def test_execution_and_node_keys() -> None:
    assert layout.execution_key("p", "d", "abc") == "p/d/executions/abc"
    assert layout.node_key("p", "d", "abc", "n0") == "p/d/executions/abc/n0"
    assert layout.node_key("p", "d", "abc", "n0", 2) == "p/d/executions/abc/n0/2"
