"""Personalised answers (个人信息保护法): every use appears with consent and is absent without it.

One scripted conversation per use: region, next steps, reusable materials, status of one's own applications,
expiry reminders, suggestions by identity tag; plus PII masking. The assistant runs over a copy of the fixture
corpus with the test life events and tags in tests/fixtures/personal (a chain 使用弩审批 → 弩的运输审批 →
弩的使用情况备案, a follow-up rule after 往来台湾通行证商务签注, tags 科研单位 and 老年人).
"""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta

import pytest
from click.testing import CliRunner
from helpers import FIXTURE_CORPUS, FIXTURES, build_index, make_assistant
from helpers.wechat import FakeWeChatAPI

import zhengwu.config
from zhengwu.answering.assistant import Assistant
from zhengwu.answering.user import UserContext
from zhengwu.cli.main import main
from zhengwu.config import Settings
from zhengwu.db.engine import make_engine, upgrade
from zhengwu.personal import (
    STATUS_NAMES,
    PeopleStore,
    PersonalContext,
    ServiceRecordData,
    due_reminders,
    personal_context,
)
from zhengwu.pii import id_check_char, mask_pii

GD_GUIDE = "11440000006940140C2440106013004"  # 弩的运输审批, 广东省
GZ_GUIDE = "11440100007483172Q3440106013004"  # 弩的运输审批, 广州市
TW_QUERY_GUIDE = "11440000006940140C2442106397007"  # 往来台湾通行证商务签注办证进度查询, 广东省
LAB_GUIDE = "11440000006939801C244010300100103"  # 实验动物生产许可(新申请), 广东省
RADIO_GUIDE = "11440100007482567N3440104012004"  # 无线电频率使用许可（遗失补办）, 广州市
POLICY = "fixture-policy-elderly-care"  # 广州市居家养老服务补贴办法（测试样例）

MATERIALS_Q = "弩的运输审批需要什么材料？"
NEXT_Q = "我接下来还要办什么？"
STATUS_Q = "我的弩的运输审批办到哪一步了？"
SUGGEST_Q = "有哪些适合我的政策？"
GD_ONLY_MATERIAL = "使用弩批准文件"  # listed by the 广东省 guide, not by the 广州市 one


def record(item_name: str, status: str, **fields) -> ServiceRecordData:
    return ServiceRecordData(item_code=fields.pop("item_code", item_name), item_name=item_name, status=status,
                             **fields)


def person(*records: ServiceRecordData, **fields) -> PersonalContext:
    fields.setdefault("linked", True)
    return PersonalContext(records=list(records), **fields)


def ask(assistant: Assistant, question: str, personal: PersonalContext | None = None, **kwargs):
    return assistant.ask(question, user=UserContext(personal=personal), **kwargs)


@pytest.fixture(scope="module")
def personal_settings(tmp_path_factory) -> Settings:
    root = tmp_path_factory.mktemp("personalise")
    corpus = root / "corpus"
    shutil.copytree(FIXTURE_CORPUS, corpus)
    for folder in ("life_events", "personalisation"):
        shutil.copytree(FIXTURES / "personal" / folder, corpus / folder)
    return Settings(data_dir=root / "data", corpus_dir=corpus)


@pytest.fixture(scope="module")
def personal_index(personal_settings):
    return build_index(personal_settings, personal_settings.corpus_dir)


@pytest.fixture(scope="module")
def assistant(personal_settings, personal_index) -> Assistant:
    built = make_assistant(personal_settings, personal_index)
    assert built.personaliser is not None, "the test corpus must load life_events/ and personalisation/tags.yaml"
    return built


@pytest.fixture
def people(tmp_path) -> PeopleStore:
    engine = make_engine(f"sqlite:///{tmp_path / 'people.sqlite3'}")
    upgrade(engine)
    return PeopleStore(engine, mask=mask_pii)


def id_number() -> str:
    first17 = "44010619900101123"
    return first17 + id_check_char(first17)


# -- 1. region ------------------------------------------------------------------------------------------------

