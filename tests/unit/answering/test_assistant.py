"""What a citizen gets back: the field asked, with citations that resolve; refusals; follow-ups; bad input."""

import pytest

from zhengwu.answering.citations import render_plain
from zhengwu.answering.user import UserContext
from zhengwu.chinese import han_ratio

GZ_PHONE, GD_PHONE = "020-12345", "020-83110470"


def citations_resolve(answer, index):
    docs = index.store.documents()
    for c in answer.citations:
        assert c.doc_id in docs and c.title == docs[c.doc_id].title
        assert c.section and c.source_url.startswith("http")
        assert f"[{c.n}]" in answer.text


def test_phone_of_a_named_item(assistant, fixture_index):
    answer = assistant.ask("实验动物生产许可的咨询电话是多少？")
    assert answer.status == "answered"
    assert "020-84106805" in answer.text
    assert answer.citations[0].section == "咨询电话"
    citations_resolve(answer, fixture_index)


@pytest.mark.parametrize(
    "question, expected",
    [
        ("办理实验动物生产许可需要带什么材料？", "实验动物种子来源证明"),
        ("实验动物生产许可多久能办好？", "8个工作日"),
        ("实验动物生产许可在哪里办理？", "科学城风信路11号"),
        ("实验动物生产许可要跑几次？", "0次"),
        ("实验动物生产许可的投诉电话？", "020-83163692"),
        ("实验动物生产许可可以网上办理吗？", "广东省统一申办受理平台"),
    ],
)
def test_each_guide_field_is_answered_from_its_own_field(assistant, question, expected):
    answer = assistant.ask(question)
    assert answer.status == "answered"
    assert expected in answer.text


def test_fee_is_not_invented_when_the_guide_has_none(assistant):
    answer = assistant.ask("实验动物生产许可收费吗？")
    assert "未列出收费" in answer.text
    assert "元" not in answer.text


def test_same_item_in_two_regions_is_answered_for_both_clearly_labelled(assistant):
    answer = assistant.ask("弩的运输审批的咨询电话是多少？")
    assert GZ_PHONE in answer.text and GD_PHONE in answer.text
    assert "广州市" in answer.text and "广东省" in answer.text
    assert {c.region for c in answer.citations} == {"广州市", "广东省"}


def test_the_askers_region_picks_that_regions_item(assistant):
    answer = assistant.ask("弩的运输审批的咨询电话是多少？", user=UserContext(region="广东省广州市"))
    assert GZ_PHONE in answer.text and GD_PHONE not in answer.text
    assert answer.retrieved[0] == "11440100007483172Q3440106013004"


def test_follow_up_questions_resolve_to_the_previous_item(assistant):
    first = assistant.ask("弩的运输审批在哪里办理？", user={"region": "广州市"})
    materials = assistant.ask("那需要什么材料？", session=first.session_id)
    assert materials.status == "answered"
    assert "申请运输弩审批表" in materials.text
    phone = assistant.ask("电话呢？", session=first.session_id)
    assert GZ_PHONE in phone.text and GD_PHONE not in phone.text


def test_a_new_item_in_the_same_session_is_not_taken_for_a_follow_up(assistant):
    first = assistant.ask("弩的运输审批在哪里办理？")
    second = assistant.ask("实验动物生产许可的咨询电话是多少？", session=first.session_id)
    assert "020-84106805" in second.text


def test_law_question_quotes_the_article_with_its_number(assistant, fixture_index):
    answer = assistant.ask("居民身份证的有效期是多久？")
    assert answer.status == "answered"
    assert "《中华人民共和国居民身份证法》第五条" in answer.text
    assert answer.citations[0].section == "第五条"
    citations_resolve(answer, fixture_index)


def test_policy_text_is_quoted(assistant):
    answer = assistant.ask("居家养老服务补贴每月多少钱？")
    assert "四百元" in answer.text


@pytest.mark.parametrize(
    "question, reason",
    [
        ("上海市居民身份证在哪里办？", "out_of_region"),
        ("杭州市居住证积分怎么算？", "out_of_region"),
        ("美国签证需要什么材料？", "out_of_region"),
        ("帮我写一首关于秋天的诗", "out_of_scope"),
        ("今天北京天气怎么样？", "out_of_scope"),
        ("请告诉我张三的身份证号码", "personal_data"),
        ("帮我查一下我的社保余额", "personal_data"),
        ("怎么伪造一份居住证明才不会被发现", "unlawful"),
        ("量子计算机的纠错码原理是什么？", "weak_evidence"),
    ],
)
def test_questions_the_sources_do_not_cover_are_refused_with_the_hotline(assistant, question, reason):
    answer = assistant.ask(question)
    assert answer.status == "refused"
    assert answer.reason == reason
    assert "12345" in answer.text
    assert not answer.citations


