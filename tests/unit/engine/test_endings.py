"""An attempt's end is reported from its report pipe before its process has finished exiting (whose
teardown is most of a chain node's time outside flytekit), exactly once: the reaper stays silent for an
attempt that reported, and speaks for one that died without a word."""

from __future__ import annotations

import os
import threading
import time

from aerodrome.engine.launchers.endings import Endings, report


def _fork(then_report: bool) -> tuple[int, int]:
    """A child that reports exit code 3 (or says nothing), then lingers 2 s before it exits."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        if then_report:
            report(write, 3, 0.0)
        time.sleep(2)
        os._exit(3)
    os.close(write)
    return pid, read


def _until(condition: object, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.01)


def test_the_end_is_reported_before_the_exit_and_only_once() -> None:
    lock, sent = threading.Lock(), []
    endings = Endings(lock, sent.append)
    pid, read = _fork(then_report=True)
    with lock:
        endings.watch(pid, read)
    _until(lambda: sent)
    assert sent and sent[0]["pid"] == pid and sent[0]["exit_code"] == 3
    assert os.waitpid(pid, os.WNOHANG) == (0, 0)  # still running: reported ahead of its exit
    os.waitpid(pid, 0)
    with lock:
        assert not endings.reaped(pid)  # the reaper does not report it again

    silent, read = _fork(then_report=False)
    with lock:
        endings.watch(silent, read)
    os.waitpid(silent, 0)
    with lock:
        assert endings.reaped(silent)  # died without a word: the reaper reports it
    time.sleep(0.2)  # the pipe's end is read, and nothing more goes out
    assert len(sent) == 1
