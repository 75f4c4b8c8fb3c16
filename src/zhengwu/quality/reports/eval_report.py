"""The HTML evaluation report of ``zhengwu eval QUESTIONS --html report.html``.

One self-contained file (inline CSS, charts as base64 PNGs, no scripts, no network) that staff can mail around or
open from a share: headline metrics, charts, breakdown tables by question set, ``meta.field``, department and
document type, the refused questions by reason, and the worst questions with what was retrieved and answered
(wrong answers first: an answer that is wrong is worse than a refusal).

Input is the report dict of :func:`zhengwu.evaluation.evaluate` (or a saved ``--out`` JSON file). The department
and document type of a question are those of the gold document found (or, on a miss, of the first document
retrieved), looked up in ``docs`` (``Index.documents()``); without ``docs`` those two tables are left out.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from zhengwu.answering.vocabulary import REASON_LABELS
from zhengwu.documents import DOC_TYPE_LABELS
from zhengwu.index.store import DocMeta
from zhengwu.quality.evaluation import citation_precision, counts, summarise, wrong_answer
from zhengwu.quality.reports import charts
from zhengwu.quality.reports.templates import render

TITLE = "政务助手评测报告 · Evaluation report"
_ENGLISH = {"service_guide": "service guide", "law": "law", "policy": "policy", "faq": "FAQ"}
DOC_TYPE_NAMES = {key: f"{label} {_ENGLISH[key]}" for key, label in DOC_TYPE_LABELS.items()}
NONE = "—"
UNLABELLED = "（未标注）none"
MAX_GROUPS = 20
ANSWER_CHARS = 280


# --- formatting ------------------------------------------------------------------------------------------------


def pct(value: float | None) -> str:
    return NONE if value is None else f"{value:.1%}"


def ratio(value: float | None) -> str:
    return NONE if value is None else f"{value:.3f}"


def ms(value: float | None) -> str:
    return NONE if value is None else f"{value:,.0f} ms"


def tone(value: float | None, *, higher_is_better: bool = True, good: float | None = None,
         bad: float | None = None) -> str:
    """'good' / 'warn' / 'bad' (or 'plain' for no value) for a rate: by default .9 / .7 when higher is better,
    .02 / .1 when lower is better (false refusals)."""
    if value is None:
        return "plain"
    if higher_is_better:
        good, bad = (0.9 if good is None else good), (0.7 if bad is None else bad)
        return "good" if value >= good else "warn" if value >= bad else "bad"
    good, bad = (0.02 if good is None else good), (0.1 if bad is None else bad)
    return "good" if value <= good else "warn" if value <= bad else "bad"


def clip(text: str, limit: int = ANSWER_CHARS) -> str:
    """At most ``limit`` characters, blank lines squeezed out."""
    text = re.sub(r"\n\s*\n+", "\n", (text or "").strip())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# --- questions -------------------------------------------------------------------------------------------------


def focus_doc(row: Mapping[str, Any]) -> str | None:
    """The gold document found for a question, or the first one retrieved when none was."""
    retrieved = row.get("retrieved") or []
    rank = row.get("first_hit_rank")
    if rank and rank <= len(retrieved):
        return retrieved[rank - 1]
    return retrieved[0] if retrieved else None


@dataclass(frozen=True)
class Problem:
    text: str
    severe: bool = True


def problems(row: Mapping[str, Any]) -> list[Problem]:
    """What went wrong with one question; severe problems are misses."""
    found: list[Problem] = []
    answerable = row.get("answerable", True)
    rank = row.get("first_hit_rank")
    if answerable and "first_hit_rank" in row and rank is None:
        found.append(Problem("未检索到 no gold doc in top 10"))
    if row.get("must_contain") is False:
        found.append(Problem("缺要点 must_contain failed"))
    if answerable and "must_contain" not in row and wrong_answer(row):
        found.append(Problem("答错 wrong answer: no gold doc cited"))
    elif (precision := citation_precision(row)) is not None and 0 < precision < 1:
        found.append(Problem(f"部分引用非正确文档 {precision:.0%} of citations gold", severe=False))
    if not answerable and row.get("status") == "answered":
        found.append(Problem("应拒答却回答 answered, should refuse"))
    if answerable and row.get("status") == "refused":
        found.append(Problem("误拒 false refusal"))
    if rank and rank > 1:
        found.append(Problem(f"首个命中排第 {rank} first hit at rank {rank}", severe=False))
    return found


def worst_rows(rows: Iterable[Mapping[str, Any]]) -> list[tuple[Mapping[str, Any], list[Problem]]]:
    """Questions with a problem: wrong answers first (an answer that is wrong is worse than a refusal), then the
    other misses; within each, most severe problems first, then the lowest hit rank."""
    scored = [(row, found) for row in rows if (found := problems(row))]

    def key(item: tuple[Mapping[str, Any], list[Problem]]) -> tuple[int, int, int]:
        row, found = item
        rank = row.get("first_hit_rank") or 11
        return (0 if wrong_answer(row) else 1, -sum(p.severe for p in found), -rank)

    return sorted(scored, key=key)


def is_miss(row: Mapping[str, Any]) -> bool:
    return any(p.severe for p in problems(row))


# --- breakdowns ------------------------------------------------------------------------------------------------


def _refused_tone(rows: list[Mapping[str, Any]], share: float | None) -> str:
    if share is None:
        return "plain"
    if all(not r.get("answerable", True) for r in rows):
        return tone(share)
    if all(r.get("answerable", True) for r in rows):
        return tone(share, higher_is_better=False)
    return ""


def _metrics_row(key: str, rows: list[dict]) -> dict:
    summary = summarise(rows)
    refused = sum(1 for r in rows if r.get("status") == "refused") / len(rows) if rows else None
    return {
        "key": key,
        "n": len(rows),
        "cells": [
            {"text": pct(summary["hit@1"]), "tone": tone(summary["hit@1"])},
            {"text": pct(summary["hit@5"]), "tone": tone(summary["hit@5"])},
            {"text": pct(summary["must_contain"]), "tone": tone(summary["must_contain"])},
            {"text": pct(summary["wrong_answer_rate"]),
             "tone": tone(summary["wrong_answer_rate"], higher_is_better=False, good=0.05, bad=0.15)},
            {"text": pct(refused), "tone": _refused_tone(rows, refused)},
        ],
    }


def breakdown(
    rows: list[dict], key_of: Callable[[dict], str | None], title: str, key_label: str, note: str = ""
) -> dict:
    """One breakdown table: a row per group (largest first; beyond ``MAX_GROUPS`` the rest are summed up)."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        groups[key_of(row) or UNLABELLED].append(row)
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    table_rows = [_metrics_row(k, v) for k, v in ordered[:MAX_GROUPS]]
    rest = ordered[MAX_GROUPS:]
    if rest:
        others = [r for _, group in rest for r in group]
        table_rows.append(_metrics_row(f"其他 {len(rest)} 组 · {len(rest)} other groups", others))
    return {"title": title, "key_label": key_label, "note": note, "rows": table_rows}


