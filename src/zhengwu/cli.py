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

from .config import Settings, get_settings


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
    from .index import Index
    from .loaders import load_paths

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
    """The assistant's index, built from the bundled corpus on first use (with progress shown)."""
    from .index import Index

    index = Index(settings)
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
    from .assistant import Assistant, UserContext

    settings = get_settings()
    assistant = Assistant(settings, index=_ensure_index(settings))
    answer = assistant.ask(question, user=UserContext(region=region) if region else None)
    if as_json:
        click.echo(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(answer.render())
        click.echo(f"\n[status: {answer.status}{' / ' + answer.reason if answer.reason else ''}; "
                   f"{answer.latency_ms:.0f} ms]", err=True)


@main.command(name="eval")
@click.argument("questions", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--kb", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="JSONL knowledge base to answer from instead of the indexed corpus (throwaway index; "
                   "embeddings are cached, so a second run does not re-embed).")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), help="Write the JSON report here.")
@click.option("--limit", type=int, help="Only the first N questions.")
@click.option("--compare-legs", is_flag=True, help="Also score retrieval by BM25 alone, dense alone and fused.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def eval_command(
    questions: Path, kb: Path | None, out: Path | None, limit: int | None, compare_legs: bool, quiet: bool
) -> None:
    """Score the assistant on a question file (format: shared/eval/FORMAT.md).

    Prints hit@1, hit@5, MRR@10, nDCG@10, must_contain, token F1, refusal rates and latency, and with --out
    writes the full report with one row per question.
    """
    from .assistant import Assistant
    from .evaluation import QuestionFileError, counts, evaluate, read_questions
    from .evaluation import compare_legs as legs_of

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

    import uvicorn

    settings = get_settings()
    if workers > 1 and not settings.embed_threads:
        # Several workers share the cores: one embedding thread each beats threads fighting over them.
        os.environ["ZHENGWU_EMBED_THREADS"] = "1"
    _ensure_index(settings).close()
    click.echo(f"Serving on http://{host}:{port}  (API docs: http://{host}:{port}/docs)", err=True)
    uvicorn.run("zhengwu.web.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_level="info", proxy_headers=False)


@main.command()
def info() -> None:
    """Show the settings in effect (from ZHENGWU_* environment variables) and the index size."""
    settings = get_settings()
    for name in Settings.model_fields:
        click.echo(f"ZHENGWU_{name.upper():<20} {getattr(settings, name)}")
    store_file = settings.index_dir / "chunks.sqlite3"
    if store_file.exists():
        from .store import ChunkStore

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
    from .channels.telegram import main as telegram_main

    sys.exit(telegram_main(["--set-webhook", webhook] if webhook else []))


def _register_groups() -> None:
    from .cli_people import register
    from .sources.build import corpus

    main.add_command(corpus)
    register(main)


_register_groups()
