"""Reports for staff (``zhengwu.reporting``): the HTML evaluation report, ``zhengwu eval compare``, the
``zhengwu eval`` default-command dispatch, and ``zhengwu corpus health``. Offline, fixture corpus only."""

from __future__ import annotations

import json
import os
import re
import shutil
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from helpers import FIXTURE_CORPUS

import zhengwu.config
from zhengwu.cli.main import main
from zhengwu.index.store import DocMeta
from zhengwu.quality.evaluation import Question, evaluate, summarise
from zhengwu.quality.reports import charts, compare, eval_report, health

SCRIPT = "<script>alert('x')</script>"
PHONE_QUESTION = "弩的运输审批的咨询电话是多少？"
PROVINCE_ID = "11440000006940140C2440106013004"
CITY_ID = "11440100007483172Q3440106013004"


# --- helpers ---------------------------------------------------------------------------------------------------


def row(qid: str, *, rank: int | None | str = "none", must: bool | None = None, status: str = "answered",
        answerable: bool = True, latency: float = 30.0, field: str | None = None, retrieved: list[str] | None = None,
        question: str | None = None, answer: str = "答复。") -> dict:
    """One report row as ``evaluate`` writes it; ``rank="none"`` means the question has no gold documents."""
    r = {
        "id": qid, "personal": [], "question": question or f"问题 {qid}", "answerable": answerable, "status": status,
        "reason": "out_of_scope" if status == "refused" else "", "retrieved": retrieved or [],
        "retrieved_titles": [], "answer": answer, "citations": [], "latency_ms": latency, "path": "composer",
        "meta": {"field": field} if field else {},
    }
    if rank != "none":
        r["first_hit_rank"] = rank
        r["ndcg@10"] = 1.0 if rank == 1 else 0.5 if rank else 0.0
    if must is not None:
        r["must_contain"] = must
    return r


def doc(doc_id: str, title: str, department: str, doc_type: str = "service_guide", region: str = "广东省") -> DocMeta:
    return DocMeta(doc_id, title, doc_type, region, department, "2024-01-01", "", "active", {})


DOCS = {
    "g1": doc("g1", "弩的运输审批", "广东省公安厅"),
    "g2": doc("g2", "实验动物生产许可", "广东省科学技术厅"),
    "law": doc("law", "中华人民共和国居民身份证法", "全国人民代表大会常务委员会", "law", "全国"),
}


def synthetic_report() -> dict:
    rows = [
        row("p1", rank=1, must=True, field="phone", retrieved=["g1", "g2"], latency=20),
        row("p2", rank=3, must=True, field="phone", retrieved=["law", "g2", "g1"], latency=40),
        row("m1", rank=None, must=False, field="materials", retrieved=["law"], latency=60,
            question=f"{SCRIPT}需要什么材料？", answer="<b>粗体</b> & 更多"),
        row("u1", status="refused", answerable=False, latency=5),
        row("u2", status="answered", answerable=False, latency=50, question="上海的居住证怎么办？"),
    ]
    return summarise(rows)


def html_checks(html: str) -> None:
    """Self-contained: nothing loaded from elsewhere, no scripts, charts inline."""
    assert "<!doctype html>" in html.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), "no external resources"
    assert "<link" not in html and "@import" not in html and "url(" not in html
    assert "<script" not in html, "no scripts, and user text is escaped"
    assert "data:image/png;base64," in html or "<svg" in html


class Cli:
    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args, code: int = 0) -> Result:
        zhengwu.config.get_settings.cache_clear()
        try:
            result = self.runner.invoke(main, [str(a) for a in args], catch_exceptions=False)
        finally:
            zhengwu.config.get_settings.cache_clear()
        assert result.exit_code == code, f"zhengwu {' '.join(map(str, args))} exited {result.exit_code}:\n{result.output}"
        return result


def isolate(mp: pytest.MonkeyPatch, data: Path, corpus: Path) -> None:
    for name in list(os.environ):
        if name.startswith("ZHENGWU_"):
            mp.delenv(name)
    mp.setenv("ZHENGWU_DATA_DIR", str(data))
    mp.setenv("ZHENGWU_CORPUS_DIR", str(corpus))
    mp.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    isolate(monkeypatch, tmp_path / "data", tmp_path / "no-corpus")
    return Cli()


# --- the HTML evaluation report --------------------------------------------------------------------------------


