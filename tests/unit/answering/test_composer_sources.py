"""The composer beyond one guide field: what it says when the guide leaves the field asked empty (the guide's
phone, the item's own conditions, a retrieved law that states it), and how it answers from law articles — the
sentence that answers first, then its article, and no citation that does not support the answer."""

from __future__ import annotations

import re

import pytest
from helpers import store_documents

from zhengwu.answering.composer import compose
from zhengwu.documents import Document
from zhengwu.index.chunking import chunk_document, make_chunk_id
from zhengwu.index.store import ChunkStore
from zhengwu.retrieval.retriever import DocHit

GUIDE = """# 犬只登记

## 基本信息
- 事项名称：犬只登记
- 实施主体：公安局
- 服务对象：自然人

## 受理条件
1.登记机关为犬只饲养人户籍所在地的公安派出所； 2.犬只已接种狂犬病疫苗；

## 申请材料
无

## 办理时限
- 法定办结时限：无
- 承诺办结时限：无

## 办理地点
无线下办理窗口

## 咨询电话
020-11112222

## 网上办理
- 办理平台：粤省事
- 预约地址：无
"""

LAWS = {
    "law-keeping": ("养犬管理规定", [
        "第十条 办理犬只登记，应当向公安机关提交下列材料：\n\n（一）养犬人的居民身份证；\n\n（二）犬只狂犬病免疫证明。",
        "第十一条 养犬人应当遵守下列规定：\n\n（一）不得虐待、遗弃所养犬；\n\n（二）携犬出户时，应当束犬链，由成年人牵领；\n\n"
        "（三）携犬出户时，应当即时清除犬只在户外排泄的粪便；\n\n（四）不得携犬进入市场、商店、饭店、公园等公共场所。",
        "第十二条 公安机关应当对养犬登记申请人提交的材料进行审查，符合规定的，予以登记。",
        "第三十条 饲养犬只的单位和个人应当按照规定定期对犬只进行狂犬病免疫接种，并向所在地动物诊疗机构申请免疫证明。"
        "犬只免疫证明有效期届满前三十日内，饲养人应当重新办理免疫。未按规定办理免疫的犬只，不得进入公共场所。",
        "第三十一条 有下列情形之一的，由公安机关没收犬只，并处五百元罚款：\n\n（一）未办理犬只登记的；\n\n"
        "（二）携犬进入公共场所未束犬链的；\n\n（三）犬只伤人后未送医的；\n\n（四）在居民楼内饲养烈性犬的。",
    ]),
    "law-household": ("户口登记条例", [
        "第十条 公民迁出本户口管辖区，由本人或者户主在迁出前向户口登记机关申报迁出登记，并提交下列材料：\n\n"
        "（一）户口簿；\n\n（二）迁移证明。",
        "第十六条 公民因私事离开常住地外出、暂住的时间超过三个月的，应当向户口登记机关申请延长时间或者办理迁移手续；"
        "既无理由延长时间又无迁移条件的，应当返回常住地。",
    ]),
    "law-injury": ("工伤保险条例", [
        "第十四条 职工有下列情形之一的，应当认定为工伤：\n\n（一）在工作时间和工作场所内，因工作原因受到事故伤害的；\n\n"
        "（二）患职业病的；\n\n（三）在上下班途中，受到非本人主要责任的交通事故伤害的。",
        "第十七条 职工发生事故伤害，所在单位应当自事故伤害发生之日起30日内，向统筹地区社会保险行政部门提出工伤认定申请。"
        "遇有特殊情况，经报社会保险行政部门同意，申请时限可以适当延长。\n\n用人单位未按前款规定提出工伤认定申请的，工伤职工或者其"
        "近亲属在事故伤害发生之日起1年内，可以直接向社会保险行政部门提出工伤认定申请。",
        "第十八条 提出工伤认定申请应当提交工伤认定申请表和与用人单位存在劳动关系的证明材料。",
    ]),
    "law-rules": ("工伤认定办法", [
        "第六条 提出工伤认定申请应当填写《工伤认定申请表》，并提交下列材料：\n\n"
        "（一）劳动、聘用合同文本复印件或者与用人单位存在劳动关系的其他证明材料；\n\n（二）医疗机构出具的受伤后诊断证明书。",
        "第七条 工伤认定申请人提交的申请材料符合要求，属于社会保险行政部门管辖范围的，社会保险行政部门应当受理。",
    ]),
    "law-preschool": ("学前教育法", [
        "第五十九条 幼儿园与小学应当互相衔接配合，共同帮助儿童做好入学准备和入学适应。",
        "第八十五条 本法自2025年6月1日起施行。",
    ]),
    "law-compulsory": ("义务教育法", [
        "第十一条 凡年满六周岁的儿童，其父母或者其他法定监护人应当送其入学接受并完成义务教育。",
    ]),
}


