"""The ``zhengwu`` command line. Run ``zhengwu --help`` or ``zhengwu COMMAND --help``.

Operator messages are in English; citizen-facing answers are in Simplified Chinese.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import click

from zhengwu.config import Settings, get_settings


def _progress_factory(enabled: bool) -> Callable[[str, int], Callable[[int], None]]:
    from tqdm import tqdm

    def factory(label: str, total: int) -> Callable[[int], None]:
        if not enabled or total == 0:
            return lambda _n: None
        bar = tqdm(total=total, desc=label, unit="项", file=sys.stderr, leave=False, dynamic_ncols=True)

        def tick(n: int) -> None:
            bar.update(n)
            if bar.n >= bar.total:
                bar.close()

        return tick

    return factory


def ingest_paths(settings: Settings, paths: list[Path], *, progress: bool = True, prune: bool = True):
    """Load and ingest each path as one source; returns (index, list of (path, report))."""
    from zhengwu.index.index import Index
    from zhengwu.documents.loaders import load_paths

    index = Index(settings)
    reports = []
    for path in paths:
        root = path if path.is_dir() else path.parent
        loaded = load_paths([path], root=root)
        report = index.ingest(
            loaded.documents,
            str(path.resolve()),
            prune=prune,
            progress=_progress_factory(progress),
            errors=loaded.errors,
        )
        reports.append((path, report))
    return index, reports


def _print_report(path: Path, report) -> None:
    click.echo(
        f"{path}: {report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
        f"{report.removed} removed; {report.chunks_written} chunks written, "
        f"{report.vectors_embedded} vectors embedded, {report.seconds:.1f}s"
    )
    for error in report.errors:
        click.echo(f"  skipped {error.path}: {error.reason}", err=True)
    for warning in report.warnings:
        click.echo(f"  warning {warning.path}: {warning.reason}", err=True)


def _ensure_index(settings: Settings, quiet: bool = False):
    """The assistant's index, built from the bundled corpus on first use (with progress shown), checked and
    repaired where it can be (missing BM25 files or vectors are rebuilt from the chunk store)."""
    from zhengwu.index.index import Index
    from zhengwu.index.store import IndexDamaged

    try:
        index = Index(settings)
    except IndexDamaged as exc:
        raise click.ClickException(str(exc)) from exc
    if not index.is_empty():
        missing = len(index.store.embedded_chunks()) - index.dense.count()
        if missing:
            if not quiet:
                click.echo(f"The vector index does not match the chunk store ({missing:+d} vectors): repairing "
                           "from the embedding cache...", err=True)
            index.repair_dense(_progress_factory(not quiet))
    if index.is_empty():
        if not settings.corpus_dir.exists():
            raise click.ClickException(
                f"the index is empty and the corpus folder {settings.corpus_dir} does not exist. "
                "Run `zhengwu ingest PATH` or set ZHENGWU_CORPUS_DIR."
            )
        if not quiet:
            click.echo(f"First run: building the index from {settings.corpus_dir} (later runs reuse it)...", err=True)
        index.close()
        index, reports = ingest_paths(settings, [settings.corpus_dir], progress=not quiet)
        if not quiet:
            for path, report in reports:
                _print_report(path, report)
    return index


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="zhengwu-assistant")
def main() -> None:
    """zhengwu-assistant (政务助手): grounded answers about government services, offline.

    \b
    Typical first use:
      zhengwu ask "往来台湾通行证商务签注在哪里办理？"   # builds the index on first run
      zhengwu ingest /path/to/our/guides               # add your own documents
      zhengwu eval questions.jsonl --out report.json   # measure answer quality

    Settings come from environment variables with the ZHENGWU_ prefix (see `zhengwu info`).
    """


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path, exists=True))
@click.option("--rebuild", is_flag=True, help="Drop the index first and build it again from scratch.")
@click.option("--no-prune", is_flag=True, help="Keep documents that are no longer in PATH.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def ingest(paths: tuple[Path, ...], rebuild: bool, no_prune: bool, quiet: bool) -> None:
    """Index documents (Markdown with front matter, TXT, HTML, PDF, DOCX, JSONL knowledge bases).

    With no PATH, ingests the bundled corpus (ZHENGWU_CORPUS_DIR). Ingestion is incremental: unchanged
    documents are skipped, changed ones replaced, and documents removed from PATH are deleted from the index.
    Files that cannot be read are reported by name with the reason; the rest are still ingested.
    """
    settings = get_settings()
    if rebuild:
        import shutil

        for folder in (settings.index_dir, settings.chroma_dir):
            shutil.rmtree(folder, ignore_errors=True)
    targets = list(paths) or [settings.corpus_dir]
    for target in targets:
        if not target.exists():
            raise click.ClickException(f"{target} does not exist")
    started = time.perf_counter()
    index, reports = ingest_paths(settings, targets, progress=not quiet, prune=not no_prune)
    for path, report in reports:
        _print_report(path, report)
    docs, chunks = index.store.count()
    click.echo(f"Index at {settings.data_dir}: {docs} documents, {chunks} chunks "
               f"({time.perf_counter() - started:.1f}s)")
    if any(r.errors for _, r in reports):
        sys.exit(2)


@main.command()
@click.argument("question")
@click.option("--region", help="The asker's region, e.g. 广州市 (answers prefer that region's items).")
@click.option("--json", "as_json", is_flag=True, help="Print the full answer as JSON.")
def ask(question: str, region: str | None, as_json: bool) -> None:
    """Ask one question in Chinese and print the answer with its sources."""
    from zhengwu.answering.assistant import Assistant, UserContext

    settings = get_settings()
    assistant = Assistant(settings, index=_ensure_index(settings))
    answer = assistant.ask(question, user=UserContext(region=region) if region else None)
    if as_json:
        click.echo(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(answer.render())
        click.echo(f"\n[status: {answer.status}{' / ' + answer.reason if answer.reason else ''}; "
                   f"{answer.latency_ms:.0f} ms]", err=True)


class DefaultCommandGroup(click.Group):
    """A click group with a default command: a first argument that is not one of the group's commands (a file
    name, or an option of the default command) is handed to ``default`` with everything after it.

    ``zhengwu eval questions.jsonl --out r.json`` is therefore ``zhengwu eval run questions.jsonl --out r.json``,
    while ``zhengwu eval compare A B`` still reaches ``compare``. Help lists both usages and the default
    command's options.
    """

    def __init__(self, *args, default: str, default_usage: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.default = default
        self.default_usage = default_usage

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            first = args[0]
            if not first.startswith("-") and not Path(first).exists() and first.replace("-", "").isalpha() \
                    and first.isascii():
                raise click.UsageError(
                    f"no command {first!r} and no file of that name. Commands: {', '.join(self.list_commands(ctx))}; "
                    f"or give a question file: {ctx.command_path} {self.default_usage}", ctx)
            args = [self.default, *args]
        return super().parse_args(ctx, args)

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage(ctx.command_path, self.default_usage)
        formatter.write_usage(ctx.command_path, "COMMAND [ARGS]...", prefix="   or: ")

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        command = self.commands[self.default]
        sub = click.Context(command, info_name=self.default, parent=ctx)
        records = [r for p in command.get_params(sub) if isinstance(p, click.Option) and (r := p.get_help_record(sub))]
        if records:
            with formatter.section(f"Options of {ctx.command_path} {self.default_usage}"):
                formatter.write_dl(records)
        self.format_commands(ctx, formatter)


@main.group(name="eval", cls=DefaultCommandGroup, default="run", default_usage="QUESTIONS [OPTIONS]")
def eval_group() -> None:
    """Score the assistant on a question file (format: shared/eval/FORMAT.md); render, compare and export
    evaluation reports.

    \b
      zhengwu eval QUESTIONS [--out r.json] [--html r.html]  score (= `zhengwu eval run QUESTIONS`)
      zhengwu eval compare A.json B.json [--html diff.html]  what changed between two --out reports
      zhengwu eval render r.json [...] --html r.html         the HTML report of saved --out reports
      zhengwu eval export-reviewed OUT [--rating wrong]      staff-reviewed questions as a question file

    Scoring prints hit@1, hit@5, MRR@10, nDCG@10, must_contain, token F1, refusal rates and latency; --out
    writes the full JSON report with one row per question, --html a self-contained HTML report with charts,
    breakdowns and the worst questions.
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

    Prints hit@1, hit@5, MRR@10, nDCG@10, must_contain, token F1, refusal rates and latency, with --out
    writes the full report with one row per question, and with --html a self-contained HTML report.
    """
    from zhengwu.answering.assistant import Assistant
    from zhengwu.quality.evaluation import QuestionFileError, counts, evaluate, read_questions
    from zhengwu.quality.evaluation import compare_legs as legs_of

    settings = get_settings()
    try:
        items = read_questions(questions)
    except QuestionFileError as exc:
        raise click.ClickException(str(exc)) from exc
    if limit:
        items = items[:limit]
    with tempfile.TemporaryDirectory(prefix="zhengwu-eval-") as tmp:
        if kb:
            # A throwaway index over the KB, sharing the persistent embedding cache.
            # Its own collection too: on a shared Chroma server it must never touch the main index's vectors.
            throwaway = settings.model_copy(update={
                "data_dir": Path(tmp),
                "embedding_cache": settings.cache_path,
                "collection": f"{settings.collection}-eval-{Path(tmp).name[-8:].lower()}",
            })
            index, reports = ingest_paths(throwaway, [kb], progress=not quiet)
            for path, report in reports:
                _print_report(path, report)
            assistant = Assistant(throwaway, index=index)
        else:
            assistant = Assistant(settings, index=_ensure_index(settings, quiet))
        tick = _progress_factory(not quiet)("评测 evaluating", len(items))
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


def _load_reports(paths: tuple[Path, ...] | list[Path]) -> list[dict]:
    from zhengwu.quality.reports.compare import ReportFileError, load_report

    try:
        return [load_report(p) for p in paths]
    except ReportFileError as exc:
        raise click.ClickException(str(exc)) from exc


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
    got worse or better (hit rank, must_contain, refusals).

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
        from zhengwu.index.store import ChunkStore

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
@click.option("--rating", type=click.Choice(["correct", "partly", "wrong", "should_refuse"]),
              help="Only answers staff rated so (default: every reviewed answer).")
def export_reviewed_command(out: Path, rating: str | None) -> None:
    """Write the answers staff reviewed in the review console as a question file (shared/eval/FORMAT.md), to
    score later runs against: `zhengwu eval OUT`."""
    try:
        from zhengwu.review.export import export_reviewed
    except ModuleNotFoundError as exc:
        if exc.name and (exc.name == "zhengwu.review" or exc.name.startswith("zhengwu.review.")):
            raise click.ClickException("review console not installed") from exc
        raise
    written = export_reviewed(get_settings(), out, rating=rating)
    click.echo(f"{written} reviewed questions written to {out}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on (0.0.0.0 for all).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes; they share the index and the session store in ZHENGWU_DATA_DIR.")
def serve(host: str, port: int, workers: int) -> None:
    """Run the HTTP service: chat API under /api/v1, OpenAPI at /docs, demo page and widget at /.

    \b
    Builds the index from the bundled corpus on first start (progress shown); later starts reuse it.
    Staff endpoints need ZHENGWU_ADMIN_TOKEN; sites that embed the widget go in ZHENGWU_CORS_ORIGINS.
    """
    import os
    import shutil

    import uvicorn

    settings = get_settings()
    if workers > 1 and not settings.embed_threads:
        # Several workers share the cores: one embedding thread each beats threads fighting over them.
        os.environ["ZHENGWU_EMBED_THREADS"] = "1"
    _ensure_index(settings).close()
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # /metrics sums all workers: each writes its counters to files here (cleared at every start).
        metrics_dir = settings.data_dir / "metrics"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    click.echo(f"Serving on http://{host}:{port}  (API docs: http://{host}:{port}/docs)", err=True)
    # log_config=None: each worker configures logging itself (JSON lines, request ids, PII masked).
    uvicorn.run("zhengwu.web.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_level="info", log_config=None, proxy_headers=False)


@main.command()
def info() -> None:
    """Show the settings in effect (from ZHENGWU_* environment variables) and the index size."""
    settings = get_settings()
    for name in Settings.model_fields:
        click.echo(f"ZHENGWU_{name.upper():<20} {getattr(settings, name)}")
    store_file = settings.index_dir / "chunks.sqlite3"
    if store_file.exists():
        from zhengwu.index.store import ChunkStore

        docs, chunks = ChunkStore(store_file).count()
        click.echo(f"index: {docs} documents, {chunks} chunks")
    else:
        click.echo("index: not built yet (run `zhengwu ingest`)")


@main.command()
@click.option("--set-webhook", "webhook", metavar="URL", help="Register URL (https://host/telegram/webhook) and exit.")
def telegram(webhook: str | None) -> None:
    """Run the Telegram bot by long polling (needs ZHENGWU_TELEGRAM_TOKEN), or register the webhook URL for
    webhook mode (then also ZHENGWU_TELEGRAM_WEBHOOK_SECRET; `zhengwu serve` receives the updates).
    Operator guide: bots/telegram/README.md."""
    from zhengwu.channels.telegram import main as telegram_main

    sys.exit(telegram_main(["--set-webhook", webhook] if webhook else []))


@click.command(name="health")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path, exists=True))
@click.option("--html", "html", type=click.Path(path_type=Path, dir_okay=False),
              help="Write a self-contained HTML report with every table and a chart of problems by kind.")
@click.option("--csv", "csv_dir", type=click.Path(path_type=Path, file_okay=False),
              help="Write one CSV per check into this folder (UTF-8 with BOM: opens in Excel).")
@click.option("--stale-days", default=730, show_default=True, type=click.IntRange(min=0),
              help="A document whose `updated` date is older than this is stale (laws excepted).")
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), help="Measure age from this date (default: today).")
@click.option("--retrieved", "retrieved", multiple=True, type=click.Path(path_type=Path, exists=True, dir_okay=False),
              metavar="REPORT.json", help="A `zhengwu eval --out` report (repeatable): list the documents that "
                                          "none of its questions retrieved.")
def health_command(paths: tuple[Path, ...], html: Path | None, csv_dir: Path | None, stale_days: int,
                   as_of, retrieved: tuple[Path, ...]) -> None:
    """Corpus health for data governance: service guides missing 申请材料, 咨询电话 or 办理时限, stale or undated
    documents, the same item name in several regions, repealed or draft documents still indexed, and (with
    --retrieved) documents no evaluated question ever retrieved.

    \b
    Checks the built index; with PATH, reads those corpus files directly instead (no index needed).
    Examples:
      zhengwu corpus health --html health.html --csv health/
      zhengwu corpus health corpus/ --stale-days 365
      zhengwu corpus health --retrieved evaluation/reports/gold.json --retrieved guides.json
    """
    from zhengwu.quality.reports import health

    options: dict = {"stale_days": stale_days, "as_of": as_of.date() if as_of else None}
    if retrieved:
        try:
            seen, questions = health.retrieved_ids(retrieved)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
        options.update(retrieved=seen, retrieval_reports=[p.name for p in retrieved], questions_seen=questions)
    if paths:
        report, errors = health.check_paths(list(paths), **options)
        for error in errors:
            click.echo(f"  skipped {error.path}: {error.reason}", err=True)
        source = ", ".join(str(p) for p in paths)
    else:
        settings = get_settings()
        store_file = settings.index_dir / "chunks.sqlite3"
        if not store_file.exists():
            raise click.ClickException(f"no index at {settings.data_dir}: run `zhengwu ingest` first, or check the "
                                       "corpus files directly: `zhengwu corpus health corpus/`")
        from zhengwu.index.store import ChunkStore

        store = ChunkStore(store_file)
        try:
            report = health.check_store(store, **options)
        finally:
            store.close()
        source = f"index {settings.data_dir}"
    click.echo(health.render_text(report))
    if csv_dir:
        files = health.write_csv(report, csv_dir)
        click.echo(f"{len(files)} CSV files written to {csv_dir}")
    if html:
        health.write_html(report, html, source=source)
        click.echo(f"HTML report written to {html}")


def _register_groups() -> None:
    from zhengwu.cli.ops import register as register_ops
    from zhengwu.cli.people import register
    from zhengwu.cli.staff import staff
    from zhengwu.documents.corpus.build import corpus

    corpus.add_command(health_command)
    main.add_command(corpus)
    register(main)
    register_ops(main)
    main.add_command(staff)


_register_groups()