def test_html_report_from_a_synthetic_report() -> None:
    report = synthetic_report()
    html = eval_report.render_html(report, DOCS, source="dev.jsonl")
    html_checks(html)
    assert "政务助手评测报告" in html and "Evaluation report" in html
    # Headline numbers: 3 questions with gold documents, hits at 1, 3 and none.
    assert report["hit@1"] == pytest.approx(1 / 3, abs=1e-3) and report["hit@5"] == pytest.approx(2 / 3, abs=1e-3)
    for text in ("33.3%", "66.7%", f"{report['mrr@10']:.3f}", "50.0%", f"{report['latency_p50_ms']:,.0f} ms"):
        assert text in html, text
    assert ">5<" in html  # n
    assert "4 / 1 / 0" in html  # answered / refused / clarify
    # Breakdowns: by set, meta.field, department and document type.
    for text in ("dev.jsonl", "phone", "materials", "广东省公安厅", "全国人民代表大会常务委员会", "办事指南 service guide",
                 "法律法规 law"):
        assert text in html, text
    # The department of a hit is the gold document's: p2 hit at rank 3 (g1), so 广东省科学技术厅 has no question.
    assert "广东省科学技术厅" not in html.split("最差问题")[0]
    # Worst questions: misses first, the user's text escaped.
    worst = html.split("最差问题", 1)[1]
    assert "&lt;script&gt;" in worst and SCRIPT not in html
    assert "&lt;b&gt;粗体&lt;/b&gt; &amp; 更多" in worst
    order = [worst.index(x) for x in ("m1", "u2", "p2")]
    assert order == sorted(order), "the double miss, then the wrongly answered question, then the rank-3 hit"
    assert "应拒答却回答" in worst and "首个命中排第 3" in worst
    assert ">p1<" not in worst and ">u1<" not in worst, "questions without a problem are not listed"


def test_worst_ordering_and_hit_curve() -> None:
    rows = synthetic_report()["rows"]
    assert [r["id"] for r, _ in eval_report.worst_rows(rows)] == ["m1", "u2", "p2"]
    curve = eval_report.hit_curve(rows)
    assert len(curve) == 10
    assert curve[0] == pytest.approx(1 / 3) and curve[2] == pytest.approx(2 / 3) and curve[9] == pytest.approx(2 / 3)


def test_html_report_without_docs_and_without_misses(tmp_path: Path) -> None:
    report = summarise([row("a", rank=1, must=True), row("b", status="refused", answerable=False)])
    out = eval_report.write_html(report, tmp_path / "sub" / "r.html")
    html = out.read_text(encoding="utf-8")
    html_checks(html)
    assert "By department" not in html, "no document metadata: no department table"
    assert "No misses" in html


def answer_level_report() -> dict:
    """Rows with known answer-level metrics: answered_correct 1/2, wrong answers 3/6, citation precision .5,
    handoff 1/6."""
    rows = [
        row("ok", rank=1, must=True, retrieved=["g1", "g2"]),
        row("refused", rank=None, must=False, status="refused", retrieved=["law"]),  # 3 severe problems
        row("uncited", rank=2, retrieved=["g2", "g1"]),  # no must_contain, cites no gold document
        row("mc", rank=1, must=False, retrieved=["g1"]),  # must_contain missing (1 severe problem)
        row("other", answerable=False),  # answered, should refuse
        row("complaint", status="refused", answerable=False),
    ]
    rows[0].update(cited_doc_ids=["g1", "g2"], cited_gold=[True, False])
    rows[2].update(cited_doc_ids=["g2"], cited_gold=[False])
    rows[3].update(cited_doc_ids=["g1"], cited_gold=[True])
    rows[1]["reason"] = "weak_evidence"
    rows[5]["reason"] = "handoff"
    return summarise(rows)


