"""Fast-registration code distributions, unpacked once per tarball and shared by every attempt.

``pyflyte-fast-execute`` would download and untar the tarball in every attempt and then start
``pyflyte-execute`` as a second Python process (a second flytekit import). The launcher does the first
step itself, once per distinct tarball, and starts ``pyflyte-execute`` directly with the arguments
``pyflyte-fast-execute`` would have added, so each attempt costs one interpreter instead of two.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from aerodrome.blobstore.store import BlobStore

FAST = "pyflyte-fast-execute"


@dataclass(frozen=True)
class FastCommand:
    """A parsed ``pyflyte-fast-execute --additional-distribution U --dest-dir D -- <inner>`` command."""

    distribution: str
    inner: list[str]

    @classmethod
    def parse(cls, args: list[str]) -> FastCommand | None:
        if not args or Path(args[0]).name != FAST or "--" not in args:
            return None
        head, inner = args[1 : args.index("--")], args[args.index("--") + 1 :]
        options = dict(zip(head[::2], head[1::2], strict=False))
        url = options.get("--additional-distribution", "")
        return cls(url, inner) if url.endswith(".tar.gz") and inner else None

    def command(self, code_dir: Path) -> list[str]:
        """The inner command with the arguments pyflyte-fast-execute inserts before ``--resolver``."""
        out: list[str] = []
        for arg in self.inner:
            if arg == "--resolver":
                out += ["--dynamic-addl-distro", self.distribution, "--dynamic-dest-dir", str(code_dir)]
            out.append(arg)
        return out


class DistributionCache:
    """Unpacks each tarball of the blob store once, atomically, under ``root``."""

    def __init__(self, store: BlobStore, root: Path) -> None:
        self.store = store
        self.root = root
        self._locks: dict[str, asyncio.Lock] = {}
        self._skipped: dict[str, list[str]] = {}

    def skipped(self, url: str) -> list[str]:
        """Entries of the tarball left out because they point outside its root (see ``_extract``)."""
        return self._skipped.get(url, [])

    def _in_store(self, url: str) -> bool:
        try:
            self.store.key_of(url)
        except Exception:
            return False
        return True

    async def unpacked(self, url: str) -> Path | None:
        """The directory holding the tarball's contents, or None when it is not ours to unpack."""
        if not self._in_store(url):
            return None
        target = self.root / hashlib.sha256(url.encode()).hexdigest()[:24]
        lock = self._locks.setdefault(url, asyncio.Lock())
        async with lock:
            if not target.exists():
                await self._unpack(url, target)
        return target

    async def _unpack(self, url: str, target: Path) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=self.root, prefix=".unpack-"))
        try:
            archive = staging / "code.tar.gz"
            with archive.open("wb") as out:
                async for chunk in self.store.iter_bytes(url):
                    out.write(chunk)
            code = staging / "code"
            code.mkdir()
            self._skipped[url] = await asyncio.to_thread(_extract, archive, code)
            code.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _extract(archive: Path, destination: Path) -> list[str]:
    """Extract with the ``data`` filter, one member at a time. A file or directory whose path leads
    outside the root (``../script.py``, which flytekit packs when pyflyte runs from ``../.venv``) cannot be
    part of the user's code and is skipped; a link or device that escapes still fails the whole unpack.
    Returns the skipped names."""
    skipped: list[str] = []
    with tarfile.open(archive) as tar:
        for member in tar:
            try:
                tarfile.data_filter(member, str(destination))
            except (tarfile.OutsideDestinationError, tarfile.AbsolutePathError):
                if member.isfile() or member.isdir():
                    if member.name not in skipped:
                        skipped.append(member.name)
                    continue
                raise
            tar.extract(member, destination, filter="data")
    return skipped