def test_the_profile_region_picks_that_regions_guide(assistant):
    answer = ask(assistant, MATERIALS_Q, PersonalContext(region="广州市"))
    assert answer.status == "answered"
    assert answer.personal == ["region"]
    assert {c.region for c in answer.citations} == {"广州市"}
    assert answer.citations[0].doc_id == GZ_GUIDE and answer.retrieved[0] == GZ_GUIDE
    assert "申请运输弩审批表" in answer.text and GD_ONLY_MATERIAL not in answer.text


@pytest.mark.parametrize("user", [None, UserContext(), UserContext(personal=None)], ids=["no-user", "empty", "off"])
def test_without_consent_both_regions_are_listed_and_labelled(assistant, user):
    answer = assistant.ask(MATERIALS_Q, user=user)
    assert answer.status == "answered"
    assert answer.personal == []
    assert "在多个地区都有办理" in answer.text
    assert "「弩的运输审批」（广州市 · 广州市公安局）" in answer.text and "「弩的运输审批」（广东省 · 广东省公安厅）" in answer.text
    assert {c.region for c in answer.citations} == {"广州市", "广东省"}
    assert GD_ONLY_MATERIAL in answer.text  # the 广东省 guide's list is there too


def test_a_stated_region_wins_over_the_profile_and_is_not_marked_personal(assistant):
    answer = assistant.ask(MATERIALS_Q, user=UserContext(region="广东省", personal=PersonalContext(region="广州市")))
    assert {c.region for c in answer.citations} == {"广东省"}
    assert "region" not in answer.personal


def test_switching_personalisation_off_mid_session_forgets_the_profile_region(assistant):
    first = ask(assistant, MATERIALS_Q, PersonalContext(region="广州市"))
    assert first.personal == ["region"]
    off = ask(assistant, MATERIALS_Q, None, session=first.session_id)
    assert off.personal == []
    assert {c.region for c in off.citations} == {"广州市", "广东省"}, "the profile region outlived the consent"


def test_a_region_stated_earlier_in_the_session_keeps_the_personal_context(assistant):
    first = assistant.ask("弩的运输审批在哪里办理？", user=UserContext(region="广州市"))
    status = ask(assistant, STATUS_Q, person(record("弩的运输审批", "accepted")), session=first.session_id)
    assert status.reason == "personal_status" and status.personal == ["status"]
    assert "当前状态：已受理" in status.text


# -- 2. next steps ----------------------------------------------------------------------------------------------

def test_next_step_of_a_life_event_from_history(assistant):
    ctx = person(record("使用弩审批", "approved", submitted_at=date(2023, 3, 1)))
    answer = ask(assistant, NEXT_Q, ctx)
    assert answer.status == "answered" and answer.reason == "personal_next_steps"
    assert answer.personal == ["next_steps"]
    assert "您已办理「使用弩审批」，下一步可办理「弩的运输审批」[1]（弩的使用与运输）" in answer.text
    assert [(c.n, c.doc_id) for c in answer.citations] == [(1, GD_GUIDE)]

    plain = ask(assistant, NEXT_Q, None)
    assert "下一步可办理" not in plain.text and "使用弩审批" not in plain.text
    assert plain.personal == [] and plain.reason != "personal_next_steps"


def test_next_step_of_a_follow_up_rule(assistant):
    ctx = person(record("往来台湾通行证商务签注", "accepted"))
    answer = ask(assistant, NEXT_Q, ctx)
    assert answer.personal == ["next_steps"]
    assert "下一步可办理「往来台湾通行证商务签注办证进度查询」[1]（出入境）" in answer.text
    assert [c.doc_id for c in answer.citations] == [TW_QUERY_GUIDE]
    # The rule fires for submitted/accepted only: a refused 签注 has no progress to check.
    refused = ask(assistant, NEXT_Q, person(record("往来台湾通行证商务签注", "rejected")))
    assert "办证进度查询" not in refused.text and "next_steps" not in refused.personal


def test_a_rejected_record_does_not_count_as_done(assistant):
    answer = ask(assistant, NEXT_Q, person(record("使用弩审批", "rejected")))
    assert "您已办理" not in answer.text
    assert "「弩的运输审批」" not in answer.text
    assert "下一步可办理「使用弩审批」" in answer.text  # the refused step is still to do