def _meta(name: str) -> Callable[[dict], str | None]:
    def key(row: dict) -> str | None:
        value = (row.get("meta") or {}).get(name)
        return None if value in (None, "") else str(value)

    return key


def breakdowns(rows: list[dict], docs: Mapping[str, DocMeta] | None, source: str | None) -> list[dict]:
    def set_of(row: dict) -> str | None:
        return row.get("set") or (row.get("meta") or {}).get("set") or source

    tables = [breakdown(rows, set_of, "按题集 · By question set", "题集 set")]
    for name, title in (("field", "按字段 · By meta.field"), ("kind", "按类型 · By meta.kind")):
        if any((r.get("meta") or {}).get(name) for r in rows):
            tables.append(breakdown(rows, _meta(name), title, name))
    if docs:
        def doc_attr(attr: str) -> Callable[[dict], str | None]:
            def key(row: dict) -> str | None:
                doc = docs.get(focus_doc(row) or "")
                if doc is None:
                    return None
                value = getattr(doc, attr) or None
                return DOC_TYPE_NAMES.get(value, value) if attr == "doc_type" else value

            return key

        note = "of the gold document found, else of the first retrieved"
        tables.append(breakdown(rows, doc_attr("department"), "按部门 · By department", "部门 department", note))
        tables.append(breakdown(rows, doc_attr("doc_type"), "按文档类型 · By document type", "类型 doc_type", note))
    return tables


