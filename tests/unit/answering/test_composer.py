"""The offline composer (``zhengwu.answering.composer``): every sentence it writes is a fixed frame or text copied
from a chunk, with the citation of that chunk. The documents are small and synthetic, stored in a real chunk
store (no vectors needed), so each test says exactly which text an answer must come from."""

from __future__ import annotations

import re

import pytest
from helpers import store_documents

from zhengwu.answering.composer import compose
from zhengwu.documents import Document
from zhengwu.index.chunking import chunk_document, make_chunk_id
from zhengwu.index.store import ChunkStore
from zhengwu.retrieval.retriever import DocHit

GUIDE_BODY = """# 犬只登记

## 基本信息
- 事项名称：犬只登记
- 实施主体：{dept}
- 服务对象：自然人

## 申请材料
1. 居民身份证
2. 狂犬病免疫证明

## 办理时限
- 法定办结时限：20个工作日
- 承诺办结时限：5个工作日

## 办理地点
{place}

## 咨询电话
{phone}
"""

LAW_BODY = """# 动物防疫条例

第一条 为了加强动物防疫，制定本条例。

第二十条 饲养犬只的单位和个人应当定期对犬只进行狂犬病免疫，并向所在地动物诊疗机构申请登记。

第二十一条 犬只免疫证明有效期届满前三十日内，饲养人应当重新办理免疫。
"""


def guide(doc_id: str, region: str, phone: str, place: str = "市民服务中心一楼", dept: str = "公安局") -> Document:
    return Document(doc_id=doc_id, title="犬只登记", body=GUIDE_BODY.format(phone=phone, place=place, dept=dept),
                    doc_type="service_guide", region=region, department=dept, source_url=f"https://gov.example/{doc_id}",
                    extra={"item_name": "犬只登记"})


LAW = Document(doc_id="law-dogs", title="动物防疫条例", body=LAW_BODY, doc_type="law", region="全国",
               source_url="https://gov.example/law")


@pytest.fixture
def store(tmp_path):
    store = ChunkStore(tmp_path / "chunks.sqlite3")
    store_documents(store, [guide("gz", "广州市", "020-11112222"), guide("sz", "深圳市", "0755-33334444"),
                            guide("none", "珠海市", "无"), LAW])
    yield store
    store.close()


def hit(store: ChunkStore, doc_id: str, chunks: list[tuple[str, float]] | None = None) -> DocHit:
    return DocHit(doc=store.documents()[doc_id], score=1.0, chunks=chunks or [])


def test_the_field_asked_is_listed_under_the_item_header_with_its_citation(store):
    answer = compose("犬只登记的咨询电话是多少？", [hit(store, "gz")], store, fields=["phone"])
    assert answer.status == "answered"
    assert answer.text == "「犬只登记」（广州市 · 公安局）\n- 咨询电话：020-11112222 [1]"
    [citation] = answer.citations
    assert (citation.n, citation.doc_id, citation.section, citation.region) == (1, "gz", "咨询电话", "广州市")
    assert citation.source_url == "https://gov.example/gz" and citation.snippet == "020-11112222"


def test_a_field_the_guide_leaves_empty_is_said_so_without_a_citation(store):
    answer = compose("犬只登记的电话？", [hit(store, "none")], store, fields=["phone"])
    assert answer.text == "「犬只登记」（珠海市 · 公安局）\n- 办事指南未列出咨询电话。"
    assert answer.citations == []


def test_several_fields_are_listed_under_one_header_each_citing_its_own_section(store):
    answer = compose("犬只登记要带什么材料，多久办好，电话多少？", [hit(store, "gz")], store,
                     fields=["materials", "time_limit", "phone"])
    assert answer.text.splitlines() == [
        "「犬只登记」（广州市 · 公安局）",
        "- 申请材料 [1]：",
        "  1. 居民身份证",
        "  2. 狂犬病免疫证明",
        "- 办理时限：承诺5个工作日，法定20个工作日 [2]",
        "- 咨询电话：020-11112222 [3]",
    ]
    assert answer.text.count("犬只登记") == 1 and answer.text.count("公安局") == 1
    assert [(c.n, c.section) for c in answer.citations] == [(1, "申请材料"), (2, "办理时限"), (3, "咨询电话")]


def test_the_same_item_in_two_regions_gets_one_header_per_item(store):
    group = [hit(store, "gz"), hit(store, "sz")]
    answer = compose("犬只登记的咨询电话", group, store, fields=["phone"], same_item=group)
    assert answer.text.splitlines() == [
        "「犬只登记」在多个地区都有办理，分别如下：",
        "「犬只登记」（广州市 · 公安局）",
        "- 咨询电话：020-11112222 [1]",
        "「犬只登记」（深圳市 · 公安局）",
        "- 咨询电话：0755-33334444 [2]",
    ]
    assert [c.region for c in answer.citations] == ["广州市", "深圳市"]


def test_no_field_asked_gives_the_overview_as_the_same_list(store):
    answer = compose("犬只登记怎么办", [hit(store, "gz")], store, fields=[])
    lines = answer.text.splitlines()
    assert lines[0] == "「犬只登记」（广州市 · 公安局）"
    assert lines[1:] == ["- 申请材料 [1]：", "  1. 居民身份证", "  2. 狂犬病免疫证明", "- 办理地点：市民服务中心一楼 [2]",
                         "- 办理时限：承诺5个工作日，法定20个工作日 [3]", "- 咨询电话：020-11112222 [4]"]
    assert "未列出" not in answer.text
    assert len(answer.citations) == 4 and len({c.section for c in answer.citations}) == 4