def law(doc_id: str) -> Document:
    title, articles = LAWS[doc_id]
    return Document(doc_id=doc_id, title=title, body=f"# {title}\n\n" + "\n\n".join(articles) + "\n", doc_type="law",
                    region="全国", source_url=f"https://gov.example/{doc_id}")


@pytest.fixture
def store(tmp_path):
    store = ChunkStore(tmp_path / "chunks.sqlite3")
    guide = Document(doc_id="guide", title="犬只登记", body=GUIDE, doc_type="service_guide", region="广州市",
                     department="公安局", source_url="https://gov.example/guide", extra={"item_name": "犬只登记"})
    store_documents(store, [guide] + [law(d) for d in LAWS])
    yield store
    store.close()


def hit(store: ChunkStore, doc_id: str, *articles: str, score: float = 1.0) -> DocHit:
    chunks = [(make_chunk_id(doc_id, a), 1.0 - i * 0.05) for i, a in enumerate(articles)]
    return DocHit(doc=store.documents()[doc_id], score=score, chunks=chunks)


def numbers_resolve(answer) -> None:
    numbers = {int(n) for n in re.findall(r"\[(\d+)\]", answer.text)}
    assert numbers == {c.n for c in answer.citations} == set(range(1, len(numbers) + 1))


# -- a field the guide leaves empty ------------------------------------------------------------------------

def test_an_empty_field_is_said_so_in_one_line_with_the_guides_phone(store):
    answer = compose("养犬登记要带什么材料？", [hit(store, "guide")], store, fields=["materials"])
    assert answer.text.splitlines() == ["「犬只登记」（广州市 · 公安局）", "- 办事指南未列出申请材料，可咨询 020-11112222 [1]。"]
    assert [c.section for c in answer.citations] == ["咨询电话"]


def test_a_retrieved_law_that_lists_the_missing_materials_is_quoted_after_the_guide(store):
    hits = [hit(store, "guide"), hit(store, "law-household", "第十条"),
            hit(store, "law-keeping", "第十一条", "第十二条", "第十条")]
    answer = compose("养犬登记要带什么材料？", hits, store, fields=["materials"])
    lines = answer.text.splitlines()
    assert lines[:2] == ["「犬只登记」（广州市 · 公安局）", "- 办事指南未列出申请材料，可咨询 020-11112222 [1]。"]
    assert lines[2].startswith("另据《养犬管理规定》第十条：办理犬只登记，应当向公安机关提交下列材料：")
    assert "犬只狂犬病免疫证明。 [2]" in answer.text
    # 户口登记条例 also lists 材料, for moving one's household: not what the question is about; 第十二条 mentions
    # the materials, 第十条 lists them.
    assert [(c.title, c.section) for c in answer.citations] == [("犬只登记", "咨询电话"), ("养犬管理规定", "第十条")]
    numbers_resolve(answer)


def test_no_law_is_quoted_when_none_among_the_top_documents_covers_the_missing_field(store):
    hits = [hit(store, "guide"), hit(store, "law-household", "第十条"), hit(store, "law-keeping", "第十一条")]
    answer = compose("养犬登记要带什么材料？", hits, store, fields=["materials"])
    assert [c.title for c in answer.citations] == ["犬只登记"] and "《" not in answer.text


