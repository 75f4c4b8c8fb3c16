import json

import pytest

from zhengwu.quality.evaluation import (
    REPORT_KEYS,
    Question,
    QuestionFileError,
    evaluate,
    gold_ranks,
    must_contain_ok,
    read_questions,
    summarise,
    token_f1,
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
