"""``zhengwu corpus``: build the bundled corpus from raw public data, and check its health."""

from __future__ import annotations

from pathlib import Path

import click

from zhengwu.config import get_settings
from zhengwu.documents.corpus.build import build_corpus
from zhengwu.index.store import ChunkStore


@click.group(name="corpus")
def corpus() -> None:
    """Build and maintain the document folder the assistant answers from."""


@corpus.command("build")
@click.option(
    "--source",
    "source_dir",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder with the raw data: it must contain gd_service_guides/policy.json and laws/.",
)
@click.option(
    "--out",
    "out_dir",
    default=Path("corpus"),
    show_default=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Corpus folder to write. Only service_guides/, laws/ and SOURCES.md in it are replaced.",
)
@click.option("--quiet", is_flag=True, help="Do not show progress bars.")
def build_command(source_dir: Path, out_dir: Path, quiet: bool) -> None:
    """Convert the raw government data into the Markdown corpus.

    \b
    Reads:
      SOURCE/gd_service_guides/policy.json  Guangdong service guides (one JSON record per line)
      SOURCE/laws/                          laws and regulations (LawRefBook Markdown files)
    Writes:
      OUT/service_guides/<region>/<事项编码>.md
      OUT/laws/<category>/<title>.md
      OUT/SOURCES.md                        where it all came from, licences, what was left out

    Running it again with the same data changes nothing. Generated files the data no longer produces are
    deleted; README.md and any folder you create yourself (for example OUT/local/) are never touched. To
    correct a generated document for good, move it into such a folder and edit it there: a hand-written
    file with the same doc_id replaces the generated one on every rebuild.

    Afterwards run `zhengwu ingest` so the assistant picks up the changes.

    \b
    Example:
      zhengwu corpus build --source ../shared/data --out corpus
    """
    report = build_corpus(source_dir, out_dir, progress=not quiet)
    click.echo(report.summary())
    click.echo(f"Corpus written to {out_dir}")


@corpus.command(name="health")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path, exists=True))
@click.option("--html", "html", type=click.Path(path_type=Path, dir_okay=False),
              help="Write a self-contained HTML report with every table and a chart of problems by kind.")
@click.option("--csv", "csv_dir", type=click.Path(path_type=Path, file_okay=False),
              help="Write one CSV per check into this folder (UTF-8 with BOM: opens in Excel).")
@click.option("--stale-days", type=click.IntRange(min=0),
              help="A document whose `updated` date is older than this is stale (laws excepted). "
                   "Default: ZHENGWU_STALE_AFTER_DAYS (730).")
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), help="Measure age from this date (default: today).")
@click.option("--retrieved", "retrieved", multiple=True, type=click.Path(path_type=Path, exists=True, dir_okay=False),
              metavar="REPORT.json", help="A `zhengwu eval --out` report (repeatable): list the documents that "
                                          "none of its questions retrieved.")
def health_command(paths: tuple[Path, ...], html: Path | None, csv_dir: Path | None, stale_days: int | None,
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

    if stale_days is None:
        stale_days = get_settings().stale_after_days
    options: dict = {"stale_days": stale_days, "as_of": as_of.date() if as_of else None}
    if retrieved:
        try:
            seen, questions = health.retrieved_ids(retrieved)
        except ValueError as exc:  # a file that is not an evaluation report
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


@corpus.command(name="vectors")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path, exists=True))
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False),
              help="Folder of the pack (default: ZHENGWU_VECTOR_PACK_DIR, i.e. corpus/vectors/).")
@click.option("--batch", "batch_size", default=64, show_default=True, type=click.IntRange(1, 4096),
              help="Texts embedded per batch (each batch is saved to the embedding cache at once).")
@click.option("--quiet", is_flag=True, help="Do not show the progress bar.")
def vectors_command(paths: tuple[Path, ...], out_dir: Path | None, batch_size: int, quiet: bool) -> None:
    """Rebuild the shipped vector pack: a dense vector for every law article, every policy/FAQ chunk and
    every guide card of the corpus, for the configured embedder.

    \b
    With the pack in place, a fresh machine builds its index without embedding the bundled corpus (minutes
    instead of an hour); text that is not in the pack (a changed guide, your own documents) is embedded at
    ingest as before. Run this after `zhengwu corpus build`. On two cores it takes about an hour; it can be
    interrupted (Ctrl-C) and run again: finished batches are kept in the embedding cache.
    Examples:
      zhengwu corpus vectors                      the configured corpus folder into corpus/vectors/
      zhengwu corpus vectors corpus/ --out /tmp/pack
    """
    from zhengwu.bootstrap import build_vector_pack
    from zhengwu.ops.progress import progress_bars

    settings = get_settings()
    report = build_vector_pack(settings, list(paths) or [settings.corpus_dir], out_dir or settings.vector_pack_dir,
                               progress=progress_bars(not quiet), batch_size=batch_size)
    click.echo(report.summary())
