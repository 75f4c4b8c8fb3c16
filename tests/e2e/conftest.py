"""The real default index of the whole bundled corpus (about a minute and a half with its vector pack), built once
per session for the regression gates that read it (test_gold, test_refusal_bank)."""

import pytest
from helpers import REPO_ROOT, build_index, make_assistant

from zhengwu.config import Settings

CORPUS = REPO_ROOT / "corpus"


@pytest.fixture(scope="session")
def corpus_assistant(tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("corpus-index"), corpus_dir=CORPUS)
    index = build_index(settings, CORPUS)
    yield make_assistant(settings, index)
    index.close()
