"""The zygote's rehearsal of pyflyte-execute: it runs a task for real and leaves nothing of itself behind
(directory, import path, environment, streams, flytekit's loop thread, files) in the process that forks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import aerodrome.engine.launchers.zygote as zygote

PROBE = """
import json, os, sys, tempfile, threading
sys.path.insert(0, sys.argv[1])
from flytekit.bin import entrypoint
import rehearsal
before = (os.getcwd(), list(sys.path), dict(os.environ), sorted(os.listdir(tempfile.gettempdir())))
failure = rehearsal.rehearse(entrypoint)
print("to stdout")
after = (os.getcwd(), list(sys.path), dict(os.environ), sorted(os.listdir(tempfile.gettempdir())))
threads = [t.name for t in threading.enumerate()]
print(json.dumps({"failure": failure, "same": before == after, "threads": threads,
                  "module": "_aerodrome_rehearsal" in sys.modules}))
"""


def test_the_rehearsal_runs_a_task_and_leaves_no_trace(tmp_path: Path) -> None:
    here = str(Path(zygote.__file__).parent)
    env = {"PATH": "/usr/bin:/bin", "TMPDIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, here], capture_output=True, text=True, env=env, timeout=300, check=True
    )
    lines = done.stdout.splitlines()
    assert lines[0] == "to stdout"  # the streams are back (the rehearsal's own output went nowhere)
    report = json.loads(lines[1])
    # "same": directory, path, environment and the temporary directory's entries (flytekit's own import
    # makes some there, before) are as they were
    assert report == {"failure": "", "same": True, "threads": ["MainThread"], "module": False}