def test_a_guide_with_no_window_says_so_and_gives_the_platform_the_phone_and_the_office_its_conditions_name(store):
    answer = compose("犬只登记去哪里办？", [hit(store, "guide")], store, fields=["location"])
    assert answer.text.splitlines() == [
        "「犬只登记」（广州市 · 公安局）",
        "- 办理地点：无线下办理窗口 [1]",
        "- 网上办理平台：粤省事 [2]",
        "- 咨询电话：020-11112222 [3]",
        "- 受理条件：登记机关为犬只饲养人户籍所在地的公安派出所。 [4]",
    ]
    assert [c.section for c in answer.citations] == ["办理地点", "网上办理", "咨询电话", "受理条件"]


def test_a_guide_with_no_window_is_not_answered_from_a_law_about_where_to_apply(store):
    """"无线下办理窗口" is what the guide says of the place, not a blank: the law 养犬管理规定 第十条 (向公安机关
    提交) is not quoted as where to go."""
    hits = [hit(store, "guide"), hit(store, "law-keeping", "第十条")]
    answer = compose("养犬登记去哪里办？", hits, store, fields=["location"])
    assert "《" not in answer.text and [c.title for c in answer.citations] == ["犬只登记"] * 4


def test_the_platform_is_not_repeated_when_online_handling_is_asked_too(store):
    answer = compose("犬只登记在哪里办，能网上办吗？", [hit(store, "guide")], store, fields=["location", "online"])
    assert answer.text.count("粤省事") == 1 and "- 办理平台：粤省事 [3]" in answer.text
    assert "预约地址：无" not in answer.text  # an empty line of the field is left out


def test_a_time_limit_of_none_is_not_stated_as_a_time_limit(store):
    answer = compose("犬只登记多久办好？", [hit(store, "guide")], store, fields=["time_limit"])
    assert "承诺无" not in answer.text and "- 办事指南未列出办理时限，可咨询 020-11112222 [1]。" in answer.text


# -- law articles ------------------------------------------------------------------------------------------

def test_the_sentence_holding_the_value_asked_leads_then_its_article_with_the_same_number(store):
    answer = compose("狗的免疫证明到期前多少天要重新办？", [hit(store, "law-keeping", "第三十条")], store, fields=[])
    lead, quote = answer.text.splitlines()
    assert lead == "犬只免疫证明有效期届满前三十日内，饲养人应当重新办理免疫。 [1]"
    assert quote.startswith("根据《养犬管理规定》第三十条：饲养犬只的单位和个人") and quote.endswith(" [1]")
    assert "犬只免疫证明有效期届满前三十日内" in quote  # the article is quoted as it stands
    assert [c.section for c in answer.citations] == ["第三十条"]


def test_an_article_that_opens_with_its_answer_is_quoted_without_a_lead(store):
    answer = compose("工伤认定申请要在多少日内提出？", [hit(store, "law-injury", "第十七条")], store, fields=[])
    assert answer.text.startswith("根据《工伤保险条例》第十七条：职工发生事故伤害") and answer.text.count("[1]") == 1


def test_the_item_that_answers_leads_with_the_sentence_introducing_it(store):
    answer = compose("携犬进公共场所没束犬链会怎么样？", [hit(store, "law-keeping", "第三十一条")], store, fields=[])
    assert answer.text.splitlines()[0] == (
        "有下列情形之一的，由公安机关没收犬只，并处五百元罚款：……（二）携犬进入公共场所未束犬链的。 [1]")


def test_no_lead_when_shared_words_do_not_tell_which_sentence_answers(store):
    """Two items of the list share the question's words equally: neither is singled out."""
    answer = compose("携犬出户要注意什么？", [hit(store, "law-keeping", "第十一条")], store, fields=[])
    assert answer.text.startswith("根据《养犬管理规定》第十一条：养犬人应当遵守下列规定：")


def test_a_list_asked_for_is_quoted_whole_without_a_lead(store):
    answer = compose("工伤认定有哪些情形？", [hit(store, "law-injury", "第十四条")], store, fields=["conditions"])
    assert answer.text.startswith("根据《工伤保险条例》第十四条：职工有下列情形之一的")


