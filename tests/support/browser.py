"""Debian's Chromium driven by the PyPI playwright package (never ``playwright install``: no downloads here)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright

CHROMIUM = os.environ.get("AERODROME_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_available() -> bool:
    return Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is not None


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium for one test module, closed afterwards."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def artifacts_dir() -> Path:
    """Where screenshots go: ``test-artifacts/console`` in the checkout (gitignored; CI may keep it)."""
    path = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
    path.mkdir(parents=True, exist_ok=True)
    return path