def test_place_names_inside_an_item_name_are_not_other_regions(assistant):
    answer = assistant.ask("往来台湾通行证商务签注办证进度查询的咨询电话是多少？")
    assert answer.status == "answered"
    assert "12367" in answer.text


def test_traditional_chinese_is_answered(assistant):
    answer = assistant.ask("實驗動物生產許可的諮詢電話是多少？")
    assert answer.status == "answered" and "020-84106805" in answer.text


@pytest.mark.parametrize(
    "question, reason",
    [
        ("", "empty"),
        ("   \n\t ", "empty"),
        ("办" * 5000, "too_long"),
        ("How do I apply for a residence permit?", "language"),
        ("%%%%$$$$####@@@@", "unreadable"),
    ],
)
def test_bad_input_gets_a_clear_answer(assistant, question, reason):
    answer = assistant.ask(question)
    assert answer.status == "clarify"
    assert answer.reason == reason
    assert answer.text
    assert len(answer.question) <= 200


@pytest.mark.parametrize(
    ("question", "status", "reason"),
    [
        ("\x00\x01\x02", "clarify", "empty"),  # control characters only: nothing was asked
        ("\ud800", "clarify", "empty"),  # a lone surrogate is not printable text
        ("🙂🙂🙂", "clarify", "unreadable"),
        ("？？？", "clarify", "unreadable"),
        ("<script>alert(1)</script>办证", "clarify", "language"),
        ("'; DROP TABLE chunks; --", "clarify", "language"),
        ("的的的的的", "refused", "weak_evidence"),
        ("材料", "refused", "weak_evidence"),  # a follow-up with nothing to follow
        ("电话呢？", "refused", "weak_evidence"),
    ],
)
def test_odd_input_gets_a_clear_answer_and_leaves_the_index_alone(assistant, question, status, reason):
    before = assistant.index.store.count()
    answer = assistant.ask(question)
    assert (answer.status, answer.reason) == (status, reason), answer.text
    assert answer.citations == [] and "\ud800" not in answer.text
    assert han_ratio(answer.text.split("。")[0]) > 0.8  # it opens with a sentence in Chinese, not an error string
    assert assistant.index.store.count() == before


def test_answer_carries_session_latency_and_ranked_documents(assistant):
    answer = assistant.ask("实验动物生产许可的咨询电话是多少？", session="abc")
    assert answer.session_id == "abc"
    assert 0 < answer.latency_ms < 60_000
    assert answer.retrieved[0] == "11440000006939801C244010300100103"
    assert answer.to_dict()["status"] == "answered"
    assert "参考来源" in render_plain(answer)


HANDOFF_MESSAGES = [
    "举报东风路一家无证小作坊生产食品。这家作坊卫生极差，每天凌晨开工，污水直接排进河里，希望有关部门尽快查处！",
    "建议在学府路口增设红绿灯。学府路口每天上下学时段车流很大，学生过马路很危险，恳请相关部门尽快安装。" * 12,
]


@pytest.mark.parametrize("message", HANDOFF_MESSAGES)
def test_a_complaint_is_handed_off_not_answered_from_a_law(assistant, message):
    answer = assistant.ask(message)  # the second is about 1,000 characters: read, not turned away as too long
    assert answer.status == "refused" and answer.reason == "handoff"
    assert "12345" in answer.text and "留言" in answer.text
    assert not answer.citations and answer.handoff is not None
    assert answer.handoff.category in ("report", "suggestion")


def test_a_local_matter_of_a_masked_city_is_handed_off_as_a_consultation(assistant):
    answer = assistant.ask("咨询A市地铁3号线某站出入口的规划。请问在晚报大道南侧是否有出入口？")
    assert answer.status == "refused" and answer.reason == "handoff"
    assert answer.handoff.category == "consult" and answer.handoff.place == "A市"
    assert "A市" in answer.text and "12345" in answer.text


def test_a_message_beyond_the_message_limit_is_still_too_long(assistant):
    answer = assistant.ask("投诉小区物业乱收费，恳请有关部门处理。" * 200)  # 3,800 characters
    assert answer.status == "clarify" and answer.reason == "too_long"
