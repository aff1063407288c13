"""``pyflyte-fast-execute`` in a zygote's child on a Ray worker (``zygote.py``): the code tarball unpacked
once per tarball, then the inner ``pyflyte-execute`` run in-process with the arguments
``pyflyte-fast-execute`` would add. Standard library and flytekit only (shipped beside ``zygote.py``).
"""

import contextlib
import os
import sys

UNPACKED = ".aerodrome-unpacked"


def unpacked(argv: list[str]) -> list[str]:
    """``pyflyte-fast-execute --additional-distribution U --dest-dir D -- <inner>``: unpack U into D unless
    an earlier attempt did (D is per tarball; with the attempt's storage settings, read from the environment
    now) and return the inner command."""
    import shutil
    import tarfile
    import tempfile

    split = argv.index("--")
    options = dict(zip(argv[1:split:2], argv[2:split:2], strict=False))
    url, dest = options["--additional-distribution"], options.get("--dest-dir") or os.getcwd()
    if not os.path.exists(os.path.join(dest, UNPACKED)):
        from flytekit.configuration import DataConfig  # type: ignore[import-untyped]
        from flytekit.core.data_persistence import FileAccessProvider  # type: ignore[import-untyped]

        staging = tempfile.mkdtemp(dir=os.path.dirname(os.path.abspath(dest)), prefix=".unpack-")
        files = FileAccessProvider(tempfile.mkdtemp(), staging, data_config=DataConfig.auto())
        files.get_data(url, os.path.join(staging, ""))
        with tarfile.open(os.path.join(staging, os.path.basename(url))) as tar:
            for member in tar:  # entries outside the root (``../x.py``) are not the user's code: skipped
                with contextlib.suppress(tarfile.OutsideDestinationError, tarfile.AbsolutePathError):
                    tar.extract(member, staging, filter="data")
        open(os.path.join(staging, UNPACKED), "w").close()
        try:
            os.rename(staging, dest)  # atomic; an attempt that unpacked the same tarball first wins
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
    sys.path.insert(0, dest)
    inner: list[str] = []
    for arg in argv[split + 1 :]:
        if arg == "--resolver":
            inner += ["--dynamic-addl-distro", url, "--dynamic-dest-dir", dest]
        inner.append(arg)
    return inner
