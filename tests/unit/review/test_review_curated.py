"""Curated answers in the assistant: which questions a published answer serves (paraphrases yes, other fields,
items and places no), how it is given (status, path, citations from its sources), and how publication,
new versions, withdrawal and removed source documents reach every worker."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from helpers import make_assistant
from helpers.databases import BACKENDS, migrated_engine

from zhengwu.answering.assistant import Assistant
from zhengwu.db import make_engine, upgrade
from zhengwu.personal import PeopleStore
from zhengwu.pii import mask_pii
from zhengwu.review import ReviewStore, Source
from zhengwu.review.curated import COSINE_MIN, OVERLAP_MIN, CuratedAnswers

ELDERLY = "fixture-policy-elderly-care"
SOURCE = [Source(ELDERLY, "", "申请方式")]
MISSED = "失能老人补贴去哪申请？"  # the fixture corpus answers it by quoting the policy; staff write a better answer
CORRECTED = "失能老人可申请居家养老服务补贴：向户籍所在地街道办事处提出申请，街道办事处在十个工作日内完成审核。"


@pytest.fixture(params=BACKENDS)
def engine(request, tmp_path) -> Iterator[sa.Engine]:
    with migrated_engine(request.param, tmp_path, "curated.sqlite3") as engine:
        yield engine


@pytest.fixture
def store(engine) -> ReviewStore:
    return ReviewStore(engine)


@pytest.fixture
def assistant(engine, fixture_settings, fixture_index) -> Assistant:
    return make_assistant(fixture_settings, fixture_index, people=PeopleStore(engine, mask=mask_pii))


@pytest.fixture(scope="module")
def matcher_store(tmp_path_factory) -> Iterator[ReviewStore]:
    """One SQLite store for the matching tables below (matching does not depend on the backend)."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('match') / 'm.sqlite3'}")
    upgrade(engine)
    yield ReviewStore(engine)
    engine.dispose()


PARAPHRASES = [
    ("居住证在哪办理", "在哪里办理居住证"),
    ("居住证在哪办理", "居住证在哪里办？"),
    ("居住证在哪办理", "办居住证去哪里"),
    ("居住证在哪办理", "居住证办理地点在哪"),
    ("弩的运输审批需要多长时间", "弩的运输审批要多久"),
    ("实验动物生产许可的咨询电话是多少", "实验动物生产许可电话多少"),
    ("养老服务补贴怎么申请", "如何申请养老服务补贴"),
    ("社保卡丢了怎么补办", "社保卡遗失如何补办"),
    ("新生儿怎么上户口", "新生儿上户口怎么办理"),
    ("公积金怎么提取", "住房公积金如何提取"),
    (MISSED, "失能老人补贴在哪里申请？"),
    (MISSED, "在哪申请失能老人补贴"),
]
DIFFERENT = [
    ("居住证在哪办理", "居住证要什么材料"),  # another field
    ("居住证在哪办理", "居住证办理需要多久"),
    ("居住证在哪办理", "居住证的咨询电话"),
    ("弩的运输审批需要多长时间", "弩的运输审批需要什么材料"),
    (MISSED, "失能老人补贴每月多少钱"),
    (MISSED, "失能老人补贴需要什么条件"),
    ("居住证在哪办理", "身份证在哪里办理"),  # another item
    ("居住证在哪办理", "护照在哪办理"),
    ("弩的运输审批需要多长时间", "弩的销售审批需要多长时间"),
    ("实验动物生产许可的咨询电话是多少", "实验动物使用许可的咨询电话是多少"),
    ("社保卡丢了怎么补办", "医保卡丢了怎么补办"),
    ("公积金怎么提取", "公积金怎么贷款"),
    (MISSED, "残疾人补贴去哪申请"),
    ("居住证在哪办理", "深圳市居住证在哪办理"),  # another place
]


@pytest.mark.parametrize("curated, asked", PARAPHRASES, ids=[a for _, a in PARAPHRASES])
def test_a_paraphrase_gets_the_curated_answer(matcher_store, fixture_index, curated, asked):
    entry = matcher_store.publish(curated, "答案", SOURCE, "test")
    try:
        found = CuratedAnswers(matcher_store, fixture_index).matches(asked)
        assert [m.entry.id for m in found] == [entry.id]
        assert found[0].overlap >= OVERLAP_MIN and found[0].cosine >= COSINE_MIN
    finally:
        matcher_store.withdraw(entry.id, "test")


@pytest.mark.parametrize("curated, asked", DIFFERENT, ids=[a for _, a in DIFFERENT])
def test_another_field_item_or_place_does_not(matcher_store, fixture_index, curated, asked):
    entry = matcher_store.publish(curated, "答案", SOURCE, "test")
    try:
        assert CuratedAnswers(matcher_store, fixture_index).matches(asked) == []
    finally:
        matcher_store.withdraw(entry.id, "test")


def test_the_same_question_however_typed_is_an_exact_match(matcher_store, fixture_index):
    entry = matcher_store.publish("居住证在哪办理？", "答案", SOURCE, "test")
    try:
        for asked in ("居住证在哪办理", " 居住證 在哪辦理? ", "居住证在哪办理！！"):
            assert [(m.entry.id, m.how) for m in CuratedAnswers(matcher_store, fixture_index).matches(asked)] == [
                (entry.id, "exact")]
    finally:
        matcher_store.withdraw(entry.id, "test")


