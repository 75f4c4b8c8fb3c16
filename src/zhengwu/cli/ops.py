"""Operator commands: ``zhengwu backup`` and ``zhengwu restore``."""

from __future__ import annotations

from pathlib import Path

import click

from zhengwu.config import get_settings


@click.command()
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def backup(out: Path) -> None:
    """Write the index and the personal-data store to OUT (.tar.gz), while the service keeps running.

    \b
    Holds personal data (ID numbers stay encrypted, transcripts masked): store it like the database, and keep
    ZHENGWU_DATA_KEY with your secrets, not with the backup. Example (daily, cron):
      zhengwu backup /srv/backup/zhengwu-$(date +%F).tar.gz"""
    from zhengwu.ops.backup import backup as run_backup

    try:
        report = run_backup(get_settings(), out)
    except RuntimeError as exc:  # the database or Chroma server could not be reached
        raise click.ClickException(str(exc)) from exc
    rows = sum(report.tables.values())
    click.echo(f"{out}: {report.documents} documents, {report.chunks} chunks, {rows} database rows "
               f"in {len(report.tables)} tables")


@click.command()
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def restore(archive: Path, yes: bool) -> None:
    """Replace the index and the personal-data store with those in ARCHIVE (from `zhengwu backup`).

    Stop the service first. BM25 and the vectors are rebuilt from the restored chunk store (vectors from the
    restored embedding cache, so nothing is re-embedded); the target may be another database or Chroma."""
    from zhengwu.ops.backup import restore as run_restore

    settings = get_settings()
    if not yes:
        click.confirm(f"Replace the index in {settings.data_dir} and the personal-data store with {archive}?",
                      abort=True)
    try:
        report = run_restore(settings, archive)
    except (RuntimeError, OSError) as exc:  # BackupError is a RuntimeError too
        raise click.ClickException(str(exc)) from exc
    click.echo(f"restored {report.documents} documents, {report.chunks} chunks, "
               f"{sum(report.tables.values())} database rows")
