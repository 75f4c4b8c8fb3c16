"""``zhengwu eval``: score the assistant on a question file, and render, compare and export the reports.

Scoring measures the corpus-grounded assistant: staff-curated answers are left out, so that a correction
published in the console never hides a regression of retrieval or composing.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import click

from zhengwu.bootstrap import build_assistant, ensure_index, ingest_paths
from zhengwu.cli.default_group import DefaultCommandGroup
from zhengwu.cli.index import print_report
from zhengwu.config import get_settings
from zhengwu.index.store import ChunkStore
from zhengwu.ops.progress import progress_bars
from zhengwu.review import RATINGS


@click.group(name="eval", cls=DefaultCommandGroup, default="run", default_usage="QUESTIONS [OPTIONS]")
def eval_group() -> None:
    """Score the assistant on a question file (format: shared/eval/FORMAT.md); render, compare and export
    evaluation reports.

    \b
      zhengwu eval QUESTIONS [--out r.json] [--html r.html]  score (= `zhengwu eval run QUESTIONS`)
      zhengwu eval compare A.json B.json [--html diff.html]  what changed between two --out reports
      zhengwu eval render r.json [...] --html r.html         the HTML report of saved --out reports
      zhengwu eval export-reviewed OUT [--rating wrong]      staff-reviewed questions as a question file

    Scoring prints hit@1, hit@5, MRR@10, nDCG@10, must_contain, answered_correct, wrong_answer_rate,
    citation_precision, token F1, refusal rates, handoff_rate and latency; --out writes the full JSON report
    with one row per question, --html a self-contained HTML report with charts, breakdowns and the worst
    questions.
    """


@eval_group.command(name="run")
@click.argument("questions", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--kb", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="JSONL knowledge base to answer from instead of the indexed corpus (throwaway index; "
                   "embeddings are cached, so a second run does not re-embed).")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), help="Write the JSON report here.")
@click.option("--html", "html", type=click.Path(path_type=Path, dir_okay=False),
              help="Write a self-contained HTML report here (charts, breakdowns, worst questions).")
@click.option("--limit", type=int, help="Only the first N questions.")
@click.option("--compare-legs", is_flag=True, help="Also score retrieval by BM25 alone, dense alone and fused.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def eval_command(
    questions: Path, kb: Path | None, out: Path | None, html: Path | None, limit: int | None, compare_legs: bool,
    quiet: bool,
) -> None:
    """Score the assistant on a question file (format: shared/eval/FORMAT.md); the default command of
    `zhengwu eval`.

    Prints hit@1, hit@5, MRR@10, nDCG@10, must_contain, answered_correct, wrong_answer_rate, citation_precision,
    token F1, refusal rates, handoff_rate and latency, with --out writes the full report with one row per
    question, and with --html a self-contained HTML report.
    """
    from zhengwu.quality.evaluation import compare_legs as legs_of
    from zhengwu.quality.evaluation import counts, evaluate, read_questions

    settings = get_settings()
    items = read_questions(questions)
    if limit:
        items = items[:limit]
    with tempfile.TemporaryDirectory(prefix="zhengwu-eval-") as tmp:
        if kb:
            throwaway, index = _kb_index(settings, kb, Path(tmp), quiet)
            assistant = build_assistant(throwaway, index)
        else:
            index = ensure_index(settings, progress=progress_bars(not quiet), say=_say(quiet))
            assistant = build_assistant(settings, index)
        tick = progress_bars(not quiet)("评测 evaluating", len(items))
        report = evaluate(assistant, items, progress=tick)
        legs = legs_of(assistant, items) if compare_legs else None
        docs = assistant.index.documents() if html else None
        if kb:
            assistant.index.dense.drop()
        assistant.index.close()
    for key, value in report.items():
        if key != "rows":
            click.echo(f"{key:>20}: {'n/a' if value is None else value}")
    click.echo("              counts: " + ", ".join(f"{k}={v}" for k, v in counts(report).items()))
    if legs:
        click.echo("retrieval alone (no refusals):")
        for name, metrics in legs.items():
            click.echo(f"{name:>20}: " + ", ".join(f"{k}={v}" for k, v in metrics.items()))
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
        click.echo(f"report written to {out}")
    if html:
        from zhengwu.quality.reports.eval_report import write_html

        write_html(report, html, docs, source=questions.name)
        click.echo(f"HTML report written to {html}")


def _kb_index(settings, kb: Path, tmp: Path, quiet: bool):
    """A throwaway index over a JSONL knowledge base, sharing the persistent embedding cache; its own
    collection too: on a shared Chroma server it must never touch the main index's vectors."""
    throwaway = settings.model_copy(update={
        "data_dir": tmp,
        "embedding_cache": settings.cache_path,
        "collection": f"{settings.collection}-eval-{tmp.name[-8:].lower()}",
    })
    index, reports = ingest_paths(throwaway, [kb], progress=progress_bars(not quiet))
    for path, report in reports:
        print_report(path, report)
    return throwaway, index