# -- in the assistant -----------------------------------------------------------------------------------------


def test_published_answer_replaces_retrieval_until_withdrawn(assistant, store):
    before = assistant.ask(MISSED)
    assert before.path == "composer" and before.text != CORRECTED
    if before.status == "answered":  # quoting the passage that says where one applies, not who may apply
        assert before.citations[0].section == "申请方式" and "街道办事处" in before.text

    v1 = store.publish(MISSED, CORRECTED, SOURCE, "console:alice")
    answer = assistant.ask(MISSED)
    assert answer.status == "answered" and answer.path == "curated:v1" and answer.text == CORRECTED
    [citation] = answer.citations
    assert (citation.n, citation.doc_id, citation.section) == (1, ELDERLY, "申请方式")
    assert citation.title == "广州市居家养老服务补贴办法（测试样例）"  # from the index, as it is now
    assert citation.source_url == "https://example.invalid/policy/elderly-care" and "街道办事处" in citation.snippet
    assert answer.retrieved == [ELDERLY]
    logged = store.turn(answer.turn_id)
    assert logged.path == "curated:v1" and logged.citations[0]["doc_id"] == ELDERLY and logged.status == "answered"

    paraphrase = assistant.ask("在哪里申请失能老人补贴")
    assert paraphrase.path == "curated:v1" and paraphrase.citations[0].doc_id == ELDERLY
    other_field = assistant.ask("失能老人补贴每月多少钱？")
    assert not other_field.path.startswith("curated")

    store.publish(MISSED, CORRECTED + "（第二版）", SOURCE, "console:alice")
    assert assistant.ask(MISSED).path == "curated:v2"
    assert store.curated(v1.id).status == "withdrawn"

    for entry in store.curated_list(status="published"):
        store.withdraw(entry.id, "console:alice")
    after = assistant.ask(MISSED)
    assert after.path == "composer" and (after.status, after.text) == (before.status, before.text)


def test_refusals_by_rule_come_before_curated_answers(assistant, store):
    store.publish("帮我写一首关于秋天的诗", "不应出现", SOURCE, "console:alice")
    answer = assistant.ask("帮我写一首关于秋天的诗")
    assert answer.status == "refused" and answer.reason == "out_of_scope"


def test_a_follow_up_means_the_conversation_not_a_curated_question(assistant, store):
    store.publish("电话呢？", "这是标准答案。", SOURCE, "console:alice")
    assistant.ask("弩的运输审批在哪里办理？", session="f" * 32, user={"region": "广州市"})
    follow = assistant.ask("电话呢？", session="f" * 32)
    assert not follow.path.startswith("curated") and "020-12345" in follow.text
    fresh = assistant.ask("电话呢？", session="e" * 32)  # nothing to follow: the curated question it is
    assert fresh.path == "curated:v1"


def test_an_answer_whose_sources_are_gone_is_skipped(assistant, store, caplog):
    gone = store.publish(MISSED, CORRECTED, [Source("removed-doc", "旧文件", "申请方式")], "console:alice")
    with caplog.at_level(logging.WARNING, logger="zhengwu.review.curated"):
        first = assistant.ask(MISSED)
        assistant.ask(MISSED)
    assert first.path == "composer"
    warnings = [r for r in caplog.records if "none of its source documents" in r.getMessage()]
    assert len(warnings) == 1 and f"curated answer {gone.id}" in warnings[0].getMessage()  # warned once

    store.publish(MISSED, CORRECTED, [Source("removed-doc", "旧文件"), Source(ELDERLY, "", "补贴对象")], "console:a")
    mixed = assistant.ask(MISSED)
    assert mixed.path == "curated:v2" and [(c.n, c.doc_id, c.section) for c in mixed.citations] == [
        (1, ELDERLY, "补贴对象")]


def test_every_worker_sees_a_publication_and_a_withdrawal(engine, store, fixture_settings, fixture_index):
    workers = [make_assistant(fixture_settings, fixture_index, people=PeopleStore(engine, mask=mask_pii))
               for _ in range(2)]
    assert all(w.ask(MISSED).path == "composer" for w in workers)  # both have loaded (no entries)
    entry = store.publish(MISSED, CORRECTED, SOURCE, "console:alice")
    assert [w.ask(MISSED).path for w in workers] == ["curated:v1", "curated:v1"]
    store.withdraw(entry.id, "console:alice")
    assert [w.ask(MISSED).path for w in workers] == ["composer", "composer"]


def test_a_broken_curated_store_does_not_cost_the_answer(assistant, store, monkeypatch):
    def broken(_question):
        raise RuntimeError("database went away")

    monkeypatch.setattr(assistant.curated, "answer", broken)
    answer = assistant.ask("实验动物生产许可的咨询电话是多少？")
    assert answer.status == "answered" and "020-84106805" in answer.text


def test_without_a_people_store_there_are_no_curated_answers(fixture_settings, fixture_index):
    assistant = make_assistant(fixture_settings, fixture_index)
    assert assistant.curated is None and assistant.ask(MISSED).turn_id is None