def test_a_question_about_a_done_item_gets_a_next_step_note(assistant):
    ctx = person(record("使用弩审批", "approved", submitted_at=date(2023, 3, 1)),
                 record("弩的运输审批", "approved", submitted_at=date(2024, 5, 6), doc_id=GZ_GUIDE), region="广州市")
    question = "弩的运输审批在哪里办理？"
    answer = ask(assistant, question, ctx)
    assert answer.status == "answered"
    assert answer.personal == ["region", "next_steps"]
    grounded, _, note = answer.text.partition("\n\n【个性化提示】\n")
    assert "花都区政务服务中心" in grounded  # the grounded answer comes first, unchanged
    assert note == "您已办理「使用弩审批」、「弩的运输审批」，下一步可办理「弩的使用情况备案」（弩的使用与运输）。"

    plain = ask(assistant, question, None)
    assert "【个性化提示】" not in plain.text and "下一步可办理" not in plain.text
    assert plain.personal == []
    # A different item, not in the history, gets no note either.
    other = ask(assistant, "实验动物生产许可在哪里办理？", ctx)
    assert "【个性化提示】" not in other.text and "next_steps" not in other.personal


# -- 3. materials -----------------------------------------------------------------------------------------------

# Matches "经办人、押运人身份证明原件及复印件" and "提供弩单位资质证明" once 原件/复印件 are dropped; "经办人身份证明原件"
# would not (neither core contains the other).
USED_MATERIALS = ["押运人身份证明原件", "提供弩单位资质证明", "使用弩申请书"]
REUSE_NOTE = "您曾在2023年办理「使用弩审批」时提交过“经办人、押运人身份证明原件及复印件”，是否可复用以窗口要求为准。"


def test_materials_submitted_for_another_item_are_pointed_out(assistant):
    ctx = person(record("使用弩审批", "approved", submitted_at=date(2023, 3, 1), materials=USED_MATERIALS),
                 region="广东省")
    answer = ask(assistant, MATERIALS_Q, ctx)
    assert answer.personal == ["region", "materials"]
    assert [c.doc_id for c in answer.citations] == [GD_GUIDE]
    note = answer.text.split("\n\n【个性化提示】\n", 1)[1]
    assert note.splitlines() == [
        REUSE_NOTE,
        "您曾在2023年办理「使用弩审批」时提交过“提供弩单位资质证明”，是否可复用以窗口要求为准。",
    ]

    plain = assistant.ask(MATERIALS_Q, user=UserContext(region="广东省"))
    assert GD_ONLY_MATERIAL in plain.text  # same guide ...
    assert "提交过" not in plain.text and "【个性化提示】" not in plain.text and plain.personal == []  # ... no note


def test_materials_of_a_rejected_record_are_not_offered(assistant):
    ctx = person(record("使用弩审批", "rejected", submitted_at=date(2023, 3, 1), materials=USED_MATERIALS),
                 region="广东省")
    answer = ask(assistant, MATERIALS_Q, ctx)
    assert "提交过" not in answer.text and "materials" not in answer.personal
    assert answer.personal == ["region"]


def test_materials_that_do_not_match_are_not_offered(assistant):
    ctx = person(record("使用弩审批", "approved", submitted_at=date(2023, 3, 1), materials=["经办人身份证明原件"]),
                 region="广东省")
    answer = ask(assistant, MATERIALS_Q, ctx)
    assert "提交过" not in answer.text and "materials" not in answer.personal


# -- 4. status of one's own applications ----------------------------------------------------------------------

def alice() -> PersonalContext:
    return person(record("弩的运输审批", "accepted", submitted_at=date(2024, 5, 6), doc_id=GZ_GUIDE), user_id=1)


def bob() -> PersonalContext:
    return person(
        record("弩的运输审批", "rejected", item_code="bob-1", submitted_at=date(2024, 1, 15),
               decided_at=date(2024, 2, 1), doc_id=GD_GUIDE),
        record("实验动物生产许可", "approved", submitted_at=date(2023, 9, 9), doc_id=LAB_GUIDE),
        user_id=2,
    )