def test_html_report_shows_answer_level_metrics_and_refusal_reasons() -> None:
    report = answer_level_report()
    assert report["answered_correct"] == pytest.approx(1 / 3, abs=1e-4)  # ok of ok, refused, mc
    assert report["wrong_answer_rate"] == 0.5  # uncited, mc, other of 6
    assert report["citation_precision"] == pytest.approx((0.5 + 0 + 1) / 3, abs=1e-4)
    assert report["handoff_rate"] == pytest.approx(1 / 6, abs=1e-4)
    html = eval_report.render_html(report, DOCS, source="dev.jsonl")
    html_checks(html)
    cards = html.split("分项统计")[0]
    for label, value in (("答对率 · answered correct", "33.3%"), ("答错率 · wrong answers", "50.0%"),
                         ("引用准确率 · citation precision", "50.0%"), ("转办率 · handoff rate", "16.7%")):
        assert re.search(rf'{re.escape(label)}</div><div class="value">{re.escape(value)}</div>', cards), label
    assert "3 of 6 answered though wrong" in cards and "1 of 6 handed off to 12345" in cards
    for line in ("答对率 answered correct:", "答错率 wrong answers:", "引用准确率 citation precision:",
                 "转办率 handoff rate:"):
        assert f"<li>{line}" in cards, f"explanation of {line}"
    # Refusals by reason: weak_evidence (answerable: a false refusal) and handoff, one each.
    reasons = html.split("Refusals by reason", 1)[1].split("</table>", 1)[0]
    assert re.search(r"<td>handoff</td><td>[^<]*</td><td class=\"num\">1</td><td class=\"num\">50\.0%</td>", reasons)
    assert "<td>weak_evidence</td><td>资料不足</td>" in reasons
    # Worst questions: wrong answers first, even before a refusal with more problems.
    worst = html.split("最差问题", 1)[1]
    order = [worst.index(f">{x}<") for x in ("other", "uncited", "mc", "refused")]
    assert order == sorted(order), "wrong answers (the lowest hit rank first), then the false refusal"
    assert "答错 wrong answer: no gold doc cited" in worst and "50% of citations gold" in worst
    assert ">complaint<" not in worst


def test_worst_rows_put_wrong_answers_before_refusals() -> None:
    rows = answer_level_report()["rows"]
    assert [r["id"] for r, _ in eval_report.worst_rows(rows)] == ["other", "uncited", "mc", "refused", "ok"]


def test_charts_use_an_installed_cjk_font_or_english() -> None:
    assert charts.label("命中", "hit") in ("命中 hit", "hit")
    if charts.cjk_font():
        assert "CJK" in charts.cjk_font() or "Hei" in charts.cjk_font() or "Han" in charts.cjk_font()
    uri = charts.hit_at_k_chart([0.5, 0.7, 1.0])
    assert uri.startswith("data:image/png;base64,") and len(uri) > 1000


def test_html_report_of_a_real_run(assistant, tmp_path: Path) -> None:
    questions = [
        Question("q-phone", PHONE_QUESTION, gold_doc_ids=[PROVINCE_ID, CITY_ID],
                 must_contain=[["020-83110470", "020-12345"]], meta={"field": "phone"}),
        Question("q-law", "居民身份证的有效期有哪几种？", gold_titles=["中华人民共和国居民身份证法"], must_contain=["十年"]),
        Question("q-miss", "弩的运输审批需要哪些材料？", gold_doc_ids=["no-such-doc"], meta={"field": "materials"}),
        Question("q-script", f"{SCRIPT}上海市的居住证怎么办理？", answerable=False, meta={"kind": "other_city"}),
    ]
    report = evaluate(assistant, questions)
    out = eval_report.write_html(report, tmp_path / "report.html", assistant.index.documents(), source="mine.jsonl")
    html = out.read_text(encoding="utf-8")
    html_checks(html)
    assert "mine.jsonl" in html and "phone" in html and "other_city" in html
    assert "广东省公安厅" in html and "办事指南 service guide" in html and "法律法规 law" in html
    worst = html.split("最差问题", 1)[1]
    assert "q-miss" in worst and "未检索到" in worst
    assert "弩的运输审批" in worst, "what was retrieved for the miss is shown"
    assert SCRIPT not in html
    if report["rows"][3]["status"] != "refused":
        assert "&lt;script&gt;" in worst
    n_docs = len(assistant.index.documents())
    assert f"{n_docs:,} documents" in html


# --- compare ---------------------------------------------------------------------------------------------------


