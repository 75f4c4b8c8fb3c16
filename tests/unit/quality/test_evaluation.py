import json
from types import SimpleNamespace

import pytest

from zhengwu.answering.answer import Answer, Citation
from zhengwu.quality.evaluation import (
    REPORT_KEYS,
    Question,
    QuestionFileError,
    answered_correct,
    citation_precision,
    evaluate,
    gold_ranks,
    must_contain_ok,
    read_questions,
    summarise,
    token_f1,
    wrong_answer,
)


def write(tmp_path, rows):
    path = tmp_path / "q.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


def test_reads_the_shared_format(tmp_path):
    path = write(tmp_path, [
        {"id": "a", "question": "电话？", "answerable": True, "gold_doc_ids": ["1"], "must_contain": ["x", ["y", "z"]],
         "turns": ["弩的运输审批"], "profile": {"region": "广州市"}, "meta": {"field": "phone"}},
        {"id": "b", "question": "天气", "answerable": False},
    ])
    first, second = read_questions(path)
    assert first.turns == ["弩的运输审批"] and first.profile["region"] == "广州市"
    assert first.must_contain == ["x", ["y", "z"]]
    assert second.answerable is False and not second.has_gold_docs


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"id": "a", "question": "q"}\n{not json\n', ":2:"),
        ('{"question": "q"}\n', "missing required field 'id'"),
        ('{"id": "a", "question": "q"}\n{"id": "a", "question": "r"}\n', "duplicate id"),
        ("\n\n", "no questions"),
    ],
)
def test_bad_question_files_name_the_line(tmp_path, content, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(QuestionFileError, match=message):
        read_questions(path)


def test_gold_matching_by_id_and_by_title_substring():
    q = Question(id="x", question="?", gold_doc_ids=["d3"], gold_titles=["劳动合同法"])
    titles = {"d1": "中华人民共和国劳动合同法", "d2": "其他", "d3": "x"}
    assert gold_ranks(q, ["d2", "d1", "d3"], titles) == [1, 2]


def test_must_contain_alternatives():
    q = Question(id="x", question="?", must_contain=["020-1234", ["7个工作日", "7(工作日)"]])
    assert must_contain_ok(q, "电话 020-1234，时限 7(工作日)")
    assert not must_contain_ok(q, "电话 020-1234")


def test_token_f1_ignores_citation_markers():
    assert token_f1("办理地点在广州市 [1]", "办理地点在广州市") == pytest.approx(1.0)
    assert token_f1("完全无关", "办理地点在广州市") == 0.0


def test_summary_metrics_and_exact_keys():
    rows = [
        {"answerable": True, "status": "answered", "first_hit_rank": 1, "ndcg@10": 1.0, "must_contain": True,
         "latency_ms": 10.0},
        {"answerable": True, "status": "refused", "first_hit_rank": 3, "ndcg@10": 0.5, "must_contain": False,
         "latency_ms": 30.0},
        {"answerable": True, "status": "answered", "first_hit_rank": None, "ndcg@10": 0.0, "latency_ms": 20.0},
        {"answerable": False, "status": "refused", "latency_ms": 40.0},
    ]
    report = summarise(rows)
    assert tuple(report) == REPORT_KEYS
    assert report["hit@1"] == pytest.approx(1 / 3, abs=1e-3)
    assert report["hit@5"] == pytest.approx(2 / 3, abs=1e-3)
    assert report["mrr@10"] == pytest.approx((1 + 1 / 3) / 3, abs=1e-3)
    assert report["must_contain"] == 0.5
    assert report["refusal_rate"] == 1.0
    assert report["false_refusal_rate"] == pytest.approx(1 / 3, abs=1e-3)
    assert report["token_f1"] is None  # no question had a gold answer
    assert report["latency_p50_ms"] == 25.0
    assert report["n"] == 4


def test_evaluate_end_to_end_on_the_fixture_corpus(assistant, tmp_path):
    path = write(tmp_path, [
        {"id": "phone", "question": "实验动物生产许可的咨询电话是多少？", "answerable": True,
         "gold_doc_ids": ["11440000006939801C244010300100103"], "must_contain": ["020-84106805"]},
        {"id": "law", "question": "居民身份证有效期多久？", "answerable": True, "gold_titles": ["居民身份证法"],
         "gold_answer": "十六周岁以上公民的居民身份证的有效期为十年、二十年、长期。"},
        {"id": "follow", "question": "那需要什么材料？", "turns": ["弩的运输审批在哪里办理？"],
         "profile": {"region": "广东省广州市"}, "answerable": True, "must_contain": ["申请运输弩审批表"]},
        {"id": "other-city", "question": "上海市公积金怎么提取？", "answerable": False},
    ])
    report = evaluate(assistant, read_questions(path))
    assert report["hit@1"] == 1.0
    assert report["must_contain"] == 1.0
    assert report["refusal_rate"] == 1.0
    assert report["false_refusal_rate"] == 0.0
    assert report["token_f1"] > 0.1  # the answer quotes the whole article, the gold one sentence
    assert [r["id"] for r in report["rows"]] == ["phone", "law", "follow", "other-city"]


# --- answer-level metrics: answered_correct, wrong_answer_rate, citation_precision, handoff_rate ----------------


def r(answerable=True, status="answered", reason="", **extra):
    """A hand-made report row; ``first_hit_rank`` present means the question has gold documents."""
    row = {"answerable": answerable, "status": status, "reason": reason, "latency_ms": 10.0, **extra}
    if "first_hit_rank" in row:
        row["ndcg@10"] = 1.0
    return row


def test_answer_level_metrics_on_hand_made_rows():
    rows = [
        r(must_contain=True, first_hit_rank=1, cited_gold=[True, False]),  # right, cites one gold of two
        r(must_contain=False, first_hit_rank=1, cited_gold=[True]),  # answered, a must_contain element missing
        r(status="refused", reason="weak_evidence", must_contain=False),  # a false refusal, not a wrong answer
        r(first_hit_rank=2, cited_gold=[False, False]),  # no must_contain, cites no gold document: wrong
        r(first_hit_rank=1, cited_gold=[True]),  # no must_contain, cites the gold document: not wrong
        r(),  # no must_contain, no gold documents: cannot be judged, never wrong
        r(answerable=False),  # unanswerable but answered: wrong
        r(answerable=False, status="refused", reason="handoff"),  # a complaint handed off to 12345
        r(answerable=False, status="refused", reason="out_of_scope"),
        r(answerable=False, status="clarify", reason="weak_evidence"),  # asked back: not an answer
    ]
    report = summarise(rows)
    assert tuple(report) == REPORT_KEYS
    # answerable with must_contain: rows 0, 1, 2; only row 0 is answered with every element.
    assert report["answered_correct"] == pytest.approx(1 / 3, abs=1e-4)
    assert report["must_contain"] == pytest.approx(1 / 3, abs=1e-4)
    # wrong: rows 1 (must_contain missing), 3 (no gold citation), 6 (unanswerable answered), over all 10.
    assert [wrong_answer(x) for x in rows] == [False, True, False, True, False, False, True, False, False, False]
    assert report["wrong_answer_rate"] == 0.3
    # precision over answered rows with gold documents: 0, 1, 3, 4 → (.5 + 1 + 0 + 1) / 4.
    assert [citation_precision(x) for x in rows[:5]] == [0.5, 1.0, None, 0.0, 1.0]
    assert report["citation_precision"] == 0.625
    assert report["handoff_rate"] == 0.1
    # The handoff is a refusal like any other: 2 of the 4 unanswerable refused, 1 of the 6 answerable.
    assert report["refusal_rate"] == 0.5
    assert report["false_refusal_rate"] == pytest.approx(1 / 6, abs=1e-4)


def test_answer_level_metrics_edge_cases():
    # An answer without citations cites no gold document: precision 0 and, without must_contain, wrong.
    uncited = r(first_hit_rank=1, cited_gold=[])
    assert citation_precision(uncited) == 0.0 and wrong_answer(uncited)
    # must_contain decides when present, whatever the citations.
    assert not wrong_answer(r(must_contain=True, first_hit_rank=1, cited_gold=[False]))
    # Unanswerable questions never count for answered_correct.
    assert answered_correct(r(answerable=False, must_contain=True)) is None
    # No question answered: no precision, no answered_correct; refusals are not wrong answers.
    refused = summarise([r(status="refused", must_contain=True, first_hit_rank=1, cited_gold=[]),
                         r(answerable=False, status="refused", reason="handoff")])
    assert refused["citation_precision"] is None
    assert refused["answered_correct"] == 0.0 and refused["wrong_answer_rate"] == 0.0
    assert refused["handoff_rate"] == 0.5
    # No question has must_contain or gold documents: those metrics are None, the rates over all are not.
    plain = summarise([r(), r(answerable=False, status="refused")])
    assert plain["answered_correct"] is None and plain["citation_precision"] is None
    assert plain["wrong_answer_rate"] == 0.0 and plain["handoff_rate"] == 0.0
    # Rows of reports saved before these metrics (no cited_gold) still summarise.
    old = summarise([{"answerable": True, "status": "answered", "first_hit_rank": 1, "ndcg@10": 1.0, "latency_ms": 1.0}])
    assert old["citation_precision"] is None and old["wrong_answer_rate"] == 0.0


class StubAssistant:
    """Answers each question with a canned Answer; documents d1..d3 in the index."""

    def __init__(self, answers: dict[str, Answer]) -> None:
        self.answers = answers
        docs = {d: SimpleNamespace(doc_id=d, title=t) for d, t in (("d1", "住房公积金管理条例"), ("d2", "其他"),
                                                                     ("d3", "居民身份证法"))}
        self.index = SimpleNamespace(documents=lambda: docs)

    def warm_up(self) -> None:
        pass

    def ask(self, text, session=None, user=None) -> Answer:
        return self.answers[text]


def cite(*doc_ids: str) -> list[Citation]:
    return [Citation(n, d, f"title of {d}", "第一条", "", "") for n, d in enumerate(doc_ids, 1)]


def test_evaluate_records_cited_documents_and_the_new_metrics():
    answers = {
        "half": Answer("half", "答复 020 [1][2]", "answered", cite("d1", "d2"), retrieved=["d1", "d2"]),
        "by-title": Answer("by-title", "答复 [1]", "answered", cite("d3"), retrieved=["d3"]),
        "off": Answer("off", "答复 [1]", "answered", cite("d2"), retrieved=["d2"]),
        "other-city": Answer("other-city", "上海的办法……", "answered", cite("d2"), retrieved=["d2"]),
        "complaint": Answer("complaint", "请拨打 12345", "refused", reason="handoff"),
    }
    questions = [
        Question("half", "half", gold_doc_ids=["d1"], must_contain=["020"]),
        Question("by-title", "by-title", gold_titles=["身份证"]),
        Question("off", "off", gold_doc_ids=["d1"]),
        Question("other-city", "other-city", answerable=False),
        Question("complaint", "complaint", answerable=False),
    ]
    report = evaluate(StubAssistant(answers), questions)
    rows = {row["id"]: row for row in report["rows"]}
    assert rows["half"]["cited_doc_ids"] == ["d1", "d2"] and rows["half"]["cited_gold"] == [True, False]
    assert rows["half"]["citation_precision"] == 0.5 and rows["half"]["answered_correct"] is True
    assert rows["by-title"]["cited_gold"] == [True] and rows["by-title"]["wrong_answer"] is False
    assert rows["off"]["citation_precision"] == 0.0 and rows["off"]["wrong_answer"] is True
    assert "answered_correct" not in rows["off"]
    assert rows["other-city"]["wrong_answer"] is True and "cited_gold" not in rows["other-city"]
    assert rows["complaint"]["wrong_answer"] is False and rows["complaint"]["cited_doc_ids"] == []
    assert report["answered_correct"] == 1.0
    assert report["citation_precision"] == 0.5  # (.5 + 1 + 0) / 3
    assert report["wrong_answer_rate"] == 0.4  # off and other-city, of 5
    assert report["handoff_rate"] == 0.2
    assert report["refusal_rate"] == 0.5  # the handoff is one of the two unanswerable, refused
