"""Life events ("一件事"): the shipped YAML files load, refer only to real corpus documents, and turn a small
history into the right next steps."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml
from helpers import FIXTURES, REPO_ROOT

from zhengwu.personal import LifeEvents, LifeEventsError, load_life_events

CORPUS = REPO_ROOT / "corpus"
LIFE_EVENTS = CORPUS / "life_events"


@pytest.fixture(scope="module")
def shipped() -> LifeEvents:
    return load_life_events(LIFE_EVENTS)


def corpus_doc_ids() -> set[str]:
    """``doc_id`` from the front matter of every corpus Markdown file."""
    ids: set[str] = set()
    for path in CORPUS.rglob("*.md"):
        text = path.read_text(encoding="utf-8")
        if not text.startswith("---"):
            continue
        header = text.split("---", 2)[1]
        meta = yaml.safe_load(header) or {}
        if "doc_id" in meta:
            ids.add(str(meta["doc_id"]))
    return ids


def test_shipped_files_load(shipped):
    assert {"出生", "退休", "开办企业", "失业与再就业", "迁入落户"} <= {event.name for event in shipped.events}
    assert {event.id for event in shipped.events} >= {"birth", "retirement", "business", "employment", "settle"}
    assert shipped.follow_ups
    for event in shipped.events:
        assert event.keywords and all(step.match for step in event.steps)


def test_every_listed_doc_id_exists_in_the_corpus(shipped):
    known = corpus_doc_ids()
    assert len(known) > 2000  # the real corpus, not an empty folder
    listed = shipped.doc_ids()
    assert listed
    assert sorted(listed - known) == []


def test_default_folder_is_the_corpus(monkeypatch):
    from zhengwu.config import get_settings

    monkeypatch.setattr(get_settings(), "corpus_dir", CORPUS)
    assert load_life_events().get("出生") is not None


# --- next steps ------------------------------------------------------------------------------------------------


def test_birth_chain(shipped):
    (step,) = shipped.next_steps([("出生医学证明", "completed")])
    assert (step.event, step.next) == ("出生", "新生儿户口登记（入户）")
    assert step.done == ["《出生医学证明》"]
    assert "law-ad781f06b3" in step.doc_ids and "户口登记条例" in step.note
    assert "您已办理：《出生医学证明》" in step.reason and "下一步：新生儿户口登记（入户）" in step.reason

    history = [("出生医学证明", "completed"), ("新生儿入户", "approved"), ("城乡居民医保参保登记", "submitted")]
    (step,) = shipped.next_steps(history)
    assert step.next == "预防接种证与疫苗接种"
    assert step.done == ["《出生医学证明》", "新生儿户口登记（入户）", "新生儿参加城乡居民医保"]


def test_rejected_item_is_not_done(shipped):
    history = [("出生医学证明", "completed"), ("新生儿入户", "rejected")]
    (step,) = shipped.next_steps(history)
    assert step.next == "新生儿户口登记（入户）"
    assert "未获批准" in step.reason and "新生儿入户" in step.reason
    # Applied again after the refusal: the furthest status counts.
    (step,) = shipped.next_steps([*history, ("新生儿入户", "accepted")])
    assert step.next == "新生儿参加城乡居民医保"


def test_optional_steps_are_skipped_once_a_later_step_is_done(shipped):
    suggestions = shipped.next_steps([("企业职工基本养老金申领", "approved")])
    assert [(s.event, s.next) for s in suggestions] == [("退休", "领取养老金资格认证")]
    assert "11440000553612461J2442111003003" in suggestions[0].doc_ids
    # Only a residence permit so far: the chain goes on to the application to move in.
    (step,) = shipped.next_steps([("居住证申领", "completed")])
    assert step.next == "迁入申请（取得准予迁入证明）"
    # Settled without a residence permit: not told to get one.
    (step,) = shipped.next_steps([("户口迁入", "completed")])
    assert (step.event, step.next) == ("迁入落户", "迁入申请（取得准予迁入证明）")


def test_finished_event_gives_no_suggestion(shipped):
    history = [("失业登记", "completed"), ("职业技能鉴定", "completed"), ("就业登记", "completed")]
    assert shipped.next_steps(history) == []


def test_steps_that_do_not_start_an_event(shipped):
    # A first job or a printed 参保证明 does not mean unemployment or retirement.
    assert shipped.next_steps([("就业登记", "completed"), ("个人权益记录（参保证明）查询打印", "completed")]) == []
    (step,) = shipped.next_steps([("失业登记", "approved")])
    assert (step.event, step.next) == ("失业与再就业", "失业保险金申领")


def test_longest_phrase_decides_the_step(shipped):
    # 就业失业登记 contains 就业登记 (step 4) and 失业登记 (step 1) and 就业失业登记 itself (step 1, longest).
    (step,) = shipped.next_steps([("就业失业登记", "completed")])
    assert step.done == ["失业登记"]


def test_matching_ignores_width_and_script(shipped):
    (step,) = shipped.next_steps([("出生醫學證明", "completed")])  # traditional script
    assert step.event == "出生"


def test_follow_up_rules(shipped):
    licence = ("机动车驾驶证初次申领(大陆居民申领小型汽车准驾车型)", "completed")
    (step,) = shipped.next_steps([licence])
    assert (step.event, step.next) == ("驾驶与用车", "机动车注册登记（购车后上牌）")
    assert step.doc_ids == ["11440100007483172Q3440106054000"] and step.done == [licence[0]]
    assert "已办结" in step.reason
    # Not before the licence is granted, and not once the follow-up item is in the history.
    assert shipped.next_steps([(licence[0], "accepted")]) == []
    assert shipped.next_steps([licence, ("机动车注册登记", "submitted")]) == []


def test_follow_up_after_rejection(shipped):
    suggestions = shipped.next_steps([("企业职工基本养老金申领", "rejected")])
    by_event = {s.event: s for s in suggestions}
    assert by_event["社会保险待遇"].next == "行政复议（对决定不服的）"
    assert "未获批准" in by_event["社会保险待遇"].reason
    # The retirement chain is started (the citizen still needs a pension): check the record first.
    assert by_event["退休"].next == "养老保险参保缴费记录核对"
    assert "未获批准" in by_event["退休"].reason


def test_unrelated_history_gives_nothing(shipped):
    assert shipped.next_steps([]) == []
    assert shipped.next_steps([("无线电频率使用许可（新申请）", "approved"), ("", "completed")]) == []


# --- questions -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "event"),
    [
        ("生孩子要办哪些手续", "出生"),
        ("新生儿入户需要什么材料", "出生"),
        ("宝宝出生后要办什么证", "出生"),
        ("我快退休了，要办什么手续？", "退休"),
        ("怎么领养老金", "退休"),
        ("想开公司，流程是什么", "开办企业"),
        ("注册公司需要多少钱", "开办企业"),
        ("被裁员了怎么领失业金", "失业与再就业"),
        ("积分入户需要什么条件", "迁入落户"),
        ("居住证怎么办理", "迁入落户"),
    ],
)
def test_event_for_question(shipped, question, event):
    found = shipped.event_for_question(question)
    assert found is not None and found.name == event


@pytest.mark.parametrize("question", ["护照怎么办理", "今天天气怎么样", ""])
def test_no_event_for_unrelated_questions(shipped, question):
    assert shipped.event_for_question(question) is None


# --- malformed files -------------------------------------------------------------------------------------------


def write_event(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


GOOD = """
name: 测试
keywords: [测试事件]
steps:
  - name: 第一步
    match: [第一项]
  - name: 第二步
    match: [第二项]