def refusal_reasons(rows: list[Mapping[str, Any]]) -> list[dict]:
    """The refused questions by reason (most frequent first): how many, of them answerable (false refusals) and
    unanswerable."""
    groups: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        if row.get("status") == "refused":
            groups[row.get("reason") or ""].append(row)
    refused = sum(len(g) for g in groups.values())
    out = []
    for reason, group in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        answerable = sum(1 for r in group if r.get("answerable", True))
        out.append({
            "reason": reason or UNLABELLED,
            "label": REASON_LABELS.get(reason, ""),
            "n": len(group),
            "share": pct(len(group) / refused),
            "of_all": pct(len(group) / len(rows)),
            "answerable": answerable,
            "unanswerable": len(group) - answerable,
        })
    return out


# --- page ------------------------------------------------------------------------------------------------------


def hit_curve(rows: Iterable[Mapping[str, Any]], k_max: int = 10) -> list[float]:
    """hit@k for k = 1..k_max over the questions that have gold documents ([] when none has)."""
    ranks = [r["first_hit_rank"] for r in rows if "first_hit_rank" in r]
    if not ranks:
        return []
    return [sum(1 for f in ranks if f is not None and f <= k) / len(ranks) for k in range(1, k_max + 1)]


def _cards(report: Mapping[str, Any]) -> list[dict]:
    rows = report["rows"]
    c = counts(dict(report))
    gold, checked = c["with_gold_documents"], c["with_must_contain"]
    correct_checked = sum(1 for r in rows if r.get("answerable", True) and "must_contain" in r)
    with_precision = sum(1 for r in rows if citation_precision(r) is not None)

    def card(label: str, value: str, hint: str = "", tone_: str = "plain") -> dict:
        return {"label": label, "value": value, "hint": hint, "tone": tone_}

    cards = [
        card("命中@1 · hit@1", pct(report["hit@1"]), f"{gold} questions with gold documents", tone(report["hit@1"])),
        card("命中@5 · hit@5", pct(report["hit@5"]), "gold document in the top 5", tone(report["hit@5"])),
        card("MRR@10", ratio(report["mrr@10"]), "mean reciprocal rank", tone(report["mrr@10"])),
        card("nDCG@10", ratio(report["ndcg@10"]), "graded ranking quality", tone(report["ndcg@10"])),
        card("必含要点 · must_contain", pct(report["must_contain"]), f"{checked} answers checked",
             tone(report["must_contain"])),
        card("答对率 · answered correct", pct(report.get("answered_correct")),
             f"answered with every must_contain element, of {correct_checked} answerable",
             tone(report.get("answered_correct"))),
        card("答错率 · wrong answers", pct(report.get("wrong_answer_rate")),
             f"{c['wrong_answers']} of {report['n']} answered though wrong",
             tone(report.get("wrong_answer_rate"), higher_is_better=False, good=0.05, bad=0.15)),
        card("引用准确率 · citation precision", pct(report.get("citation_precision")),
             f"citations that are gold documents, {with_precision} answers", tone(report.get("citation_precision"))),
    ]
    if report.get("token_f1") is not None:
        cards.append(card("词重合 · token F1", ratio(report["token_f1"]), "against gold answers",
                          tone(report["token_f1"], good=0.6, bad=0.4)))
    cards += [
        card("拒答率 · refusal rate", pct(report["refusal_rate"]), f"on {c['unanswerable']} unanswerable",
             tone(report["refusal_rate"])),
        card("误拒率 · false refusals", pct(report["false_refusal_rate"]), f"on {c['answerable']} answerable",
             tone(report["false_refusal_rate"], higher_is_better=False)),
        card("转办率 · handoff rate", pct(report.get("handoff_rate")),
             f"{c['handoff']} of {report['n']} handed off to 12345 (counted as refused)"),
        card("耗时 p50 · latency", ms(report["latency_p50_ms"]), "median per question"),
        card("耗时 p95 · latency", ms(report["latency_p95_ms"]), "95th percentile",
             "plain" if report["latency_p95_ms"] is None else "good" if report["latency_p95_ms"] <= 100
             else "warn" if report["latency_p95_ms"] <= 300 else "bad"),
        card("问题数 · n", f"{report['n']:,}", f"{c['answerable']} answerable / {c['unanswerable']} unanswerable"),
        card("回答 / 拒答 / 追问", f"{c['answered']} / {c['refused']} / {c['clarify']}",
             "answered / refused / clarify"),
        card("LLM / 模板 · composer", f"{c['by_llm']} / {c['by_composer']}", "answers by the LLM / by the composer"),
    ]
    return cards