def test_status_lists_the_users_own_record(assistant):
    answer = ask(assistant, STATUS_Q, alice())
    assert answer.status == "answered" and answer.reason == "personal_status"
    assert answer.personal == ["status"]
    assert f"1. 「弩的运输审批」于2024-05-06提交，当前状态：{STATUS_NAMES['accepted']}[1]" in answer.text
    assert STATUS_NAMES["accepted"] == "已受理"
    assert [(c.doc_id, c.region) for c in answer.citations] == [(GZ_GUIDE, "广州市")]
    # Bob's records, in another context, do not leak into Alice's answer.
    for bobs in ("2024-01-15", "2024-02-01", STATUS_NAMES["rejected"], "实验动物生产许可"):
        assert bobs not in answer.text
    assert GD_GUIDE not in {c.doc_id for c in answer.citations}


def test_status_of_bob_is_bobs(assistant):
    answer = ask(assistant, "我申请的实验动物生产许可进度怎么样？", bob())
    assert answer.reason == "personal_status"
    assert "「实验动物生产许可」于2023-09-09提交，当前状态：已批准" in answer.text
    assert "2024-05-06" not in answer.text and "已受理" not in answer.text


def test_a_general_status_question_lists_only_own_records(assistant):
    answer = ask(assistant, "我的办件进度怎么样了？", alice())
    assert answer.reason == "personal_status"
    assert "「弩的运输审批」于2024-05-06提交，当前状态：已受理" in answer.text
    assert "实验动物生产许可" not in answer.text and "2024-01-15" not in answer.text


def test_a_user_without_records_is_told_so(assistant):
    answer = ask(assistant, STATUS_Q, person())
    assert answer.reason == "personal_status" and "暂未查到您的办件" in answer.text
    assert "当前状态" not in answer.text


@pytest.mark.parametrize("personal", [None, PersonalContext(records=[record("弩的运输审批", "accepted")], linked=False)],
                         ids=["no-consent", "not-linked"])
def test_status_needs_consent_and_a_linked_identity(assistant, personal):
    answer = ask(assistant, STATUS_Q, personal)
    assert answer.status == "clarify" and answer.reason == "needs_consent"
    assert answer.personal == [] and answer.citations == []
    assert "当前状态" not in answer.text and "已受理" not in answer.text and "根据您的办件记录" not in answer.text
    assert "绑定身份并同意使用您的办件记录" in answer.text


def test_how_to_check_progress_is_answered_from_the_guides(assistant):
    answer = ask(assistant, "我怎么查询往来台湾通行证商务签注的办理进度？", None)  # asks how, not what
    assert answer.status == "answered" and answer.reason != "needs_consent"
    assert answer.citations and answer.citations[0].doc_id == TW_QUERY_GUIDE


# -- 5. reminders and the people store ------------------------------------------------------------------------

TODAY = date(2025, 6, 1)
PERMIT = "往来台湾通行证商务签注"


def add_user(people: PeopleStore, external_id: str, valid_until: date, reminders: bool | None = True,
             item: str = PERMIT) -> int:
    uid = people.user_for("telegram", external_id)
    if reminders is not None:
        people.set_consent(uid, "reminders", reminders)
    people.add_records(uid, [record(item, "approved", item_code=f"{external_id}-1", submitted_at=date(2025, 1, 2),
                                    valid_until=valid_until)])
    return uid


def test_expiry_reminder_only_with_consent_and_only_once(people):
    due = TODAY + timedelta(days=10)
    alice_id = add_user(people, "alice", due)
    add_user(people, "bob", due, reminders=None)  # never asked
    carol = add_user(people, "carol", due)
    people.set_consent(carol, "reminders", False)  # withdrew
    add_user(people, "dave", TODAY + timedelta(days=45))  # outside the window

    found = due_reminders(people, TODAY, 30)
    assert [r.user_id for r in found] == [alice_id]
    reminder = found[0]
    assert reminder.identities == [("telegram", "alice")]
    assert reminder.text.startswith(f"温馨提示：您办理的「{PERMIT}」将于{due.isoformat()}到期（还有10天）")
    assert "换发或签注" in reminder.text

    people.mark_reminder_sent(reminder.record.id)
    assert due_reminders(people, TODAY, 30) == []
    assert due_reminders(people, TODAY + timedelta(days=1), 30) == []


