"""``zhengwu eval compare A.json B.json``: what changed between two saved evaluation reports.

Metric deltas are B − A. A *regression* is a change for the worse: a drop of a higher-is-better metric (hit@k,
MRR, nDCG, must_contain, answered_correct, citation precision, token F1, refusal rate on unanswerable questions)
or a rise of the false-refusal or wrong-answer rate. Latency is shown but never gated (it depends on the
machine), nor is the handoff rate, which has no better direction (right for complaints, a false refusal for an
answerable question). Questions are matched by ``id``; one got worse when its first hit moved down (or out of
the top 10), its must_contain check went from pass to fail, its refusal changed the wrong way (an answerable
question now refused, an unanswerable one now answered), or it became a wrong answer (``evaluation.wrong_answer``)
where no other change already says so.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from zhengwu.errors import OperatorError
from zhengwu.quality.evaluation import wrong_answer
from zhengwu.quality.reports.eval_report import NONE, clip
from zhengwu.quality.reports.templates import render

TITLE = "政务助手评测对比 · Evaluation comparison"
MISS = 11  # a question with gold documents but no hit in the top 10 ranks below every hit

# (key, label, higher is better (None: no better direction), gated by --fail-on-regression)
METRICS: tuple[tuple[str, str, bool | None, bool], ...] = (
    ("hit@1", "命中@1 hit@1", True, True),
    ("hit@5", "命中@5 hit@5", True, True),
    ("mrr@10", "MRR@10", True, True),
    ("ndcg@10", "nDCG@10", True, True),
    ("must_contain", "必含要点 must_contain", True, True),
    ("answered_correct", "答对率 answered correct", True, True),
    ("wrong_answer_rate", "答错率 wrong answer rate", False, True),
    ("citation_precision", "引用准确率 citation precision", True, True),
    ("token_f1", "词重合 token F1", True, True),
    ("refusal_rate", "拒答率 refusal rate", True, True),
    ("false_refusal_rate", "误拒率 false refusal rate", False, True),
    ("handoff_rate", "转办率 handoff rate", None, False),
    ("latency_p50_ms", "耗时 p50 latency (ms)", False, False),
    ("latency_p95_ms", "耗时 p95 latency (ms)", False, False),
    ("n", "问题数 n", True, False),
)


class ReportFileError(OperatorError, ValueError):
    """A file that is not a saved ``zhengwu eval --out`` report."""


def load_report(path: Path) -> dict:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportFileError(f"{path}: cannot read the report: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("rows"), list):
        raise ReportFileError(f"{path}: not a `zhengwu eval --out` report (no 'rows' list)")
    return data


@dataclass(frozen=True)
class MetricDelta:
    key: str
    label: str
    a: float | None
    b: float | None
    higher_is_better: bool | None  # None: a change is neither better nor worse
    gated: bool

    @property
    def delta(self) -> float | None:
        if self.a is None or self.b is None:
            return None
        return round(self.b - self.a, 6)

    @property
    def worsening(self) -> float:
        """How much worse B is than A, in the metric's own units (0 when not worse or not comparable)."""
        d = self.delta
        if d is None or self.higher_is_better is None:
            return 0.0
        return max(0.0, -d if self.higher_is_better else d)

    @property
    def improved(self) -> bool:
        d = self.delta
        return bool(d) and self.higher_is_better is not None and ((d > 0) == self.higher_is_better)


@dataclass(frozen=True)
class Change:
    text: str
    better: bool


@dataclass
class QuestionDiff:
    id: str
    question: str
    changes: list[Change]
    answer_a: str = ""
    answer_b: str = ""

    @property
    def worse(self) -> bool:
        return any(not c.better for c in self.changes)

    @property
    def better(self) -> bool:
        return any(c.better for c in self.changes)


@dataclass
class Comparison:
    metrics: list[MetricDelta]
    worse: list[QuestionDiff] = field(default_factory=list)  # any change for the worse (mixed ones too)
    better: list[QuestionDiff] = field(default_factory=list)  # only changes for the better
    matched: int = 0
    only_a: list[str] = field(default_factory=list)
    only_b: list[str] = field(default_factory=list)

    def regressions(self, threshold: float) -> list[MetricDelta]:
        """Gated metrics that got worse by more than ``threshold`` (in the metric's units, e.g. 0.02)."""
        return [m for m in self.metrics if m.gated and m.worsening > threshold + 1e-9]

    def metric(self, key: str) -> MetricDelta:
        return next(m for m in self.metrics if m.key == key)


def _rank(row: Mapping[str, Any]) -> int | None:
    if "first_hit_rank" not in row:
        return None
    return row["first_hit_rank"] or MISS


def _rank_text(rank: int) -> str:
    return "miss" if rank >= MISS else str(rank)


