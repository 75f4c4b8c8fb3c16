"""Headless Debian Chromium driven by Playwright, for the browser tests (nothing is downloaded). A module calls
``playwright_or_skip()`` at import: without Chromium or Playwright its tests are skipped with the reason."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium keeps calling out, and this machine's closed network refuses.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def playwright_or_skip() -> ModuleType:
    """``playwright.sync_api``, or a module-level skip naming what is missing."""
    if not CHROMIUM.exists():
        pytest.skip("browser tests need Debian chromium at /usr/bin/chromium (apt-get install chromium)",
                    allow_module_level=True)
    pytest.importorskip("uvicorn", reason="browser tests need uvicorn")
    return pytest.importorskip("playwright.sync_api", reason="browser tests need playwright for Python")


@contextmanager
def chromium(playwright_sync: ModuleType) -> Iterator[Any]:
    with playwright_sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
