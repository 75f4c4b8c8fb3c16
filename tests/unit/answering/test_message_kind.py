"""Telling a matter to hand off (投诉/举报/建议/求助, a masked local matter) from a question to answer."""

import pytest

from zhengwu.answering.message_kind import HANDOFF_SCORE, classify_message

# Written for these tests in the style of a 问政 platform (subject line, then the account).
MESSAGES = [
    ("投诉星河湾小区物业乱收停车费。我们是星河湾小区的业主，物业公司从上个月起每月多收两百元停车费，多次反映无人处理，"
     "恳请有关部门尽快调查处理！", "complaint"),
    ("举报东风路一家无证小作坊生产食品。这家作坊卫生极差，每天凌晨开工，希望市场监管部门查处。", "report"),
    ("建议在学府路口增设红绿灯。学府路口每天上下学时段车流很大，学生过马路很危险，希望相关部门尽快安装红绿灯。", "suggestion"),
    ("求助：老板拖欠我们十几个农民工半年工资，去公司要了好多次都说没钱，走投无路了，请领导帮帮我们。", "help"),
    ("咨询B7县收费站按车型收费问题。五菱之光的车一到B7县收费站就按二型车收费，请问这是怎么回事？", "consult"),
]
QUESTIONS = [
    "办居住证要带什么材料？",
    "公司不给签劳动合同怎么办？",
    "实验动物生产许可的投诉电话是多少？",
    "小区门口的网吧让初中生进去上网，这合法吗？",
    "入职的时候公司收了我1500块押金，说离职才退，我去劳动局举报的话公司会被怎么处理？",
    "克扣及拖欠工资向哪个部门投诉举报？",
    "被狗咬了对方不赔偿怎么办？",
]


@pytest.mark.parametrize("text, kind", MESSAGES)
def test_a_matter_to_lodge_is_handed_off_with_its_kind(text, kind):
    found = classify_message(text)
    assert found.hand_off, found
    assert found.kind == kind


@pytest.mark.parametrize("text", QUESTIONS)
def test_a_question_is_not_handed_off_even_when_it_names_a_complaint(text):
    found = classify_message(text)
    assert not found.hand_off, found
    assert found.score < HANDOFF_SCORE


def test_the_record_names_the_place_as_written_and_guesses_the_department():
    found = classify_message("反映K9县教育局拖欠教师工资。从去年九月起工资每月推迟发放，望领导重视。")
    assert found.place == "K9县"
    assert found.department == "教育局"
    found = classify_message(MESSAGES[0][0])
    assert found.department == "住房和城乡建设局" and "星河湾小区" in found.place


def test_a_masked_city_alone_makes_a_local_matter():
    assert classify_message("咨询A市地铁3号线某站出入口是如何规划的？").hand_off
    assert not classify_message("地铁3号线某站出入口是如何规划的？").hand_off
