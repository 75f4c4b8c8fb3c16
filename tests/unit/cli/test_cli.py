"""The ``zhengwu`` command line through click's CliRunner, offline, on a copy of the fixture corpus.

``get_settings()`` is cached for the life of a process, so every invocation here clears it first: each test's
ZHENGWU_* environment is what the command sees.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from helpers import FIXTURE_CORPUS

import zhengwu.config
from zhengwu.cli.main import main
from zhengwu.config import Settings

PHONE_QUESTION = "弩的运输审批的咨询电话是多少？"
PROVINCE_ID = "11440000006940140C2440106013004"
CITY_ID = "11440100007483172Q3440106013004"
N_FIXTURE_DOCS = 8  # 5 guides, 2 laws, 1 policy (README.md is skipped)

REPORT_KEYS = [
    "hit@1", "hit@5", "mrr@10", "ndcg@10", "must_contain", "answered_correct", "wrong_answer_rate",
    "citation_precision", "token_f1", "refusal_rate", "false_refusal_rate", "handoff_rate",
    "latency_p50_ms", "latency_p95_ms", "n", "rows",
]

QUESTIONS = [
    {"id": "q-phone", "question": PHONE_QUESTION, "answerable": True, "gold_doc_ids": [PROVINCE_ID, CITY_ID],
     "must_contain": [["020-83110470", "020-12345"]], "meta": {"field": "phone"}},
    {"id": "q-law", "question": "居民身份证的有效期有哪几种？", "gold_titles": ["中华人民共和国居民身份证法"],
     "must_contain": ["十年"], "gold_answer": "十六周岁以上公民的居民身份证的有效期为十年、二十年、长期。"},
    {"id": "q-out", "question": "上海市的居住证怎么办理？", "answerable": False, "meta": {"kind": "other_city"}},
    {"id": "q-region", "question": PHONE_QUESTION, "profile": {"region": "广州市"}, "gold_doc_ids": [CITY_ID],
     "must_contain": ["020-12345"]},
]

KB = [
    {"id": "kb-001", "title": "", "text": "办理不动产登记资料查询，权利人可以持本人身份证到不动产登记中心窗口申请，"
     "当场办结，不收取费用。", "metadata": {"department": "规划和自然资源委员会"}},
    {"id": "kb-002", "title": "", "text": "申请公租房需要本市户籍，家庭人均住房面积低于15平方米，并且家庭收入符合"
     "规定标准，向街道办事处提出申请。", "metadata": {"department": "住房和城乡建设委员会"}},
    {"id": "kb-003", "title": "灵活就业人员养老保险", "text": "灵活就业人员可以在户籍所在地的社保经办机构办理养老"
     "保险参保登记，按月或按年缴纳基本养老保险费。", "metadata": {"department": "人力资源和社会保障局"}},
    {"id": "kb-004", "title": "", "text": "机动车驾驶证有效期满前九十日内，驾驶人可以向任一车辆管理所申请换证，"
     "需提交身份证明和体检证明。", "metadata": {"department": "公安局交通管理局"}},
]
KB_QUESTIONS = [
    {"id": "k1", "question": "驾驶证到期了怎么换证？", "gold_doc_ids": ["kb-004"]},
    {"id": "k2", "question": "灵活就业人员怎么交养老保险？", "gold_doc_ids": ["kb-003"]},
    {"id": "k3", "question": "公租房申请条件是什么？", "gold_doc_ids": ["kb-002"]},
]


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


class Cli:
    """Runs ``zhengwu`` in-process with a fresh ``get_settings()`` each time."""

    def __init__(self, data_dir: Path, corpus_dir: Path) -> None:
        self.data_dir = data_dir
        self.corpus_dir = corpus_dir
        self.runner = CliRunner()

    def __call__(self, *args: str, ok: bool = True) -> Result:
        zhengwu.config.get_settings.cache_clear()
        try:
            result = self.runner.invoke(main, [str(a) for a in args], catch_exceptions=False)
        finally:
            zhengwu.config.get_settings.cache_clear()
        if ok:
            assert result.exit_code == 0, f"zhengwu {' '.join(args)} exited {result.exit_code}:\n{result.output}"
        return result


def _isolate_env(mp: pytest.MonkeyPatch, data_dir: Path, corpus_dir: Path) -> None:
    for name in list(os.environ):
        if name.startswith("ZHENGWU_"):
            mp.delenv(name)
    mp.setenv("ZHENGWU_DATA_DIR", str(data_dir))
    mp.setenv("ZHENGWU_CORPUS_DIR", str(corpus_dir))
    mp.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture
def cli(tmp_path: Path, corpus_copy: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """A fresh, empty data dir over a writable copy of the fixture corpus."""
    data = tmp_path / "data"
    _isolate_env(monkeypatch, data, corpus_copy)
    zhengwu.config.get_settings.cache_clear()
    yield Cli(data, corpus_copy)
    zhengwu.config.get_settings.cache_clear()


@pytest.fixture(scope="module")
def built_dirs(tmp_path_factory) -> tuple[Path, Path]:
    """A data dir already indexed with `zhengwu ingest`, shared by read-only tests."""
    root = tmp_path_factory.mktemp("cli-built")
    corpus = root / "corpus"
    shutil.copytree(FIXTURE_CORPUS, corpus)
    mp = pytest.MonkeyPatch()
    try:
        _isolate_env(mp, root / "data", corpus)
        Cli(root / "data", corpus)("ingest", "--quiet")
    finally:
        mp.undo()
    return root / "data", corpus


@pytest.fixture
def built_cli(built_dirs, monkeypatch: pytest.MonkeyPatch) -> Cli:
    data, corpus = built_dirs
    _isolate_env(monkeypatch, data, corpus)
    zhengwu.config.get_settings.cache_clear()
    yield Cli(data, corpus)
    zhengwu.config.get_settings.cache_clear()


# --- help ------------------------------------------------------------------------------------------------------

HELP = {
    (): ["government services", "offline", "ZHENGWU_"],
    ("ingest",): ["Index documents", "incremental", "ZHENGWU_CORPUS_DIR", "--rebuild"],
    ("ask",): ["Ask one question", "sources", "--json", "--region"],
    ("eval",): ["Score the assistant", "hit@1", "--out", "--kb", "--html", "compare", "export-reviewed"],
    ("eval", "run"): ["Score the assistant", "--out", "--html"],
    ("eval", "compare"): ["B − A", "--fail-on-regression", "--html"],
    ("eval", "render"): ["HTML report", "--html"],
    ("eval", "export-reviewed"): ["review console", "--rating"],
    ("info",): ["settings", "ZHENGWU_"],
    ("corpus",): ["corpus", "build"],
    ("serve",): ["HTTP service", "ZHENGWU_ADMIN_TOKEN", "--workers"],
    ("corpus", "build"): ["Markdown corpus"],
    ("corpus", "health"): ["申请材料", "--stale-days", "--csv", "--retrieved", "--html"],
    ("history",): ["Service history", "import"],
    ("history", "import"): [".csv", ".jsonl", "GB18030", "--dry-run"],
    ("users",): ["export", "delete", "consent"],
    ("users", "export"): ["JSON", "--channel", "--user-id"],
    ("users", "delete"): ["Erase", "--yes"],
    ("reminders",): ["Expiry reminders", "run"],
    ("reminders", "run"): ["--within", "--today", "cron"],
    ("privacy",): ["Retention", "purge"],
    ("backup",): ["index", "personal-data store", "ZHENGWU_DATA_KEY"],
    ("restore",): ["Replace", "Stop the service", "--yes"],
    ("staff",): ["Review console", "reviewer", "admin"],
    ("staff", "add"): ["password", "--role", "--password-stdin"],
    ("telegram",): ["Telegram", "ZHENGWU_TELEGRAM_TOKEN", "--set-webhook", "bots/telegram"],
}


@pytest.mark.parametrize("command", list(HELP), ids=lambda c: " ".join(c) or "main")
def test_help_of_every_command(cli: Cli, command: tuple[str, ...]) -> None:
    result = cli(*command, "--help")
    assert result.output.startswith("Usage: ")
    for phrase in HELP[command]:
        assert phrase in result.output, f"`zhengwu {' '.join(command)} --help` does not mention {phrase!r}"
    result_short = cli(*command, "-h")
    assert result_short.output == result.output
    assert not cli.data_dir.exists(), "--help must not create the data dir or build anything"


def test_every_registered_command_has_help(cli: Cli) -> None:
    assert set(main.commands) == {c[0] for c in HELP if c}
    for name, command in main.commands.items():
        assert command.help and command.help.strip(), f"command {name} has no help text"


def test_version(cli: Cli) -> None:
    result = cli("--version")
    assert re.search(r"\d+\.\d+\.\d+", result.output)


# --- ask -------------------------------------------------------------------------------------------------------


def test_ask_builds_index_on_first_run_and_prints_sources(cli: Cli) -> None:
    assert not (cli.data_dir / "index" / "chunks.sqlite3").exists()
    first = cli("ask", PHONE_QUESTION)
    assert "First run" in first.stderr and str(cli.corpus_dir) in first.stderr
    assert f"{N_FIXTURE_DOCS} added" in first.output
    assert (cli.data_dir / "index" / "chunks.sqlite3").exists()
    out = first.stdout
    assert "020-83110470" in out and "020-12345" in out  # the same item of 广东省 and of 广州市, each labelled
    assert "参考来源" in out
    sources = [line for line in out.splitlines() if re.match(r"\[\d+\] 《", line)]
    assert sources, out
    assert all("《弩的运输审批》" in line and "咨询电话" in line for line in sources)
    assert "[status: answered" in first.stderr

    second = cli("ask", PHONE_QUESTION)
    assert "First run" not in second.output, "the second run must reuse the index"
    assert "参考来源" in second.stdout


def test_ask_region_prefers_that_regions_item(built_cli: Cli) -> None:
    result = built_cli("ask", "--region", "广州市", PHONE_QUESTION)
    assert "020-12345" in result.stdout
    assert "020-83110470" not in result.stdout


def test_ask_json(built_cli: Cli) -> None:
    result = built_cli("ask", "--json", PHONE_QUESTION)
    data = json.loads(result.stdout)
    assert {"text", "status", "citations", "session_id"} <= set(data)
    assert data["status"] == "answered"
    assert "020-83110470" in data["text"] and "020-12345" in data["text"]
    assert data["session_id"]
    assert data["citations"]
    for c in data["citations"]:
        assert {"n", "doc_id", "title", "section", "source_url"} <= set(c)
        assert c["doc_id"] in {PROVINCE_ID, CITY_ID}
    assert "弩的运输审批" in result.stdout, "JSON output must keep Chinese readable (ensure_ascii=False)"


def test_ask_json_refusal(built_cli: Cli) -> None:
    data = json.loads(built_cli("ask", "--json", "上海市的居住证怎么办理？").stdout)
    assert data["status"] == "refused"
    assert data["reason"] == "out_of_region"
    assert data["citations"] == []


# --- ingest ----------------------------------------------------------------------------------------------------


def test_ingest_corpus_then_nothing_changes(cli: Cli) -> None:
    first = cli("ingest", "--quiet")
    assert f"{N_FIXTURE_DOCS} added, 0 updated, 0 unchanged, 0 removed" in first.output
    assert f"{N_FIXTURE_DOCS} documents" in first.output
    assert str(cli.data_dir) in first.output
    embedded = int(re.search(r"(\d+) vectors embedded", first.output).group(1))
    assert embedded > 0

    second = cli("ingest", "--quiet")
    assert f"0 added, 0 updated, {N_FIXTURE_DOCS} unchanged, 0 removed" in second.output
    assert "0 chunks written, 0 vectors embedded" in second.output
    assert f"{N_FIXTURE_DOCS} documents" in second.output


def test_ingest_notices_a_changed_and_a_removed_file(cli: Cli) -> None:
    cli("ingest", "--quiet")
    policy = cli.corpus_dir / "policy" / "居家养老服务补贴.md"
    policy.write_text(policy.read_text(encoding="utf-8") + "\n\n补充说明：本条为测试新增内容。\n", encoding="utf-8")
    (cli.corpus_dir / "laws" / "北京市机动车停车条例.md").unlink()
    result = cli("ingest", "--quiet")
    assert f"0 added, 1 updated, {N_FIXTURE_DOCS - 2} unchanged, 1 removed" in result.output
    assert f"{N_FIXTURE_DOCS - 1} documents" in result.output


def test_ingest_reports_bad_files_and_keeps_the_good_ones(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    shutil.copytree(FIXTURE_CORPUS, folder)
    (folder / "scan.pdf").write_bytes(bytes(range(256)) * 40)  # binary, not a PDF
    (folder / "broken.md").write_text(
        "---\ntitle: [未闭合的列表\ndoc_id: bad: value\n---\n# 正文\n\n这里是正文内容。\n", encoding="utf-8"
    )
    result = cli("ingest", "--quiet", folder, ok=False)
    assert result.exit_code == 2, result.output
    skipped = [line for line in result.stderr.splitlines() if "skipped" in line]
    by_name = {name: next((line for line in skipped if name in line), None) for name in ("scan.pdf", "broken.md")}
    for name, line in by_name.items():
        assert line, f"{name} is not reported on stderr:\n{result.stderr}"
        reason = line.split(name, 1)[1].lstrip(": ").strip()
        assert len(reason) > 5, f"no reason given for {name}: {line!r}"
    assert "PDF" in by_name["scan.pdf"]
    assert "front matter" in by_name["broken.md"]
    assert f"{N_FIXTURE_DOCS} added" in result.output
    assert f"{N_FIXTURE_DOCS} documents" in result.output

    # The good files really are searchable.
    answer = cli("ask", "--json", PHONE_QUESTION)
    assert json.loads(answer.stdout)["status"] == "answered"


def test_ingest_missing_path_fails_cleanly(cli: Cli, tmp_path: Path) -> None:
    result = cli("ingest", str(tmp_path / "nope"), ok=False)
    assert result.exit_code != 0
    assert "nope" in result.output and "does not exist" in result.output


# --- eval ------------------------------------------------------------------------------------------------------


def test_eval_prints_metrics_and_writes_report(built_cli: Cli, tmp_path: Path) -> None:
    questions = write_jsonl(tmp_path / "questions.jsonl", QUESTIONS)
    out = tmp_path / "reports" / "report.json"
    result = built_cli("eval", questions, "--quiet", "--out", out)
    for key in ("hit@1", "hit@5", "mrr@10", "ndcg@10", "must_contain", "answered_correct", "wrong_answer_rate",
                "citation_precision", "refusal_rate", "false_refusal_rate", "handoff_rate", "latency_p50_ms"):
        assert re.search(rf"^\s*{re.escape(key)}: ", result.output, re.M), f"{key} not printed:\n{result.output}"
    assert re.search(r"^\s*n: 4$", result.output, re.M)
    assert "counts: questions=4, answerable=3, unanswerable=1" in result.output
    assert str(out) in result.output

    report = json.loads(out.read_text(encoding="utf-8"))
    assert list(report) == REPORT_KEYS
    assert report["n"] == 4 and len(report["rows"]) == 4
    assert [r["id"] for r in report["rows"]] == [q["id"] for q in QUESTIONS]
    rows = {r["id"]: r for r in report["rows"]}
    assert rows["q-phone"]["status"] == "answered" and rows["q-phone"]["must_contain"] is True
    assert rows["q-phone"]["first_hit_rank"] == 1
    assert rows["q-law"]["first_hit_rank"] == 1
    assert rows["q-region"]["must_contain"] is True, rows["q-region"]["answer"]
    assert rows["q-out"]["status"] == "refused"
    assert "first_hit_rank" not in rows["q-out"]
    assert report["hit@1"] == 1.0 and report["hit@5"] == 1.0 and report["mrr@10"] == 1.0
    assert report["must_contain"] == 1.0
    assert report["answered_correct"] == 1.0 and report["wrong_answer_rate"] == 0.0
    assert report["handoff_rate"] == 0.0
    assert rows["q-phone"]["cited_doc_ids"] and rows["q-phone"]["answered_correct"] is True
    assert rows["q-phone"]["wrong_answer"] is False and rows["q-out"]["wrong_answer"] is False
    assert rows["q-phone"]["citation_precision"] == report_precision(rows["q-phone"])
    assert 0.0 < report["citation_precision"] <= 1.0
    assert report["refusal_rate"] == 1.0 and report["false_refusal_rate"] == 0.0
    assert 0.0 <= report["token_f1"] <= 1.0
    assert report["latency_p50_ms"] <= report["latency_p95_ms"]


def report_precision(row: dict) -> float:
    """Citation precision recomputed from the row's cited documents: those of the question's gold ids."""
    gold = {PROVINCE_ID, CITY_ID}
    return round(sum(d in gold for d in row["cited_doc_ids"]) / len(row["cited_doc_ids"]), 4)


def test_eval_limit(built_cli: Cli, tmp_path: Path) -> None:
    questions = write_jsonl(tmp_path / "questions.jsonl", QUESTIONS)
    out = tmp_path / "r.json"
    built_cli("eval", questions, "--quiet", "--limit", "2", "--out", out)
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["n"] == 2 and report["refusal_rate"] is None  # the unanswerable question was cut


def test_eval_kb_twice_reuses_the_embedding_cache(cli: Cli, tmp_path: Path) -> None:
    kb = write_jsonl(tmp_path / "small.jsonl", KB)
    questions = write_jsonl(tmp_path / "kb_questions.jsonl", KB_QUESTIONS)
    out = tmp_path / "kb.json"

    first = cli("eval", questions, "--kb", kb, "--quiet", "--out", out)
    assert "4 added" in first.output
    assert "4 vectors embedded" in first.output, first.output
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["n"] == 3
    assert report["hit@5"] == 1.0, [r["retrieved"] for r in report["rows"]]
    assert all(set(r["retrieved"]) <= {k["id"] for k in KB} for r in report["rows"]), "answers must come from the KB"

    second = cli("eval", questions, "--kb", kb, "--quiet")
    assert "4 added" in second.output  # a throwaway index again ...
    assert "0 vectors embedded" in second.output, second.output  # ... but no re-embedding
    assert (cli.data_dir / "embedding_cache.sqlite3").exists()
    # The throwaway KB index never touches the persistent index.
    assert not (cli.data_dir / "index" / "chunks.sqlite3").exists()


def test_eval_broken_json_line_names_the_line(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "broken.jsonl"
    path.write_text(
        json.dumps(QUESTIONS[0], ensure_ascii=False) + "\n"
        + '{"id": "q2", "question": "居民身份证在哪里办理？"\n'
        + json.dumps(QUESTIONS[2], ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    result = cli("eval", path, "--quiet", ok=False)
    assert result.exit_code != 0
    assert f"{path}:2" in result.output or "broken.jsonl:2" in result.output, result.output
    assert "Error" in result.output
    assert "Traceback" not in result.output
    assert not (cli.data_dir / "index" / "chunks.sqlite3").exists(), "a bad question file must fail before indexing"


def test_eval_missing_field_names_the_line(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "missing.jsonl"
    path.write_text(
        json.dumps(QUESTIONS[0], ensure_ascii=False) + "\n\n" + json.dumps({"id": "x"}) + "\n", encoding="utf-8"
    )
    result = cli("eval", path, "--quiet", ok=False)
    assert result.exit_code != 0
    assert "missing.jsonl:3" in result.output and "question" in result.output, result.output


# --- info ------------------------------------------------------------------------------------------------------


def test_info_lists_settings_before_and_after_indexing(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZHENGWU_HOTLINE", "96123")
    result = cli("info")
    for name in Settings.model_fields:
        assert f"ZHENGWU_{name.upper()}" in result.output, f"ZHENGWU_{name.upper()} missing from info"
    line = next(line for line in result.output.splitlines() if line.startswith("ZHENGWU_DATA_DIR"))
    assert str(cli.data_dir) in line
    line = next(line for line in result.output.splitlines() if line.startswith("ZHENGWU_HOTLINE"))
    assert line.split()[-1] == "96123", "info must show the settings in effect"
    assert "not built yet" in result.output

    cli("ingest", "--quiet")
    result = cli("info")
    assert f"index: {N_FIXTURE_DOCS} documents" in result.output
