"""The ``local://`` filesystem for files users upload to the embedded (local-directory) store.

The local store answers ``CreateUploadLocation`` with ``local://<path>`` rather than a plain path, so
flytekit treats an upload as remote data, as it does an ``s3://`` one: it neither uploads it again (a
dataclass holding a FlyteFile, FlyteDirectory or StructuredDataset) nor checks it as a path on the
user's machine. fsspec reads ``local://`` with its local filesystem; this subclass, registered for the
``local`` protocol by aerodrome's ``fsspec.specs`` entry point wherever aerodrome is installed (the
task runtime), adds what S3 does and a plain local copy does not: a directory upload that held a single
file comes back as that file's URL, and reading it as a directory yields a directory with the file.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

from fsspec.implementations.local import LocalFileSystem


class UploadedFileSystem(LocalFileSystem):  # type: ignore[misc]
    """LocalFileSystem whose recursive get of a single file puts the file inside the target directory."""

    def get(self, rpath: Any, lpath: Any, recursive: bool = False, **kwargs: Any) -> Any:  # type: ignore[override]
        if isinstance(rpath, str) and isinstance(lpath, str):
            source = self._strip_protocol(rpath).rstrip("/")
            if os.path.isfile(source) and (recursive or lpath.endswith("/") or os.path.isdir(lpath)):
                os.makedirs(lpath, exist_ok=True)
                shutil.copyfile(source, os.path.join(lpath, os.path.basename(source)))
                return None
        return super().get(rpath, lpath, recursive=recursive, **kwargs)
