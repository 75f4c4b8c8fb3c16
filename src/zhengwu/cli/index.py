"""``zhengwu ingest`` and ``zhengwu info``: building the index and showing what is configured."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import click

from zhengwu.bootstrap import apply_console_documents, ingest_paths, report_line
from zhengwu.config import Settings, get_settings
from zhengwu.index.store import ChunkStore
from zhengwu.ops.progress import progress_bars


@click.command()
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
        for folder in (settings.index_dir, settings.chroma_dir):
            shutil.rmtree(folder, ignore_errors=True)
    targets = list(paths) or [settings.corpus_dir]
    for target in targets:
        if not target.exists():
            raise click.ClickException(f"{target} does not exist")
    started = time.perf_counter()
    index, reports = ingest_paths(settings, targets, progress=progress_bars(not quiet), prune=not no_prune)
    for path, report in reports:
        print_report(path, report)
    if rebuild:  # the console's published documents live in the database: put them back in the new index
        apply_console_documents(settings, index, say=lambda line: click.echo(line, err=True))
    docs, chunks = index.store.count()
    click.echo(f"Index at {settings.data_dir}: {docs} documents, {chunks} chunks "
               f"({time.perf_counter() - started:.1f}s)")
    if any(r.errors for _, r in reports):
        sys.exit(2)


def print_report(path: Path, report) -> None:
    click.echo(report_line(path, report))
    for error in report.errors:
        click.echo(f"  skipped {error.path}: {error.reason}", err=True)
    for warning in report.warnings:
        click.echo(f"  warning {warning.path}: {warning.reason}", err=True)
    if report.held_by_console:
        shown = ", ".join(report.held_by_console[:5]) + (" …" if len(report.held_by_console) > 5 else "")
        click.echo(f"  {len(report.held_by_console)} document(s) not applied: the review console publishes its own "
                   f"version ({shown}); resolve in /console/documents", err=True)


@click.command()
def info() -> None:
    """Show the settings in effect (from ZHENGWU_* environment variables) and the index size."""
    settings = get_settings()
    for name in Settings.model_fields:
        click.echo(f"ZHENGWU_{name.upper():<20} {getattr(settings, name)}")
    store_file = settings.index_dir / "chunks.sqlite3"
    if store_file.exists():
        store = ChunkStore(store_file)
        try:
            docs, chunks = store.count()
        finally:
            store.close()
        click.echo(f"index: {docs} documents, {chunks} chunks")
    else:
        click.echo("index: not built yet (run `zhengwu ingest`)")