def compare_pair() -> tuple[dict, dict]:
    a = summarise([
        row("r1", rank=1, must=True), row("r2", rank=2, must=True), row("r3", rank=None, must=False),
        row("r4", rank=1, must=True), row("u1", status="refused", answerable=False),
        row("u2", status="answered", answerable=False), row("gone", rank=1),
    ])
    b = summarise([
        row("r1", rank=4, must=True),  # rank worse
        row("r2", rank=1, must=True),  # rank better
        row("r3", rank=1, must=True),  # miss -> hit, must_contain fixed
        row("r4", rank=1, must=False, status="refused"),  # must_contain broken and a false refusal
        row("u1", status="answered", answerable=False),  # should have refused
        row("u2", status="refused", answerable=False),  # now correctly refused
        row("new", rank=1),
    ])
    return a, b


def test_compare_deltas_and_question_lists() -> None:
    a, b = compare_pair()
    result = compare.compare_reports(a, b)
    hit1 = result.metric("hit@1")
    assert hit1.a == a["hit@1"] and hit1.b == b["hit@1"]
    assert hit1.delta == pytest.approx(b["hit@1"] - a["hit@1"])
    false_refusals = result.metric("false_refusal_rate")
    assert false_refusals.delta == pytest.approx(0.2) and false_refusals.worsening == pytest.approx(0.2)
    assert not false_refusals.improved
    assert result.metric("must_contain").delta == pytest.approx(b["must_contain"] - a["must_contain"])
    assert result.matched == 6 and result.only_a == ["gone"] and result.only_b == ["new"]
    worse = {d.id: [c.text for c in d.changes] for d in result.worse}
    better = {d.id: [c.text for c in d.changes] for d in result.better}
    assert set(worse) == {"r1", "r4", "u1"}
    assert set(better) == {"r2", "r3", "u2"}
    assert worse["r1"] == ["hit rank 1 → 4"]
    assert "must_contain ✓ → ✗" in worse["r4"] and any("false refusal" in t for t in worse["r4"])
    assert any("should refuse" in t for t in worse["u1"])
    assert "hit rank miss → 1" in better["r3"] and "must_contain ✗ → ✓" in better["r3"]
    text = compare.render_text(result, threshold=0.05)
    assert re.search(r"^false_refusal_rate .*▲ +\+0\.2000 +REGRESSION$", text, re.M), text
    assert re.search(r"^hit@1 .*▲ +\+0\.2000 +better$", text, re.M), text
    html = compare.render_html(result, threshold=0.05)
    html_checks_compare(html)


def test_compare_answer_level_metrics() -> None:
    a = answer_level_report()
    rows_b = [dict(r) for r in a["rows"]]
    rows_b[2].update(cited_gold=[True])  # "uncited" now cites its gold document: no longer wrong
    rows_b[4].update(status="refused", reason="handoff")  # "other" is now refused as a handoff
    b = summarise(rows_b)
    result = compare.compare_reports(a, b)
    wrong = result.metric("wrong_answer_rate")
    assert wrong.delta == pytest.approx(-2 / 6, abs=1e-4) and wrong.improved and wrong.gated
    assert result.metric("citation_precision").improved and result.metric("answered_correct").delta == 0
    handoff = result.metric("handoff_rate")
    assert handoff.delta == pytest.approx(1 / 6, abs=1e-4)
    assert not handoff.improved and handoff.worsening == 0 and not handoff.gated, "no better direction"
    better = {d.id: [c.text for c in d.changes] for d in result.better}
    assert better["uncited"] == ["wrong answer yes → no"]
    assert better["other"] == ["answered → refused"], "the refusal says it already"
    text = compare.render_text(result, threshold=0.0)
    assert re.search(r"^wrong_answer_rate .*▼ +-0\.3333 +better$", text, re.M), text
    assert re.search(r"^handoff_rate .*▲ +\+0\.166\d$", text, re.M), text
    assert not result.regressions(0.0)
    # Answering a question it used to refuse, but wrongly, is listed as worse.
    c = summarise([{**rows_b[1], "status": "answered", "reason": ""}] + rows_b[2:])
    worse = {d.id: [x.text for x in d.changes] for d in compare.compare_reports(b, c).worse}
    assert worse["refused"] == ["refused → answered", "wrong answer no → yes"]


def html_checks_compare(html: str) -> None:
    assert "<script" not in html and "<link" not in html and "http" not in html.split("<body>")[0]
    assert re.search(r'class="num down">▲ \+0\.2000', html), "a rise of false refusals is red"
    assert re.search(r'class="num up">▲ \+0\.2000', html), "a rise of hit@1 is green"
    assert "变差的问题 (3)" in html and "变好的问题 (3)" in html


