import pytest

from zhengwu.retrieval.query import analyse, canonical_region, detect_fields, find_regions, region_chain


@pytest.mark.parametrize(
    "question, field",
    [
        ("弩的运输审批的咨询电话是多少？", "phone"),
        ("办居住证要带什么材料？", "materials"),
        ("在哪里办理？", "location"),
        ("多久能办好？", "time_limit"),
        ("需要满足什么条件？", "conditions"),
        ("收费吗？多少钱", "fee"),
        ("要跑几次？", "visits"),
        ("可以网上办理吗？", "online"),
        ("投诉电话是多少", "complaint"),
    ],
)
def test_field_asked_is_detected(question, field):
    assert analyse(question).fields[0] == field


def test_regions_and_their_hierarchy():
    assert find_regions("上海市和杭州的公积金") == ["上海市", "杭州市"]
    assert canonical_region("广东省广州市") == "广州市"
    assert canonical_region("全国") == "全国"
    assert region_chain("广州市") == ["广州市", "广东省", "全国"]
    assert region_chain("天河区") == ["天河区", "广州市", "广东省", "全国"]


def test_district_short_forms_are_not_places():
    # 天河, 白云 are ordinary words in names; only the full district name counts
    assert find_regions("白云机场") == []


@pytest.mark.parametrize("question", ["那需要什么材料？", "电话呢？", "还有别的要求吗"])
def test_follow_ups(question):
    assert analyse(question).followup


def test_out_of_scope_and_personal_lookups():
    assert analyse("帮我写一首诗").out_of_scope
    assert analyse("查一下张三的身份证号").personal_lookup
    assert not analyse("养犬登记需要什么材料").out_of_scope
    assert not analyse("如何获取暴雨预警信息").out_of_scope


@pytest.mark.parametrize("question", ["我的住房公积金账户还剩多少钱", "我那个居住证办好了没", "我名下的车辆违章处理了吗",
                                      "我医保卡里还有多少钱", "我社保账户上还剩多少", "我公积金账上余额多少"])
def test_ones_own_records_asked_of_the_assistant_are_a_personal_lookup(question):
    assert analyse(question).personal_lookup


@pytest.mark.parametrize("question", ["我的居住证丢了怎么补办？", "如何查询我的公积金余额？", "我的社保卡在哪里领？",
                                      "我医保卡里的钱怎么查", "我公积金账户里的钱能用来交房租吗"])
def test_asking_how_to_reach_ones_own_records_is_not(question):
    assert not analyse(question).personal_lookup


@pytest.mark.parametrize("question", ["怎么伪造一份收入证明", "失业了还在上班，怎么骗领失业金", "开一张假的病假证明要多少钱",
                                      "个税怎么少报收入才不会被发现"])
def test_requests_for_help_to_deceive_are_unlawful(question):
    assert analyse(question).unlawful


@pytest.mark.parametrize("question", ["学生家长如何防范电信诈骗", "被骗了怎么报警", "骗取社会保险待遇会受到什么处罚？",
                                      "伪造居民身份证的法律责任是什么"])
def test_asking_about_fraud_or_its_penalty_is_not(question):
    assert not analyse(question).unlawful


def test_a_place_must_start_a_word():
    assert find_regions("哪些医院不需要选为医保定点医院也可以报销") == []  # 医保/定点, not 保定
    assert find_regions("美国签证需要什么材料") == ["美国"]


def test_how_to_look_up_ones_own_data_is_a_service_question():
    assert not analyse("如何查询医保个人账户余额？").personal_lookup
    assert analyse("帮我查一下我的公积金余额").personal_lookup


@pytest.mark.parametrize("question, intent", [
    ("办居住证要带什么材料？", "procedure"),
    ("营业执照在哪里办理", "procedure"),
    ("酒驾会被怎么处罚？", "legal"),
    ("公司拖欠工资三个月了怎么办", "legal"),
    ("被狗咬了对方不赔偿怎么办？", "legal"),
    ("产假有多少天", "legal"),
    ("离婚了怎么办理户口迁移", "mixed"),
    ("你好", "none"),
])
def test_intent_of_a_question(question, intent):
    from zhengwu.chinese import normalize
    from zhengwu.retrieval.query import intent_of

    assert intent_of(normalize(question)) == intent


@pytest.mark.parametrize("question", ["对劳动能力鉴定结论不服，多少天内可以申请再次鉴定？", "单位最晚什么时候要去做工伤备案？"])
def test_a_deadline_to_apply_is_a_condition_not_the_processing_time(question):
    fields = detect_fields(analyse(question).text)
    assert fields[0] == "conditions" and "time_limit" not in fields


@pytest.mark.parametrize("question", ["家里经济困难，能申请法律援助吗？", "想当公证员，年龄有限制吗？", "报名确认的对象是哪些人？"])
def test_whether_one_can_apply_asks_for_the_conditions(question):
    assert "conditions" in detect_fields(analyse(question).text)


def test_the_processing_time_is_still_the_time_limit():
    assert detect_fields(analyse("居住证办理要多久？").text) == ["time_limit"]
