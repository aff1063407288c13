"""Code tarballs with entries outside their root: files are skipped (and reported), escaping links and
devices still refuse the whole tarball."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from aerodrome.engine.launchers.distributions import _extract


def tarball(path: Path, *members: tuple[tarfile.TarInfo, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            info.size = len(data) if info.isfile() else 0
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return path


def entry(name: str, kind: bytes = tarfile.REGTYPE, target: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, target, 0o644
    return info


def test_files_outside_the_root_are_skipped_and_named(tmp_path: Path) -> None:
    archive = tarball(
        tmp_path / "code.tar.gz",
        (entry("workflows/app.py"), b"print('app')"),
        (entry("../.venv/bin/pyflyte"), b"#!/usr/bin/env python"),
        (entry("/abs/elsewhere.py"), b"x = 1"),
    )
    out = tmp_path / "out"
    out.mkdir()
    skipped = _extract(archive, out)
    assert (out / "workflows" / "app.py").read_text() == "print('app')"
    assert skipped == ["../.venv/bin/pyflyte"]
    assert not (tmp_path / ".venv").exists()
    assert (out / "abs" / "elsewhere.py").exists()  # the data filter keeps an absolute name inside the root


@pytest.mark.parametrize(
    "member",
    [entry("link", tarfile.SYMTYPE, "../../etc/passwd"), entry("dev", tarfile.CHRTYPE)],
    ids=["escaping-symlink", "device"],
)
def test_escaping_links_and_devices_still_refuse_the_tarball(tmp_path: Path, member: tarfile.TarInfo) -> None:
    archive = tarball(tmp_path / "code.tar.gz", (entry("ok.py"), b"x = 1"), (member, b""))
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(tarfile.TarError):
        _extract(archive, out)