def test_the_overview_leaves_out_what_the_guide_leaves_empty_and_numbers_only_what_it_shows(store):
    answer = compose("犬只登记", [hit(store, "none")], store, fields=[])
    assert "电话" not in answer.text and "未列出" not in answer.text
    numbers = [int(n) for n in re.findall(r"\[(\d+)\]", answer.text)]
    assert numbers == sorted(numbers) == [c.n for c in answer.citations]


def test_a_law_answer_quotes_the_article_without_its_number_and_cites_it(store):
    article = make_chunk_id("law-dogs", "第二十条")
    answer = compose("养狗要登记吗", [hit(store, "law-dogs", [(article, 9.0)])], store, fields=[])
    assert answer.text == ("根据《动物防疫条例》第二十条：饲养犬只的单位和个人应当定期对犬只进行狂犬病免疫，"
                           "并向所在地动物诊疗机构申请登记。 [1]")
    [citation] = answer.citations
    assert citation.section == "第二十条" and citation.doc_type == "law" and citation.snippet.startswith("第二十条")


def test_an_article_holding_the_kind_of_value_asked_comes_first(store):
    """A question asking how long ("多少天") prefers the article that states a period over one that only shares
    more words with the question."""
    registration, period = make_chunk_id("law-dogs", "第二十条"), make_chunk_id("law-dogs", "第二十一条")
    chunks = [(registration, 10.0), (period, 8.0)]
    answer = compose("狗的免疫证明到期前多少天要重新办", [hit(store, "law-dogs", chunks)], store, fields=[])
    first = answer.text.splitlines()[0]
    assert first.startswith("根据《动物防疫条例》第二十一条：") and "三十日" in first
    assert [c.section for c in answer.citations] == ["第二十一条", "第二十条"]


def test_a_weak_runner_up_article_is_not_quoted(store):
    registration, period = make_chunk_id("law-dogs", "第二十条"), make_chunk_id("law-dogs", "第二十一条")
    answer = compose("养狗要登记吗", [hit(store, "law-dogs", [(registration, 10.0), (period, 2.0)])], store, fields=[])
    assert [c.section for c in answer.citations] == ["第二十条"]


def _add_law(store: ChunkStore, doc_id: str, title: str, article: str) -> None:
    law = Document(doc_id=doc_id, title=title, body=f"# {title}\n\n{article}\n", doc_type="law", region="全国",
                   source_url=f"https://gov.example/{doc_id}")
    store_documents(store, [law])


@pytest.mark.parametrize("runner_up, quoted", [(0.95, ["动物防疫条例", "养犬管理规定"]), (0.6, ["动物防疫条例"])])
def test_a_second_law_is_quoted_only_when_it_scores_nearly_as_well(store, runner_up, quoted):
    _add_law(store, "law-keeping", "养犬管理规定", "第十条 养犬人应当为其饲养的犬只申请登记。")
    first = hit(store, "law-dogs", [(make_chunk_id("law-dogs", "第二十条"), 1.0)])
    second = hit(store, "law-keeping", [(make_chunk_id("law-keeping", "第十条"), 1.0)])
    second.score = runner_up
    answer = compose("养狗要登记吗", [first, second], store, fields=[])
    assert [c.title for c in answer.citations] == quoted


def test_a_close_second_law_about_something_else_is_not_cited(store):
    """公司法 on a reserve fund scores as well, but shares nothing the question is about: no citation."""
    _add_law(store, "law-other", "公司法", "第二百一十条 公司分配当年税后利润时，应当提取利润的百分之十列入公司法定公积金。")
    first = hit(store, "law-dogs", [(make_chunk_id("law-dogs", "第二十条"), 1.0)])
    second = hit(store, "law-other", [(make_chunk_id("law-other", "第二百一十条"), 1.0)])
    second.score = 0.95
    answer = compose("养狗要登记吗", [first, second], store, fields=[])
    assert [c.title for c in answer.citations] == ["动物防疫条例"] and "公司" not in answer.text


def test_a_policy_passage_that_looks_like_the_field_asked_is_quoted(tmp_path):
    body = "# 补贴办法\n\n## 补贴对象\n\n年满六十周岁的老年人可以申请补贴。\n\n## 申请方式\n\n向户籍所在地街道办事处提出申请。\n"
    policy = Document(doc_id="policy", title="补贴办法", body=body, doc_type="policy", region="广州市",
                      source_url="https://gov.example/policy")
    store = ChunkStore(tmp_path / "policy.sqlite3")
    store_documents(store, [policy])
    chunks = chunk_document(policy)
    by_words = [(chunks[0].chunk_id, 1.0), (chunks[1].chunk_id, 0.6)]  # 补贴对象 shares more words
    asked = compose("补贴去哪申请", [hit(store, "policy", by_words)], store, fields=["location"])
    assert [c.section for c in asked.citations] == ["申请方式"] and "街道办事处" in asked.text
    plain = compose("补贴办法", [hit(store, "policy", by_words)], store, fields=[])
    assert [c.section for c in plain.citations][0] == "补贴对象"
    store.close()


def test_every_citation_number_in_the_text_resolves(store):
    group = [hit(store, "gz"), hit(store, "sz")]
    answer = compose("犬只登记", group, store, fields=["materials", "phone", "location"], same_item=group)
    numbers = {int(n) for n in re.findall(r"\[(\d+)\]", answer.text)}
    assert numbers == {c.n for c in answer.citations} and numbers == set(range(1, len(numbers) + 1))