"""


def test_small_folder_loads(tmp_path):
    write_event(tmp_path, "a.yaml", GOOD)
    events = load_life_events(tmp_path)
    assert [e.name for e in events.events] == ["测试"] and events.follow_ups == []
    (step,) = events.next_steps([("第一项", "submitted")])
    assert step.next == "第二步"


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        (GOOD.replace("match: [第二项]", "mach: [第二项]"), ["bad.yaml", "steps.1.mach", "unknown key"]),
        (GOOD.replace("    match: [第二项]\n", ""), ["bad.yaml", "steps.1.match", "Field required"]),
        (GOOD.replace("[第二项]", "[]"), ["steps.1.match", "at least 1 item"]),
        (GOOD.replace("[第二项]", "[项]"), ["steps.1.match", "too short"]),
        (GOOD.replace("第二步", "第一步"), ["bad.yaml", "two steps are named '第一步'"]),
        (GOOD.replace("name: 测试\n", ""), ["bad.yaml", "name", "Field required"]),
        (GOOD + "    doc_ids: [1144000000694016742440109001001]\n", ["steps.1.doc_ids", "in quotes"]),
        ("name: [unclosed\n", ["bad.yaml", "not valid YAML", "line"]),
        ("- just\n- a list\n", ["bad.yaml", "expected keys name"]),
    ],
)
def test_malformed_event_names_file_and_field(tmp_path, text, fragments):
    write_event(tmp_path, "bad.yaml", text)
    with pytest.raises(LifeEventsError) as info:
        load_life_events(tmp_path)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_malformed_follow_ups(tmp_path):
    write_event(tmp_path, "a.yaml", GOOD)
    write_event(
        tmp_path,
        "follow_ups.yaml",
        """
        rules:
          - after: [第一项]
            when_status: [finished]
            next: {name: 下一项, match: [下一项]}
        """,
    )
    with pytest.raises(LifeEventsError, match=r"follow_ups.yaml: rules.0.when_status.0"):
        load_life_events(tmp_path)


def test_duplicate_event_names_and_empty_folder(tmp_path):
    with pytest.raises(LifeEventsError, match="no life-event files"):
        load_life_events(tmp_path)
    with pytest.raises(LifeEventsError, match="does not exist"):
        load_life_events(tmp_path / "missing")
    write_event(tmp_path, "a.yaml", GOOD)
    write_event(tmp_path, "b.yaml", GOOD)
    with pytest.raises(LifeEventsError, match="b.yaml: name: event '测试' is already defined in a.yaml"):
        load_life_events(tmp_path)


def test_imported_history_feeds_next_steps(shipped):
    from zhengwu.personal import read_history

    rows = read_history(FIXTURES / "history" / "good.csv").rows
    by_person: dict[str, list[tuple[str, str]]] = {}
    for row in rows:
        person = row.id_number or f"{row.channel}:{row.external_id}"
        by_person.setdefault(person, []).append((row.item_name, row.status))
    # Licence done and the car registration already submitted: nothing to suggest.
    assert shipped.next_steps(by_person["440106198503152017"]) == []
    (pension,) = shipped.next_steps(by_person["440104196007120030"])
    assert pension.next == "领取养老金资格认证"
    (company,) = shipped.next_steps(by_person["telegram:tg-778899"])
    assert (company.event, company.next) == ("开办企业", "公章刻制备案")