def _charts(rows: list[dict], report: Mapping[str, Any]) -> list[dict]:
    out = []
    curve = hit_curve(rows)
    if curve:
        out.append({"src": charts.hit_at_k_chart(curve), "alt": "hit@k, k = 1..10"})
    groups: dict[str, dict[str, int]] = {}
    for answerable, name in ((True, charts.label("可回答", "answerable")),
                             (False, charts.label("不可回答", "unanswerable"))):
        subset = [r for r in rows if r.get("answerable", True) is answerable]
        if subset:
            tally: dict[str, int] = defaultdict(int)
            for r in subset:
                tally[r.get("status", "?")] += 1
            groups[name] = dict(tally)
    if groups:
        out.append({"src": charts.status_chart(groups), "alt": "answer status by answerable / unanswerable"})
    latencies = [r["latency_ms"] for r in rows if r.get("latency_ms") is not None]
    if latencies:
        out.append({"src": charts.latency_chart(latencies, report.get("latency_p50_ms"), report.get("latency_p95_ms")),
                    "alt": "latency histogram"})
    return out


def _worst(rows: list[dict], docs: Mapping[str, DocMeta] | None, limit: int) -> tuple[list[dict], int]:
    ranked = worst_rows(rows)
    out = []
    for row, found in ranked[:limit]:
        rank = row.get("first_hit_rank")
        ids = row.get("retrieved") or []
        titles = list(row.get("retrieved_titles") or [])
        items = []
        for i, doc_id in enumerate(ids[:5]):
            doc = docs.get(doc_id) if docs else None
            title = titles[i] if i < len(titles) and titles[i] else (doc.title if doc else doc_id)
            if doc and doc.region:
                title = f"{title} · {doc.region}"
            items.append({"title": title, "hit": rank == i + 1})
        meta = row.get("meta") or {}
        status = row.get("status", "?") + (f" / {row['reason']}" if row.get("reason") else "")
        out.append({
            "id": row.get("id", ""),
            "group": " · ".join(str(meta[k]) for k in ("field", "kind") if meta.get(k)),
            "question": row.get("question", ""),
            "problems": [{"text": p.text, "minor": not p.severe} for p in found],
            "status": status,
            "latency": ms(row.get("latency_ms")) if row.get("latency_ms") is not None else "",
            "titles": items,
            "answer": clip(row.get("answer", "")),
        })
    return out, max(0, len(ranked) - limit)


def render_html(
    report: Mapping[str, Any],
    docs: Mapping[str, DocMeta] | None = None,
    *,
    source: str | None = None,
    worst_limit: int = 50,
    generated: datetime | None = None,
) -> str:
    rows = list(report["rows"])
    worst, more = _worst(rows, docs, worst_limit)
    misses = sum(1 for r in rows if is_miss(r))
    wrong = sum(1 for r in rows if wrong_answer(r))
    when = (generated or datetime.now()).strftime("%Y-%m-%d %H:%M")
    subtitle = [s for s in (source, f"{len(rows):,} 个问题 questions", f"生成于 generated {when}",
                            f"索引 index: {len(docs):,} documents" if docs else None) if s]
    return render(
        "eval.html",
        title=TITLE,
        subtitle=subtitle,
        cards=_cards(report),
        charts=_charts(rows, report),
        breakdowns=breakdowns(rows, docs, source),
        reasons=refusal_reasons(rows),
        worst=worst,
        worst_more=more,
        worst_title=f"{misses} misses ({wrong} wrong answers first, then refusals and retrieval misses), then "
                    "questions whose first hit is not at rank 1",
        footer="Generated by `zhengwu eval --html`. Metrics as in shared/eval/FORMAT.md and evaluation/README.md. "
               "This file is self-contained: no scripts, no external files, nothing fetched from the network.",
    )


def write_html(
    report: Mapping[str, Any],
    out: Path,
    docs: Mapping[str, DocMeta] | None = None,
    *,
    source: str | None = None,
    worst_limit: int = 50,
) -> Path:
    """Write the HTML report of ``report`` to ``out`` (parent folders are created); returns ``out``."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_html(report, docs, source=source, worst_limit=worst_limit), encoding="utf-8")
    return out
