"""Corpus health for data governance: ``zhengwu corpus health``.

Checks what the assistant answers from, either the built index (``ChunkStore``) or corpus files read directly:

- service guides missing a key field (申请材料, 咨询电话, 办理时限): no chunk for the field, or only 无 / empty
  values in it (for 办理时限 both 法定 and 承诺 limits);
- stale documents: ``updated`` older than ``stale_days`` before ``as_of``, or missing / unreadable. Laws are left
  out by default: their date is the version's date, and whether a law still applies is the status check;
- same-name items across regions: one title used by documents of several regions (citizens get the wrong
  region's phone number unless their region is known);
- documents still indexed that are not in force (``status`` other than ``active``: repealed or draft);
- documents never retrieved by the given evaluation reports (``rows[].retrieved`` of ``zhengwu eval --out``
  files), i.e. by those question sets.

The result is a plain dataclass (:class:`HealthReport`) so the review console can show it too; text, HTML and
CSV renderings are functions of it.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from zhengwu.documents import expired
from zhengwu.documents.guide_fields import KEY_FIELDS as GUIDE_KEY_FIELDS
from zhengwu.documents.guide_fields import LABELS
from zhengwu.index.chunking import chunk_document
from zhengwu.index.store import ChunkStore, DocMeta
from zhengwu.quality.reports import charts
from zhengwu.quality.reports.templates import render

TITLE = "语料健康检查 · Corpus health"
KEY_FIELDS: dict[str, str] = {key: LABELS[key] for key in GUIDE_KEY_FIELDS}
EMPTY_VALUES = frozenset({"", "无", "暂无", "没有", "无无", "-", "--", "—", "/", "／", "null", "none", "n/a"})
DEFAULT_STALE_DAYS = 730
DEFAULT_STALE_TYPES = ("service_guide", "policy", "faq")
HTML_ROWS = 100

_LIST_MARK = re.compile(r"^\s*(?:[-*•·]|\d+[.、)）])\s*")
_LABEL = re.compile(r"^[^：:]{1,16}[：:]\s*")
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})(?:\s*[-/.月]\s*(\d{1,2}))?")


@dataclass(frozen=True)
class DocRef:
    doc_id: str
    title: str
    doc_type: str
    region: str
    department: str
    updated: str
    status: str

    @classmethod
    def of(cls, doc: DocMeta) -> DocRef:
        return cls(doc.doc_id, doc.title, doc.doc_type, doc.region, doc.department, doc.updated, doc.status)


@dataclass(frozen=True)
class MissingFields:
    doc: DocRef
    fields: tuple[str, ...]  # Chinese headings, e.g. ("咨询电话",)


@dataclass(frozen=True)
class StaleDoc:
    doc: DocRef
    age_days: int | None  # None: the date is missing or cannot be read


@dataclass(frozen=True)
class SharedTitle:
    title: str
    docs: tuple[DocRef, ...]

    @property
    def regions(self) -> tuple[str, ...]:
        return tuple(sorted({d.region for d in self.docs}))


@dataclass
class HealthReport:
    as_of: date
    stale_days: int
    documents: int
    by_type: dict[str, int]
    missing_fields: list[MissingFields] = field(default_factory=list)
    stale: list[StaleDoc] = field(default_factory=list)
    shared_titles: list[SharedTitle] = field(default_factory=list)
    inactive: list[DocRef] = field(default_factory=list)
    never_retrieved: list[DocRef] | None = None  # None: no evaluation report was given
    retrieval_reports: list[str] = field(default_factory=list)
    questions_seen: int = 0

    def missing_by_field(self) -> dict[str, int]:
        tally = Counter(f for m in self.missing_fields for f in m.fields)
        return {name: tally.get(name, 0) for name in KEY_FIELDS.values()}

    def counts(self) -> dict[str, int]:
        """Problems by kind (the never-retrieved count only when reports were given)."""
        out = {
            "missing_fields": len(self.missing_fields),
            **{f"missing_{key}": self.missing_by_field()[name] for key, name in KEY_FIELDS.items()},
            "stale": len(self.stale),
            "shared_titles": len(self.shared_titles),
            "inactive": len(self.inactive),
        }
        if self.never_retrieved is not None:
            out["never_retrieved"] = len(self.never_retrieved)
        return out


# --- checks ----------------------------------------------------------------------------------------------------


def is_blank(text: str) -> bool:
    """True when a field says nothing: empty or only 无-like values (after list marks and 'label：' prefixes)."""
    values = []
    for line in (text or "").splitlines():
        value = _LABEL.sub("", _LIST_MARK.sub("", line.strip()), count=1).strip().rstrip("。.;；")
        values.append(value)
    return all(v.lower() in EMPTY_VALUES for v in values)


def parse_date(text: str) -> date | None:
    match = _DATE.search(text or "")
    if not match:
        return None
    year, month, day = int(match.group(1)), int(match.group(2)), int(match.group(3) or 1)
    try:
        return date(year, month, day)
    except ValueError:
        return None


def check_corpus(
    docs: Mapping[str, DocMeta],
    guide_fields: Callable[[str], Mapping[str, Sequence[str]]],
    *,
    stale_days: int = DEFAULT_STALE_DAYS,
    as_of: date | None = None,
    stale_types: Iterable[str] = DEFAULT_STALE_TYPES,
    retrieved: Iterable[str] | None = None,
    retrieval_reports: Sequence[str] = (),
    questions_seen: int = 0,
) -> HealthReport:
    """Run every check. ``guide_fields(doc_id)`` gives a guide's field key -> the texts of its chunks;
    ``retrieved`` is every document id the evaluation reports retrieved (None: no reports, check skipped)."""
    as_of = as_of or date.today()
    stale_types = set(stale_types)
    ordered = sorted(docs.values(), key=lambda d: (d.doc_type, d.region, d.title, d.doc_id))
    report = HealthReport(as_of=as_of, stale_days=stale_days, documents=len(docs),
                          by_type=dict(Counter(d.doc_type for d in ordered)),
                          retrieval_reports=list(retrieval_reports), questions_seen=questions_seen)
    titles: dict[str, list[DocMeta]] = defaultdict(list)
    for doc in ordered:
        ref = DocRef.of(doc)
        if doc.doc_type == "service_guide":
            fields = guide_fields(doc.doc_id)
            missing = tuple(name for key, name in KEY_FIELDS.items()
                            if not fields.get(key) or all(is_blank(t) for t in fields[key]))
            if missing:
                report.missing_fields.append(MissingFields(ref, missing))
        if doc.doc_type in stale_types:
            updated = parse_date(doc.updated)
            age = (as_of - updated).days if updated else None
            if age is None or age > stale_days:
                report.stale.append(StaleDoc(ref, age))
        if doc.status != "active" or expired(doc.extra, as_of):  # not answered from: repealed, withdrawn, expired
            report.inactive.append(ref)
        if doc.title.strip():
            titles[re.sub(r"\s+", "", doc.title)].append(doc)
    for group in titles.values():
        if len({d.region for d in group}) > 1:
            report.shared_titles.append(SharedTitle(group[0].title, tuple(DocRef.of(d) for d in group)))
    report.shared_titles.sort(key=lambda s: (-len(s.docs), s.title))
    report.stale.sort(key=lambda s: (s.age_days is not None, -(s.age_days or 0)))
    if retrieved is not None:
        seen = set(retrieved)
        report.never_retrieved = [DocRef.of(d) for d in ordered if d.doc_id not in seen]
    return report


def retrieved_ids(report_paths: Iterable[Path]) -> tuple[set[str], int]:
    """Every document id in ``rows[].retrieved`` of saved evaluation reports, and how many questions they hold."""
    seen: set[str] = set()
    questions = 0
    for path in report_paths:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
            rows = data["rows"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}: not a `zhengwu eval --out` report: {exc}") from exc
        for row in rows:
            questions += 1
            seen.update(str(d) for d in row.get("retrieved") or [])
    return seen, questions


def check_store(store: ChunkStore, **kwargs: Any) -> HealthReport:
    """Check the built index."""
    def fields_of(doc_id: str) -> dict[str, list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        for chunk in store.chunks_of(doc_id):
            if chunk.field:
                out[chunk.field].append(chunk.text)
        return out

    return check_corpus(store.documents(), fields_of, **kwargs)


def check_paths(paths: Sequence[Path], **kwargs: Any) -> tuple[HealthReport, list]:
    """Check corpus files directly, without an index (documents are loaded and chunked in memory).

    Returns the report and the load errors (files that could not be read)."""
    from zhengwu.documents.loaders import load_paths

    docs: dict[str, DocMeta] = {}
    fields: dict[str, dict[str, list[str]]] = {}
    errors: list = []
    for path in paths:
        root = path if path.is_dir() else path.parent
        loaded = load_paths([path], root=root)
        errors += loaded.errors
        for doc in loaded.documents:
            docs[doc.doc_id] = DocMeta(doc.doc_id, doc.title, doc.doc_type, doc.region, doc.department, doc.updated,
                                       doc.source_url, doc.status, dict(doc.extra))
            if doc.doc_type == "service_guide":
                by_field: dict[str, list[str]] = defaultdict(list)
                for chunk in chunk_document(doc):
                    if chunk.field:
                        by_field[chunk.field].append(chunk.text)
                fields[doc.doc_id] = by_field
    return check_corpus(docs, lambda doc_id: fields.get(doc_id, {}), **kwargs), errors


# --- output ----------------------------------------------------------------------------------------------------

KIND_LABELS = {
    "missing_fields": ("缺少关键字段的办事指南", "guides missing a key field"),
    "missing_materials": ("  缺 申请材料", "  no materials"),
    "missing_phone": ("  缺 咨询电话", "  no phone"),
    "missing_time_limit": ("  缺 办理时限", "  no time limit"),
    "stale": ("过期或无日期", "stale or undated"),
    "shared_titles": ("跨地区同名事项", "titles shared across regions"),
    "inactive": ("已废止/草案仍在索引", "not in force, still indexed"),
    "never_retrieved": ("从未被检索到", "never retrieved"),
}


def render_text(report: HealthReport) -> str:
    types = ", ".join(f"{k} {v:,}" for k, v in sorted(report.by_type.items()))
    lines = [f"{report.documents:,} documents ({types}); as of {report.as_of.isoformat()}, "
             f"stale after {report.stale_days} days"]
    for kind, count in report.counts().items():
        zh, en = KIND_LABELS[kind]
        lines.append(f"{en:<32} {count:>7,}   {zh.strip()}")
    if report.never_retrieved is None:
        lines.append("never retrieved: not checked (pass --retrieved REPORT.json from `zhengwu eval --out`)")
    else:
        lines.append(f"  (by {report.questions_seen:,} questions in {len(report.retrieval_reports)} report(s))")
    return "\n".join(lines)


def _doc_cells(ref: DocRef) -> list[str]:
    return [ref.doc_id, ref.title, ref.region, ref.department, ref.updated]


CSV_HEADERS = ["doc_id", "title", "region", "department", "updated"]


def _tables(report: HealthReport) -> list[dict]:
    """Every check as a table: name (CSV file stem), titles, headers and rows (all rows; HTML cuts them)."""
    tables = [
        {"name": "missing_fields", "title": "缺少关键字段的办事指南", "subtitle": "Guides missing key fields",
         "note": "申请材料 (materials), 咨询电话 (phone) or 办理时限 (time limit): no such section, or only 无 / empty. "
                 f"Per field: {', '.join(f'{k} {v:,}' for k, v in report.missing_by_field().items())}.",
         "headers": [*CSV_HEADERS, "missing"],
         "rows": [[*_doc_cells(m.doc), "、".join(m.fields)] for m in report.missing_fields],
         "empty": "每份办事指南都有申请材料、咨询电话和办理时限 · Every guide has all key fields."},
        {"name": "stale", "title": "过期或无日期的文档", "subtitle": "Stale or undated documents",
         "note": f"updated more than {report.stale_days} days before {report.as_of.isoformat()}, or no readable "
                 "date (laws are checked by status instead).",
         "headers": [*CSV_HEADERS, "doc_type", "age_days"],
         "rows": [[*_doc_cells(s.doc), s.doc.doc_type, "missing" if s.age_days is None else str(s.age_days)]
                  for s in report.stale],
         "empty": "没有过期文档 · Nothing stale."},
        {"name": "shared_titles", "title": "跨地区同名事项", "subtitle": "Same title in several regions",
         "note": "citizens who do not say their region may get another region's item; check each is right.",
         "headers": ["title", "regions", "documents", "doc_ids"],
         "rows": [[s.title, "、".join(s.regions), str(len(s.docs)), " ".join(d.doc_id for d in s.docs)]
                  for s in report.shared_titles],
         "empty": "没有跨地区同名事项 · No shared titles."},
        {"name": "inactive", "title": "已废止或草案仍在索引", "subtitle": "Not in force but still indexed",
         "note": "status other than active: never used to answer, but still in the index; remove or re-mark them.",
         "headers": [*CSV_HEADERS, "doc_type", "status"],
         "rows": [[*_doc_cells(d), d.doc_type, d.status] for d in report.inactive],
         "empty": "所有文档均为现行有效 · Every document is active."},
    ]
    if report.never_retrieved is not None:
        tables.append(
            {"name": "never_retrieved", "title": "从未被检索到的文档", "subtitle": "Never retrieved",
             "note": f"in no top-10 list of {report.questions_seen:,} questions in "
                     f"{', '.join(report.retrieval_reports)}.",
             "headers": [*CSV_HEADERS, "doc_type"],
             "rows": [[*_doc_cells(d), d.doc_type] for d in report.never_retrieved],
             "empty": "每份文档都至少被检索到一次 · Every document was retrieved at least once."})
    return tables


def write_csv(report: HealthReport, folder: Path) -> list[Path]:
    """One CSV per check (UTF-8 with BOM, so Excel shows the Chinese), plus summary.csv; returns the files."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    summary = folder / "summary.csv"
    with summary.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["check", "count", "说明"])
        for kind, count in report.counts().items():
            writer.writerow([kind, count, KIND_LABELS[kind][0].strip()])
    written.append(summary)
    for table in _tables(report):
        path = folder / f"{table['name']}.csv"
        with path.open("w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(table["headers"])
            writer.writerows(table["rows"])
        written.append(path)
    return written


def render_html(report: HealthReport, *, source: str = "", row_limit: int = HTML_ROWS) -> str:
    counts = report.counts()
    bad = {"missing_fields", "inactive", "stale"}
    cards = [{"label": "文档 · documents", "value": f"{report.documents:,}",
              "hint": ", ".join(f"{k} {v:,}" for k, v in sorted(report.by_type.items())), "tone": "plain"}]
    for kind, count in counts.items():
        if kind.startswith("missing_") and kind != "missing_fields":
            continue
        zh, en = KIND_LABELS[kind]
        cards.append({"label": f"{zh} · {en}", "value": f"{count:,}", "hint": "",
                      "tone": "good" if not count else "bad" if kind in bad else "warn"})
    items = [(charts.label(zh.strip(), en.strip()), count) for kind, count in counts.items()
             for zh, en in [KIND_LABELS[kind]] if kind != "missing_fields"]
    chart = charts.bar_chart(items, charts.label("问题分布", "Problems by kind"), charts.label("文档数", "documents"))
    sections = []
    for table in _tables(report):
        sections.append({**table, "rows": table["rows"][:row_limit], "more": max(0, len(table["rows"]) - row_limit)})
    when = datetime.now().strftime("%Y-%m-%d %H:%M")
    subtitle = [s for s in (source, f"截至 as of {report.as_of.isoformat()}", f"生成于 generated {when}") if s]
    return render("health.html", title=TITLE, subtitle=subtitle, cards=cards, chart=chart, sections=sections,
                  nowrap={"region", "updated", "doc_type", "status", "age_days", "documents"},
                  footer="Generated by `zhengwu corpus health`. Self-contained file: no scripts, nothing fetched "
                         "from the network. `--csv DIR` exports every table in full.")


def write_html(report: HealthReport, out: Path, **kwargs: Any) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_html(report, **kwargs), encoding="utf-8")
    return out