def test_compare_identical_reports_has_no_changes() -> None:
    a, _ = compare_pair()
    result = compare.compare_reports(a, a)
    assert not result.worse and not result.better and not result.regressions(0.0)
    assert all(m.delta in (0, None) for m in result.metrics)


def test_compare_cli_exit_codes(cli: Cli, tmp_path: Path) -> None:
    a, b = compare_pair()
    pa, pb = tmp_path / "a.json", tmp_path / "b.json"
    pa.write_text(json.dumps(a, ensure_ascii=False), encoding="utf-8")
    pb.write_text(json.dumps(b, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "diff.html"
    plain = cli("eval", "compare", pa, pb, "--html", out)
    assert "hit@1" in plain.output and "worse: 3 questions" in plain.output and "better: 3 questions" in plain.output
    assert "r1: hit rank 1 → 4" in plain.output
    assert out.exists() and "▲" in out.read_text(encoding="utf-8")
    failed = cli("eval", "compare", pa, pb, "--fail-on-regression", "0.05", code=1)
    assert "regression: false_refusal_rate" in failed.output
    cli("eval", "compare", pa, pb, "--fail-on-regression", "0.5")  # no metric worse by half
    cli("eval", "compare", pb, pb, "--fail-on-regression", "0")  # identical: nothing to fail on
    bad = tmp_path / "bad.json"
    bad.write_text("{}", encoding="utf-8")
    assert "not a `zhengwu eval --out` report" in cli("eval", "compare", bad, pb, code=1).output


# --- the eval command group ------------------------------------------------------------------------------------

KB = [
    {"id": "kb-1", "title": "驾驶证换证", "text": "机动车驾驶证有效期满前九十日内，驾驶人可以向任一车辆管理所申请换证。",
     "metadata": {"department": "公安局交通管理局"}},
    {"id": "kb-2", "title": "公租房申请", "text": "申请公租房需要本市户籍，向街道办事处提出申请。",
     "metadata": {"department": "住房和城乡建设委员会"}},
]
KB_QUESTIONS = [
    {"id": "k1", "question": "驾驶证到期了怎么换证？", "gold_doc_ids": ["kb-1"], "meta": {"field": "where"}},
    {"id": "k2", "question": f"{SCRIPT}公租房申请条件是什么？", "gold_doc_ids": ["kb-2"]},
]


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def built_data(tmp_path_factory) -> tuple[Path, Path]:
    """A data dir indexed from the fixture corpus with `zhengwu ingest`."""
    root = tmp_path_factory.mktemp("reporting-built")
    mp = pytest.MonkeyPatch()
    try:
        isolate(mp, root / "data", FIXTURE_CORPUS)
        Cli()("ingest", "--quiet")
    finally:
        mp.undo()
    return root / "data", FIXTURE_CORPUS


def test_eval_questions_html_prints_metrics_and_writes_the_file(built_data, tmp_path, monkeypatch) -> None:
    isolate(monkeypatch, *built_data)
    questions = write_jsonl(tmp_path / "qs.jsonl", [
        {"id": "q-phone", "question": PHONE_QUESTION, "gold_doc_ids": [PROVINCE_ID, CITY_ID],
         "must_contain": [["020-83110470", "020-12345"]], "meta": {"field": "phone"}},
        {"id": "q-out", "question": "上海市的居住证怎么办理？", "answerable": False},
    ])
    html, out = tmp_path / "r" / "report.html", tmp_path / "r.json"
    result = Cli()("eval", questions, "--quiet", "--out", out, "--html", html)
    for key in ("hit@1", "hit@5", "mrr@10", "must_contain", "refusal_rate", "latency_p50_ms"):
        assert re.search(rf"^\s*{re.escape(key)}: ", result.output, re.M), key
    assert "counts: questions=2" in result.output
    assert f"HTML report written to {html}" in result.output
    page = html.read_text(encoding="utf-8")
    html_checks(page)
    assert "qs.jsonl" in page and re.search("广(东省|州市)公安(厅|局)", page)  # the department of the guide found
    assert list(json.loads(out.read_text(encoding="utf-8")))[:3] == ["hit@1", "hit@5", "mrr@10"]

    # Options before the file still reach the default command; `run` names it explicitly.
    again = Cli()("eval", "--quiet", "--limit", "1", questions)
    assert re.search(r"^\s*n: 1$", again.output, re.M)
    assert re.search(r"^\s*n: 2$", Cli()("eval", "run", questions, "--quiet").output, re.M)

    # `render` rebuilds the page from saved reports, several merged with a breakdown by report.
    merged = tmp_path / "merged.html"
    shutil.copy(out, tmp_path / "second.json")
    Cli()("eval", "render", out, tmp_path / "second.json", "--html", merged)
    page = merged.read_text(encoding="utf-8")
    html_checks(page)
    assert ">r<" in page and ">second<" in page and ">4<" in page and re.search("广(东省|州市)公安(厅|局)", page)


def test_eval_kb_html_escapes_questions(cli: Cli, tmp_path: Path) -> None:
    kb = write_jsonl(tmp_path / "kb.jsonl", KB)
    questions = write_jsonl(tmp_path / "q.jsonl", KB_QUESTIONS)
    html = tmp_path / "kb.html"
    cli("eval", questions, "--kb", kb, "--quiet", "--html", html)
    page = html.read_text(encoding="utf-8")
    html_checks(page)
    assert SCRIPT not in page
    assert "公安局交通管理局" in page or "住房和城乡建设委员会" in page, "departments of the throwaway KB index"


def test_eval_unknown_command_or_missing_file(cli: Cli, tmp_path: Path) -> None:
    result = cli("eval", "comapre", "a.json", "b.json", code=2)
    assert "no command 'comapre'" in result.output and "compare" in result.output
    result = cli("eval", tmp_path / "nope.jsonl", code=2)
    assert "does not exist" in result.output
    assert "eval QUESTIONS [OPTIONS]" in cli("eval", "--help").output


def test_export_reviewed_writes_the_reviewed_answers_as_a_question_file(cli: Cli, tmp_path: Path) -> None:
    from zhengwu.config import Settings
    from zhengwu.personal import open_people_store
    from zhengwu.quality.evaluation import read_questions
    from zhengwu.review import ReviewStore, Source

    people = open_people_store(Settings(data_dir=tmp_path / "data"))
    reviews = ReviewStore.of(people)
    wrong = people.log_turn("a" * 32, None, "web", "弩的运输审批电话？", "答非所问。", "answered")
    right = people.log_turn("a" * 32, None, "web", "弩的运输审批在哪办？", "在窗口办理。", "answered")
    reviews.add_review(wrong, "cli:test", "wrong", ["retrieval_miss"], corrected_answer="电话是020-1。",
                       sources=[Source("g1", "弩的运输审批", "咨询电话", "")], must_contain=["020-1"])
    reviews.add_review(right, "cli:test", "correct")
    people.engine.dispose()

    out = tmp_path / "reviewed.jsonl"
    result = cli("eval", "export-reviewed", out, "--rating", "wrong")  # only answers rated so, not a floor
    assert "1 reviewed questions written" in result.output
    [item] = read_questions(out)  # a question file `zhengwu eval` reads back
    assert item.question == "弩的运输审批电话？" and item.gold_doc_ids == ["g1"] and item.must_contain == ["020-1"]
    assert "2 reviewed questions written" in cli("eval", "export-reviewed", out).output
    cli("eval", "export-reviewed", out, "--rating", "excellent", code=2)


# --- corpus health ---------------------------------------------------------------------------------------------

NO_PHONE = "11440000006939801C244010300100103"
OLD = "11440100007482567N3440104012004"
REPEALED = "law-f4bf3e76cb"
NO_MATERIALS = "11440000006940140C2442106397007"  # a progress query: its 申请材料 already says 无


@pytest.fixture
def sick_corpus(corpus_copy: Path) -> Path:
    """The fixture corpus with one guide's 咨询电话 emptied, one guide dated 2015 and one law repealed."""
    guide = corpus_copy / "guides" / f"{NO_PHONE}.md"
    text = guide.read_text(encoding="utf-8")
    guide.write_text(re.sub(r"(## 咨询电话\n)[^\n#]+", r"\1无", text), encoding="utf-8")
    old = corpus_copy / "guides" / f"{OLD}.md"
    old.write_text(re.sub(r"updated: '[^']+'", "updated: '2015-03-01'", old.read_text(encoding="utf-8")),
                   encoding="utf-8")
    law = corpus_copy / "laws" / "北京市机动车停车条例.md"
    law.write_text(law.read_text(encoding="utf-8").replace("status: active", "status: repealed"), encoding="utf-8")
    return corpus_copy


def test_health_finds_each_problem(sick_corpus: Path) -> None:
    report, errors = health.check_paths([sick_corpus], as_of=date(2022, 1, 1), stale_days=730,
                                        retrieved={PROVINCE_ID, CITY_ID}, retrieval_reports=["x.json"],
                                        questions_seen=2)
    assert not errors
    assert report.documents == 8
    missing = {m.doc.doc_id: m.fields for m in report.missing_fields}
    assert missing == {NO_PHONE: ("咨询电话",), NO_MATERIALS: ("申请材料",)}
    assert [s.doc.doc_id for s in report.stale] == [OLD] and report.stale[0].age_days == (date(2022, 1, 1) -
                                                                                          date(2015, 3, 1)).days
    assert [d.doc_id for d in report.inactive] == [REPEALED] and report.inactive[0].status == "repealed"
    shared = {s.title: s.regions for s in report.shared_titles}
    assert shared == {"弩的运输审批": ("广东省", "广州市")}
    assert report.never_retrieved is not None and len(report.never_retrieved) == 6
    assert PROVINCE_ID not in {d.doc_id for d in report.never_retrieved}
    counts = report.counts()
    assert counts["missing_fields"] == 2 and counts["missing_materials"] == 1
    assert counts["missing_phone"] == 1 and counts["stale"] == 1 and counts["inactive"] == 1
    assert counts["shared_titles"] == 1 and counts["never_retrieved"] == 6


def test_health_of_the_index(fixture_index) -> None:
    report = health.check_store(fixture_index.store, as_of=date(2022, 1, 1))
    assert report.documents == 8 and not report.inactive and not report.stale
    assert [(m.doc.doc_id, m.fields) for m in report.missing_fields] == [(NO_MATERIALS, ("申请材料",))]
    assert [s.title for s in report.shared_titles] == ["弩的运输审批"]
    assert report.never_retrieved is None and "never_retrieved" not in report.counts()
    later = health.check_store(fixture_index.store, as_of=date(2030, 1, 1), stale_days=730)
    assert len(later.stale) == 6, "five guides and the policy; laws are judged by status"


@pytest.mark.parametrize("text, blank", [
    ("无", True), ("", True), ("  暂无。", True), ("- 法定办结时限：无\n- 承诺办结时限：无", True),
    ("- 法定办结时限：无\n- 承诺办结时限：1个工作日", False), ("020-12345", False), ("1. 居民身份证", False),
    ("1. 无", True),
])
def test_blank_field_values(text: str, blank: bool) -> None:
    assert health.is_blank(text) is blank


def test_health_cli_text_csv_and_html(cli: Cli, sick_corpus: Path, tmp_path: Path) -> None:
    report_file = tmp_path / "eval.json"
    report_file.write_text(json.dumps(summarise([row("a", rank=1, retrieved=[PROVINCE_ID])])), encoding="utf-8")
    csv_dir, html = tmp_path / "csv", tmp_path / "health.html"
    result = cli("corpus", "health", sick_corpus, "--as-of", "2022-01-01", "--csv", csv_dir, "--html", html,
                 "--retrieved", report_file)
    out = result.output
    assert re.search(r"guides missing a key field\s+2\b", out)
    assert re.search(r"no phone\s+1\b", out) and re.search(r"stale or undated\s+1\b", out)
    assert re.search(r"not in force, still indexed\s+1\b", out) and re.search(r"never retrieved\s+7\b", out)
    for name in ("summary", "missing_fields", "stale", "shared_titles", "inactive", "never_retrieved"):
        data = (csv_dir / f"{name}.csv").read_bytes()
        assert data.startswith(b"\xef\xbb\xbf"), f"{name}.csv must start with a BOM for Excel"
    missing = (csv_dir / "missing_fields.csv").read_text(encoding="utf-8-sig")
    assert NO_PHONE in missing and "咨询电话" in missing
    assert REPEALED in (csv_dir / "inactive.csv").read_text(encoding="utf-8-sig")
    page = html.read_text(encoding="utf-8")
    html_checks(page)
    assert "语料健康检查" in page and NO_PHONE in page and "2015-03-01" in page and "弩的运输审批" in page

    # Without PATH it reads the index, which does not exist here.
    assert "zhengwu ingest" in cli("corpus", "health", code=1).output