@eval_group.command(name="fit-adapter")
@click.argument("questions", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--kb", required=True, type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="The JSONL knowledge base the questions' gold_doc_ids refer to.")
@click.option("--out", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="Where to write the adapter (.npz); then set ZHENGWU_QUERY_ADAPTER to it.")
@click.option("--folds", default=5, show_default=True, type=click.IntRange(2, 20))
@click.option("--force", is_flag=True, help="Write the adapter even when it does not win out of fold.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def fit_adapter_command(questions: Path, kb: Path, out: Path, folds: int, force: bool, quiet: bool) -> None:
    """Fit a query adapter for a knowledge base from reviewed question → answer pairs (for example the
    review console's `zhengwu eval export-reviewed` file), and write it only if it wins out of fold.

    
    Prints dense retrieval with frozen question vectors against adapted ones, each question ranked by an
    adapter fitted without it (--folds). Published results report large gains from about 1,500 pairs;
    with a few hundred the adapter often does not win, and then nothing is written (unless --force).
    Example:
      zhengwu eval fit-adapter reviewed.jsonl --kb faq_kb.jsonl --out adapter.npz
      ZHENGWU_QUERY_ADAPTER=adapter.npz zhengwu eval reviewed_heldout.jsonl --kb faq_kb.jsonl
    """
    import numpy as np

    from zhengwu.index.adapter import QueryAdapter
    from zhengwu.quality.adapter_fit import cross_validate_adapter, fit_adapter, positives
    from zhengwu.quality.evaluation import read_questions

    settings = get_settings().model_copy(update={"query_adapter": None})
    items = [q for q in read_questions(questions) if q.gold_doc_ids]
    if len(items) < 20:
        raise click.ClickException(f"{questions}: {len(items)} questions with gold_doc_ids; at least 20 are needed")
    with tempfile.TemporaryDirectory(prefix="zhengwu-adapter-") as tmp:
        _, index = _kb_index(settings, kb, Path(tmp), quiet)
        try:
            chunks = index.embedded_chunks()
            vectors = index.vectors_of(chunks)
            chunk_docs = [c.doc_id for c in chunks]
            tick = progress_bars(not quiet)("问题向量 questions", len(items))
            query_vectors = []
            for q in items:
                query_vectors.append(index.embedder.embed_query(q.question))
                tick(1)
            embedder_name = index.embedder.name
        finally:
            index.dense.drop()
            index.close()
    matrix_q = np.array(query_vectors, dtype=np.float32)
    gold = [set(q.gold_doc_ids) for q in items]
    report = cross_validate_adapter(matrix_q, vectors, chunk_docs, gold, folds=folds)
    click.echo(report.table())
    if not report.wins and not force:
        click.echo("The adapter does not win out of fold: nothing written (use --force to write it anyway).")
        return
    rows, targets = positives(matrix_q, vectors, chunk_docs, gold)
    adapter = QueryAdapter(fit_adapter(matrix_q[rows], targets), embedder_name,
                           {"pairs": int(len(rows)), "folds": folds, "plain": report.plain, "adapted": report.adapted})
    adapter.save(out)
    click.echo(f"adapter written to {out}: set ZHENGWU_QUERY_ADAPTER={out}")


def _load_reports(paths: tuple[Path, ...] | list[Path]) -> list[dict]:
    from zhengwu.quality.reports.compare import load_report

    return [load_report(p) for p in paths]


def _say(quiet: bool):
    return (lambda _line: None) if quiet else (lambda line: click.echo(line, err=True))


@eval_group.command(name="compare")
@click.argument("report_a", metavar="A.json", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.argument("report_b", metavar="B.json", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--html", "html", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write the comparison as a self-contained HTML page.")
@click.option("--fail-on-regression", "threshold", type=click.FloatRange(min=0), metavar="X",
              help="Exit 1 if a headline metric got worse by more than X (e.g. 0.02: two points of hit@1); "
                   "for CI. Latency is never gated.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(0),
              help="Questions listed per list (worse, better) in the terminal.")
def compare_command(report_a: Path, report_b: Path, html: Path | None, threshold: float | None, limit: int) -> None:
    """Compare two `zhengwu eval --out` reports: metric deltas (B − A) and the questions, matched by id, that
    got worse or better (hit rank, must_contain, refusals, wrong answers).

    \b
    Example (CI):
      zhengwu eval compare evaluation/reports/main.json new.json --fail-on-regression 0.02
    """
    from zhengwu.quality.reports import compare

    a, b = _load_reports([report_a, report_b])
    result = compare.compare_reports(a, b)
    click.echo(compare.render_text(result, threshold=threshold, limit=limit))
    if html:
        compare.write_html(result, html, name_a=str(report_a), name_b=str(report_b), threshold=threshold)
        click.echo(f"HTML comparison written to {html}")
    if threshold is not None:
        regressions = result.regressions(threshold)
        for m in regressions:
            click.echo(f"regression: {m.key} {m.a} -> {m.b} (worse by {m.worsening:.4f} > {threshold})", err=True)
        if regressions:
            sys.exit(1)


@eval_group.command(name="render")
@click.argument("reports", metavar="REPORT.json...", nargs=-1, required=True,
                type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--html", "html", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="The HTML file to write.")
def render_command(reports: tuple[Path, ...], html: Path) -> None:
    """Write the HTML report of saved `zhengwu eval --out` reports without asking anything again. Several
    reports are merged into one page, with a breakdown by report (set); metrics are recomputed over all rows.
    Departments and document types are looked up in the built index when it holds the retrieved documents."""
    from zhengwu.quality.evaluation import summarise
    from zhengwu.quality.reports.eval_report import write_html

    loaded = _load_reports(reports)
    rows = [{**row, "set": row.get("set") or path.stem} for path, data in zip(reports, loaded, strict=True)
            for row in data["rows"]]
    merged = summarise(rows) if len(loaded) > 1 else loaded[0]
    docs = None
    store_file = get_settings().index_dir / "chunks.sqlite3"
    if store_file.exists():
        store = ChunkStore(store_file)
        try:
            docs = store.documents()
        finally:
            store.close()
        if not any(d in docs for row in rows for d in row.get("retrieved") or []):
            docs = None  # e.g. reports of a --kb run: not this index's documents
    write_html(merged, html, docs, source=", ".join(p.name for p in reports))
    click.echo(f"HTML report written to {html}")


@eval_group.command(name="export-reviewed")
@click.argument("out", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--rating", type=click.Choice(RATINGS),
              help="Only answers staff rated so (default: every reviewed answer).")
def export_reviewed_command(out: Path, rating: str | None) -> None:
    """Write the answers staff reviewed in the review console as a question file (shared/eval/FORMAT.md), to
    score later runs against: `zhengwu eval OUT`."""
    from zhengwu.review import export_reviewed

    written = export_reviewed(get_settings(), out, rating=rating)
    click.echo(f"{written} reviewed questions written to {out}")