def test_an_article_about_something_else_is_not_cited_under_the_answer(store):
    """户口登记条例 第十六条 shares only 申请 and 时间 with a 工伤 question: it is left out, the second 工伤
    article stays."""
    hits = [hit(store, "law-injury", "第十四条", "第十八条"), hit(store, "law-household", "第十六条", score=0.97)]
    answer = compose("上下班途中出了交通事故能认定工伤吗？", hits, store, fields=[])
    assert [c.section for c in answer.citations] == ["第十四条", "第十八条"]
    assert answer.text.splitlines()[0] == (
        "职工有下列情形之一的，应当认定为工伤：……（三）在上下班途中，受到非本人主要责任的交通事故伤害的。 [1]")
    assert "户口" not in answer.text
    numbers_resolve(answer)


def test_an_article_stating_the_number_the_question_states_is_cited_though_its_words_differ(store):
    """"满6岁" is "年满六周岁" in the law: 义务教育法 is cited; "2025年6月1日" is not 6岁, so 第八十五条 is not."""
    hits = [hit(store, "law-preschool", "第五十九条", "第八十五条"), hit(store, "law-compulsory", "第十一条", score=0.95)]
    answer = compose("孩子今年满6岁了，必须得上小学吗？", hits, store, fields=[])
    assert [(c.title, c.section) for c in answer.citations] == [("学前教育法", "第五十九条"), ("义务教育法", "第十一条")]


def test_for_materials_asked_the_article_that_lists_them_answers_first_even_from_the_second_law(store):
    """工伤保险条例 第十七条 (the best law's best article) says when to apply, not with what; 工伤认定办法 scores
    nearly as well and its 第六条 lists the materials (its 第七条 only mentions them): 第六条 answers first."""
    hits = [hit(store, "law-injury", "第十七条"), hit(store, "law-rules", "第七条", "第六条", score=0.95)]
    answer = compose("申请工伤认定要交什么材料？", hits, store, fields=["materials"])
    assert answer.text.startswith("根据《工伤认定办法》第六条：提出工伤认定申请应当填写《工伤认定申请表》，并提交下列材料：")
    assert [(c.title, c.section) for c in answer.citations] == [("工伤认定办法", "第六条"), ("工伤保险条例", "第十七条")]


def test_at_most_three_articles_are_cited(store):
    hits = [hit(store, "law-keeping", "第十条", "第三十一条", "第十一条"), hit(store, "law-injury", "第十四条", score=0.99),
            hit(store, "law-household", "第十条", score=0.98)]
    answer = compose("犬只登记", hits, store, fields=[])
    assert 1 <= len(answer.citations) <= 3
    numbers_resolve(answer)


# -- policies and FAQ answers ------------------------------------------------------------------------------

def test_a_passage_is_led_by_the_sentence_that_answers_the_field_asked(tmp_path):
    body = ("# 补贴办法\n\n## 申请方式\n\n本补贴每年发放一次，所需资金由市财政统筹安排，按季度拨付到各区。"
            "符合条件的老年人可以向户籍所在地街道办事处提出申请。补贴标准根据老年人的失能等级和家庭经济状况确定。\n")
    policy = Document(doc_id="policy", title="补贴办法", body=body, doc_type="policy", region="广州市",
                      source_url="https://gov.example/policy")
    store = ChunkStore(tmp_path / "policy.sqlite3")
    store_documents(store, [policy])
    chunks = chunk_document(policy)
    answer = compose("补贴去哪申请？", [DocHit(doc=store.documents()["policy"], score=1.0,
                                            chunks=[(chunks[0].chunk_id, 1.0)])], store, fields=["location"])
    lead, passage = answer.text.splitlines()
    assert lead == "符合条件的老年人可以向户籍所在地街道办事处提出申请。 [1]"
    assert passage.startswith("本补贴每年发放一次") and passage.endswith(" [1]")
    unasked = compose("补贴办法", [DocHit(doc=store.documents()["policy"], score=1.0,
                                      chunks=[(chunks[0].chunk_id, 1.0)])], store, fields=[])
    assert unasked.text.startswith("本补贴每年发放一次")  # nothing asked: no lead
    store.close()
