"""Issue 16, stale sources: a document withdrawn, repealed or past its ``expires`` date is never answered from,
and a citation shows the source's date. Checked when the question is asked: no re-index on the day."""

from __future__ import annotations

import shutil
from datetime import date, timedelta

import pytest
from helpers import FIXTURE_CORPUS, build_index, make_assistant, make_settings

from zhengwu.answering.citations import render_plain
from zhengwu.retrieval.retriever import Retriever

GUIDE = "11440000006940140C2440106013004"  # 弩的运输审批, updated 2021-05-26
QUESTION = "弩的运输审批的咨询电话是多少？"


def corpus_with(tmp_path, front_matter: str):
    corpus = tmp_path / "corpus"
    shutil.copytree(FIXTURE_CORPUS, corpus)
    path = corpus / "guides" / f"{GUIDE}.md"
    path.write_text(path.read_text(encoding="utf-8").replace("status: active\n", front_matter), encoding="utf-8")
    return corpus


@pytest.mark.parametrize("front_matter", [
    "status: withdrawn\n",
    f"status: active\nexpires: '{date.today().isoformat()}'\n",  # from this day on
])
def test_a_withdrawn_or_expired_guide_is_not_answered_from(tmp_path, front_matter):
    settings = make_settings(tmp_path / "data")
    index = build_index(settings, corpus_with(tmp_path, front_matter))
    try:
        hits = Retriever(index).retrieve(QUESTION, k=10)
        assert GUIDE not in [h.doc.doc_id for h in hits]
        answer = make_assistant(settings, index).ask(QUESTION)
        assert GUIDE not in [c.doc_id for c in answer.citations]
    finally:
        index.close()


def test_a_guide_expiring_later_is_answered_until_its_day_and_shows_its_date(tmp_path, monkeypatch):
    tomorrow = date.today() + timedelta(days=1)
    settings = make_settings(tmp_path / "data")
    index = build_index(settings, corpus_with(tmp_path, f"status: active\nexpires: '{tomorrow.isoformat()}'\n"))
    try:
        retriever = Retriever(index)
        assert retriever.retrieve(QUESTION, k=3)[0].doc.doc_id == GUIDE
        answer = make_assistant(settings, index).ask(QUESTION)
        [cited] = [c for c in answer.citations if c.doc_id == GUIDE][:1]
        assert cited.updated == "2021-05-26" and "（更新于 2021-05-26）" in render_plain(answer)

        class Tomorrow(date):
            @classmethod
            def today(cls) -> date:
                return tomorrow

        monkeypatch.setattr("zhengwu.retrieval.retriever.date", Tomorrow)  # the day comes; nothing re-indexed
        assert GUIDE not in [h.doc.doc_id for h in retriever.retrieve(QUESTION, k=10)]
    finally:
        index.close()