def question_changes(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[Change]:
    changes: list[Change] = []
    ra, rb = _rank(a), _rank(b)
    if ra is not None and rb is not None and ra != rb:
        changes.append(Change(f"hit rank {_rank_text(ra)} → {_rank_text(rb)}", better=rb < ra))
    ma, mb = a.get("must_contain"), b.get("must_contain")
    if ma is not None and mb is not None and ma != mb:
        changes.append(Change(f"must_contain {'✓' if ma else '✗'} → {'✓' if mb else '✗'}", better=bool(mb)))
    refused_a, refused_b = a.get("status") == "refused", b.get("status") == "refused"
    if refused_a != refused_b:
        answerable = b.get("answerable", a.get("answerable", True))
        should_refuse = not answerable
        text = f"{a.get('status')} → {b.get('status')}"
        if refused_b and not should_refuse:
            text += " (false refusal)"
        elif not refused_b and should_refuse:
            text += " (should refuse)"
        changes.append(Change(text, better=refused_b == should_refuse))
    wa, wb = wrong_answer(a), wrong_answer(b)
    if wa != wb and all(c.better != (not wb) for c in changes):  # not already said by a change the same way
        changes.append(Change(f"wrong answer {'yes' if wa else 'no'} → {'yes' if wb else 'no'}", better=not wb))
    return changes


def compare_reports(a: Mapping[str, Any], b: Mapping[str, Any]) -> Comparison:
    metrics = [MetricDelta(key, label, a.get(key), b.get(key), hib, gated) for key, label, hib, gated in METRICS]
    rows_a = {str(r["id"]): r for r in a["rows"]}
    rows_b = {str(r["id"]): r for r in b["rows"]}
    result = Comparison(metrics=metrics)
    result.only_a = [i for i in rows_a if i not in rows_b]
    result.only_b = [i for i in rows_b if i not in rows_a]
    for qid, row_b in rows_b.items():
        row_a = rows_a.get(qid)
        if row_a is None:
            continue
        result.matched += 1
        changes = question_changes(row_a, row_b)
        if not changes:
            continue
        diff = QuestionDiff(qid, row_b.get("question", row_a.get("question", "")), changes,
                            row_a.get("answer", ""), row_b.get("answer", ""))
        (result.worse if diff.worse else result.better).append(diff)
    return result


# --- output ----------------------------------------------------------------------------------------------------


def _value(m: MetricDelta, v: float | None) -> str:
    if v is None:
        return NONE
    if m.key == "n":
        return f"{v:.0f}"
    return f"{v:.1f}" if m.key.startswith("latency") else f"{v:.4f}"


def _delta(m: MetricDelta) -> tuple[str, str]:
    """(arrow, signed delta) for display."""
    d = m.delta
    if d is None:
        return "", NONE
    arrow = "▲" if d > 0 else "▼" if d < 0 else "="
    if m.key == "n":
        return arrow, f"{d:+.0f}"
    return arrow, (f"{d:+.1f}" if m.key.startswith("latency") else f"{d:+.4f}")


def _verdict(m: MetricDelta, threshold: float | None) -> str:
    if m.delta in (None, 0) or m.higher_is_better is None:
        return ""
    if m.improved:
        return "better"
    if m.gated and threshold is not None and m.worsening > threshold + 1e-9:
        return "REGRESSION"
    return "worse"


def render_text(cmp: Comparison, *, threshold: float | None = None, limit: int = 20) -> str:
    lines = [f"{'metric':<20} {'A':>10} {'B':>10} {'Δ (B − A)':>12}"]
    for m in cmp.metrics:
        arrow, delta = _delta(m)
        lines.append(f"{m.key:<20} {_value(m, m.a):>10} {_value(m, m.b):>10} {arrow:>2} {delta:>9}  "
                     f"{_verdict(m, threshold)}".rstrip())
    lines.append(f"matched {cmp.matched} questions by id; {len(cmp.only_a)} only in A, {len(cmp.only_b)} only in B")
    for title, items in (("worse", cmp.worse), ("better", cmp.better)):
        lines.append(f"{title}: {len(items)} questions")
        for diff in items[:limit]:
            lines.append(f"  {diff.id}: {'; '.join(c.text for c in diff.changes)} — {clip(diff.question, 60)}")
        if len(items) > limit:
            lines.append(f"  … and {len(items) - limit} more")
    return "\n".join(lines)


def render_html(cmp: Comparison, *, name_a: str = "A", name_b: str = "B", threshold: float | None = None,
                limit: int = 200) -> str:
    metrics = []
    for m in cmp.metrics:
        arrow, delta = _delta(m)
        tone = "flat" if not m.delta or m.higher_is_better is None else "up" if m.improved else "down"
        metrics.append({"label": m.label, "a": _value(m, m.a), "b": _value(m, m.b), "arrow": arrow,
                        "delta": delta, "tone": tone, "verdict": _verdict(m, threshold)})

    def rows(items: list[QuestionDiff]) -> list[dict]:
        return [{"id": d.id, "question": d.question, "answer_a": clip(d.answer_a, 240), "answer_b": clip(d.answer_b, 240),
                 "changes": [{"text": c.text, "better": c.better} for c in d.changes]} for d in items[:limit]]

    sections = [
        {"title": f"变差的问题 ({len(cmp.worse)})", "subtitle": "Questions that got worse", "rows": rows(cmp.worse),
         "empty": "没有变差的问题 · No question got worse."},
        {"title": f"变好的问题 ({len(cmp.better)})", "subtitle": "Questions that got better", "rows": rows(cmp.better),
         "empty": "没有变好的问题 · No question got better."},
    ]
    when = datetime.now().strftime("%Y-%m-%d %H:%M")
    return render(
        "compare.html", title=TITLE, subtitle=[f"A: {name_a}", f"B: {name_b}", f"生成于 generated {when}"],
        metrics=metrics, matched=cmp.matched, only_a=len(cmp.only_a), only_b=len(cmp.only_b), sections=sections,
        footer="Generated by `zhengwu eval compare`. Δ is B − A; ▲/▼ give the direction, colour whether it is "
               "better (green) or worse (red). Self-contained file: no scripts, nothing fetched from the network.",
    )


def write_html(cmp: Comparison, out: Path, **kwargs: Any) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_html(cmp, **kwargs), encoding="utf-8")
    return out
