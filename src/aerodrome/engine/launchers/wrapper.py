"""Runs one task command and records what it cost (stdlib only: it runs under the task's interpreter).

Usage: ``python wrapper.py <usage.json> -- <command> [args...]``. Forwards SIGTERM/SIGINT to the command,
ends it when the server dies, waits for it, then writes ``{"exit_code", "cpu_seconds", "peak_rss_bytes"}``
measured over the command and everything it started (pyflyte-fast-execute starts pyflyte-execute as a child).
"""

import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time


def _watch_parent(parent: int) -> None:
    """When the server dies (killed without a word) this process is re-parented: end the command and
    everything it started (our process group), since another server resumes the execution elsewhere."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os.killpg(os.getpgrp(), signal.SIGKILL)


def main() -> int:
    usage_path, separator, *command = sys.argv[1:]
    assert separator == "--" and command, "usage: wrapper.py <usage.json> -- <command>"
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    child = subprocess.Popen(command)

    def forward(signum: int, _frame: object) -> None:
        child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    code = child.wait()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(usage_path, "w") as out:
        json.dump(
            {
                "exit_code": code,
                "cpu_seconds": usage.ru_utime + usage.ru_stime,
                "peak_rss_bytes": usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024),
            },
            out,
        )
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())