def test_personal_context_from_the_store_needs_consent(people, assistant):
    uid = people.user_for("web", "portal-7")
    people.update_profile(uid, province="广东省", city="广州市", tags=["科研单位"])
    people.add_records(uid, [record("弩的运输审批", "accepted", submitted_at=date(2024, 5, 6), doc_id=GZ_GUIDE)])
    assert personal_context(people, uid) is None
    people.set_consent(uid, "reminders", True)  # reminders are not personalisation
    assert personal_context(people, uid) is None

    people.set_consent(uid, "personalisation", True)
    ctx = personal_context(people, uid)
    assert (ctx.user_id, ctx.region, ctx.tags, ctx.linked) == (uid, "广州市", ["科研单位"], True)
    answer = ask(assistant, STATUS_Q, ctx)
    assert "当前状态：已受理" in answer.text

    people.set_consent(uid, "personalisation", False)
    assert personal_context(people, uid) is None


def test_reminders_run_cli_writes_one_json_line(tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    engine = make_engine(f"sqlite:///{data / 'zhengwu.sqlite3'}")
    upgrade(engine)
    store = PeopleStore(engine, mask=mask_pii)
    uid = add_user(store, "alice", TODAY + timedelta(days=10))
    add_user(store, "bob", TODAY + timedelta(days=10), reminders=False)

    for name in ("ZHENGWU_DATABASE_URL", "ZHENGWU_DATA_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ZHENGWU_DATA_DIR", str(data))
    out = tmp_path / "outbox.jsonl"

    def run():
        zhengwu.config.get_settings.cache_clear()
        try:
            return CliRunner().invoke(main, ["reminders", "run", "--today", TODAY.isoformat(), "--out", str(out)],
                                      catch_exceptions=False)
        finally:
            zhengwu.config.get_settings.cache_clear()

    result = run()
    assert result.exit_code == 0, result.output
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    sent = json.loads(lines[0])
    assert sent["user_id"] == uid and sent["identities"] == ["telegram:alice"]
    assert sent["item"] == PERMIT and sent["valid_until"] == "2025-06-11"
    assert f"「{PERMIT}」将于2025-06-11到期" in sent["text"]

    again = run()  # marked as sent: nothing new is appended
    assert again.exit_code == 0
    assert out.read_text(encoding="utf-8").splitlines() == lines


# -- 6. suggestions ---------------------------------------------------------------------------------------------

def test_tagged_user_gets_suggestions_marked_as_such(assistant):
    ctx = PersonalContext(region="广州市", tags=["科研单位", "老年人"])
    answer = ask(assistant, SUGGEST_Q, ctx)
    assert answer.status == "answered" and answer.reason == "personal_suggestions"
    assert answer.personal == ["suggestions"]
    assert "仅供参考" in answer.text
    assert "作为科研单位，您可能关注：「实验动物生产许可(新申请)」[1]、「无线电频率使用许可（遗失补办）」[2]。" in answer.text
    assert "作为老年人，您可能关注：「广州市居家养老服务补贴办法（测试样例）」[3]。" in answer.text
    assert [c.doc_id for c in answer.citations] == [LAB_GUIDE, RADIO_GUIDE, POLICY]


def test_suggestions_stay_in_the_users_region(assistant):
    answer = ask(assistant, SUGGEST_Q, PersonalContext(region="广东省", tags=["科研单位", "老年人"]))
    assert answer.reason == "personal_suggestions"
    assert [c.doc_id for c in answer.citations] == [LAB_GUIDE]  # the 广州市 guide and policy are not 广东省's
    assert "老年人" not in answer.text


@pytest.mark.parametrize(
    "personal",
    [None, PersonalContext(region="广州市"), PersonalContext(region="广州市", tags=["未收录的标签"])],
    ids=["no-consent", "untagged", "unknown-tag"],
)
def test_no_suggestions_without_consent_or_tags(assistant, personal):
    answer = ask(assistant, SUGGEST_Q, personal)
    assert answer.reason != "personal_suggestions"
    assert "suggestions" not in answer.personal
    assert "仅供参考" not in answer.text and "您可能关注" not in answer.text


def test_asking_for_suggestions_without_consent_explains_how_rather_than_guessing(assistant):
    answer = ask(assistant, SUGGEST_Q, None)
    assert answer.status == "clarify" and answer.reason == "needs_consent" and "开启个性化" in answer.text
    assert not answer.citations


# -- PII --------------------------------------------------------------------------------------------------------

def test_id_and_mobile_numbers_are_masked_in_answers_and_logs(personal_settings, personal_index, people):
    logged = make_assistant(personal_settings, personal_index, people=people)
    uid = people.user_for("web", "pii-test")
    ctx = alice()
    ctx.user_id = uid
    number = id_number()
    masked_id = number[:6] + "*" * 8 + number[-4:]
    questions = [
        f"我的身份证号是{number}，手机13812345678，弩的运输审批需要什么材料？",
        f"我的身份证号{number}，电话138 1234 5678，我的弩的运输审批办到哪一步了？",
        f"ID {number} phone 13812345678",  # asked back (not Chinese) before anything else runs
        f"{number} 13812345678",  # unreadable
    ]
    answers = [logged.ask(questions[0], user=UserContext(region="广东省")),
               logged.ask(questions[1], user=UserContext(personal=ctx)),
               logged.ask(questions[2]), logged.ask(questions[3])]
    assert answers[0].status == "answered" and answers[1].reason == "personal_status"
    assert [a.reason for a in answers[2:]] == ["language", "unreadable"]
    for answer in answers:
        assert number not in answer.question and "12345678" not in answer.question
        assert masked_id in answer.question and "138****5678" in answer.question.replace(" ", "")
        assert number not in answer.text and "13812345678" not in answer.text

    turns = people.turns()
    assert len(turns) == 4
    assert [t.user_id for t in turns] == [None, uid, None, None]
    for turn in turns:
        assert number not in turn.question and "1234 5678" not in turn.question and "12345678" not in turn.question
        assert masked_id in turn.question
        assert number not in turn.answer and "13812345678" not in turn.answer


def test_reminders_are_delivered_through_the_users_wechat(tmp_path, monkeypatch):
    """`zhengwu reminders run --deliver` sends through 客服消息 of a (fake) WeChat API; the rest go to the outbox."""
    from helpers import serving

    data = tmp_path / "data"
    data.mkdir()
    engine = make_engine(f"sqlite:///{data / 'zhengwu.sqlite3'}")
    upgrade(engine)
    store = PeopleStore(engine, mask=mask_pii)
    wechat_user = add_user(store, "tg-only", TODAY + timedelta(days=5))
    store.link(wechat_user, "wechat", "o-remind-me")
    add_user(store, "telegram-user", TODAY + timedelta(days=7))  # no Telegram token configured: outbox

    fake = FakeWeChatAPI()
    with serving(fake.app) as url:
        for name in ("ZHENGWU_DATABASE_URL", "ZHENGWU_DATA_KEY", "ZHENGWU_TELEGRAM_TOKEN"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("ZHENGWU_DATA_DIR", str(data))
        monkeypatch.setenv("ZHENGWU_WECHAT_APP_ID", "wx-test-app")
        monkeypatch.setenv("ZHENGWU_WECHAT_APP_SECRET", "secret")
        monkeypatch.setenv("ZHENGWU_WECHAT_API_BASE", url)
        out = tmp_path / "outbox.jsonl"
        zhengwu.config.get_settings.cache_clear()
        try:
            result = CliRunner().invoke(main, ["reminders", "run", "--today", TODAY.isoformat(), "--deliver",
                                               "--out", str(out)], catch_exceptions=False)
        finally:
            zhengwu.config.get_settings.cache_clear()
        assert result.exit_code == 0, result.output
        sent = fake.sent_to("o-remind-me")
    assert len(sent) == 1 and f"「{PERMIT}」将于" in sent[0]["body"]["text"]["content"]
    assert "2 reminders, 1 delivered" in result.output
    outbox = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [o["identities"] for o in outbox] == [["telegram:telegram-user"]]
