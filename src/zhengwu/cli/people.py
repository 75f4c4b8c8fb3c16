"""Staff commands for personal data: ``zhengwu history``, ``zhengwu users``, ``zhengwu reminders``,
``zhengwu privacy``. Every command that reads or changes a person's data is written to the audit log under the
operator's name (``--actor``, default: the login name)."""

from __future__ import annotations

import getpass
import json
import sys
from datetime import date
from pathlib import Path

import click

from zhengwu.config import get_settings


def _store():
    from zhengwu.personal import open_people_store

    try:
        return open_people_store(get_settings())
    except (RuntimeError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc


def _actor(value: str | None) -> str:
    return value or f"cli:{getpass.getuser()}"


def _user_id(people, user_id: int | None, channel: str | None, external_id: str | None) -> int:
    if user_id is not None:
        return user_id
    if channel and external_id:
        found = people.user_for(channel, external_id, create=False)
        if found is None:
            raise click.ClickException(f"no user has the {channel} identity given")
        return found
    raise click.UsageError("give --user-id, or --channel and --external-id")


_who = [
    click.option("--user-id", type=int, help="The user's number in the store."),
    click.option("--channel", type=click.Choice(["web", "telegram", "wechat", "wecom"]), help="Or a channel..."),
    click.option("--external-id", help="...and the user's id on it (Telegram user id, WeChat openid, ...)."),
    click.option("--actor", help="Your name for the audit log (default: cli:<login name>)."),
]


def who(func):
    for option in reversed(_who):
        func = option(func)
    return func


@click.group()
def history() -> None:
    """Service history (办件记录) imported from the government service system."""


@history.command(name="import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Validate only; store nothing.")
@click.option("--actor", help="Your name for the audit log.")
def import_command(file: Path, dry_run: bool, actor: str | None) -> None:
    """Import FILE (.csv or .jsonl; headers in English or Chinese, UTF-8 or GB18030).

    Bad rows are listed with line, field and reason and skipped; good rows are stored (re-importing the same
    file adds nothing). Exit code 2 when any row was rejected."""
    from zhengwu.personal import import_history, read_history

    read = read_history(file)
    if dry_run:
        click.echo(read.summary())
        for error in read.errors:
            click.echo(f"  {error}", err=True)
        sys.exit(2 if read.errors else 0)
    people = _store()
    report = import_history(people, read, _actor(actor), _doc_ids_by_code())
    click.echo(report.summary())
    for error in report.errors:
        click.echo(f"  rejected {error}", err=True)
    for warning in report.warnings:
        click.echo(f"  warning {warning}", err=True)
    sys.exit(2 if report.errors else 0)


def _doc_ids_by_code() -> dict[str, str]:
    """事项编码 -> corpus document id, from the index when one exists (records then link to their guide)."""
    settings = get_settings()
    if not (settings.index_dir / "chunks.sqlite3").exists():
        return {}
    from zhengwu.index.store import ChunkStore

    store = ChunkStore(settings.index_dir / "chunks.sqlite3")
    from zhengwu.personal import doc_ids_by_item_code

    return doc_ids_by_item_code(store.documents())


@click.group()
def users() -> None:
    """A citizen's data: show, consent, export (PIPL Art. 45), delete (Art. 47)."""


@users.command()
@who
def show(user_id, channel, external_id, actor) -> None:
    """Show a user's profile (ID number masked) and consents."""
    people = _store()
    uid = _user_id(people, user_id, channel, external_id)
    people.audit(_actor(actor), "view_profile", uid)
    profile = people.profile(uid)
    click.echo(json.dumps({
        "user_id": profile.user_id, "region": [profile.province, profile.city, profile.district],
        "tags": profile.tags, "id_number": profile.id_number_masked,
        "consents": {k: {"granted": c.granted, "at": c.at.isoformat() if c.at else None}
                     for k, c in profile.consents.items()},
        "identities": [f"{c}:{e}" for c, e in profile.identities],
        "records": len(people.records(uid)),
    }, ensure_ascii=False, indent=2))


@users.command()
@who
@click.option("--personalisation/--no-personalisation", default=None, help="个性化服务: grant or withdraw.")
@click.option("--reminders/--no-reminders", default=None, help="到期提醒: grant or withdraw.")
def consent(user_id, channel, external_id, actor, personalisation, reminders) -> None:
    """Record a consent the citizen gave or withdrew at a service window."""
    people = _store()
    uid = _user_id(people, user_id, channel, external_id)
    for kind, value in (("personalisation", personalisation), ("reminders", reminders)):
        if value is not None:
            people.set_consent(uid, kind, value)
            people.audit(_actor(actor), f"consent_{'grant' if value else 'withdraw'}", uid, kind)
            click.echo(f"{kind}: {'granted' if value else 'withdrawn'}")


@users.command()
@who
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write JSON here (default: stdout).")
def export(user_id, channel, external_id, actor, out) -> None:
    """Everything stored about one user, as JSON (includes the full ID number: hand it to the citizen only)."""
    people = _store()
    uid = _user_id(people, user_id, channel, external_id)
    people.audit(_actor(actor), "export", uid)
    text = json.dumps(people.export(uid), ensure_ascii=False, indent=2, default=str)
    if out:
        out.write_text(text, encoding="utf-8")
        click.echo(f"written {out}")
    else:
        click.echo(text)


@users.command()
@who
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def delete(user_id, channel, external_id, actor, yes) -> None:
    """Erase a user: profile, identities, history, consents, sessions, conversation logs."""
    people = _store()
    uid = _user_id(people, user_id, channel, external_id)
    if not yes:
        click.confirm(f"Erase user {uid} and all of their data?", abort=True)
    counts = people.delete(uid, actor=_actor(actor))
    click.echo("deleted: " + ", ".join(f"{k} {v}" for k, v in counts.items() if v))


@click.group()
def reminders() -> None:
    """Expiry reminders (居住证, 驾驶证 …) for users who opted in."""


@reminders.command(name="run")
@click.option("--within", default=30, show_default=True, help="Remind this many days before the end date.")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), help="Pretend today is this date.")
@click.option("--deliver", is_flag=True,
              help="Send each reminder through the user's WeChat / WeCom / Telegram identity (configured channels).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Append reminders as JSON lines here (default: stdout); with --deliver, only the undelivered.")
def reminders_run(within: int, today, deliver: bool, out: Path | None) -> None:
    """Find validity ending soon and emit one reminder per record (never twice for the same end date).

    Schedule it daily, e.g. cron: 0 9 * * * zhengwu reminders run --deliver --out /srv/zhengwu/outbox.jsonl"""
    from zhengwu.channels.reminders import deliver as deliver_one
    from zhengwu.channels.reminders import reminder_senders
    from zhengwu.personal import due_reminders

    people = _store()
    day = today.date() if today else date.today()
    found = due_reminders(people, day, within)
    senders = reminder_senders(get_settings()) if deliver else {}
    delivered, lines = 0, []
    for r in found:
        channel = deliver_one(r, senders) if deliver else None
        if channel:
            delivered += 1
        else:
            lines.append(json.dumps({"user_id": r.user_id, "identities": [f"{c}:{e}" for c, e in r.identities],
                                     "item": r.record.item_name, "valid_until": str(r.record.valid_until),
                                     "text": r.text}, ensure_ascii=False))
        people.mark_reminder_sent(r.record.id)
    if out:
        with out.open("a", encoding="utf-8") as handle:
            handle.writelines(line + "\n" for line in lines)
    else:
        for line in lines:
            click.echo(line)
    click.echo(f"{len(found)} reminders, {delivered} delivered through chat channels", err=True)


@click.group()
def privacy() -> None:
    """Retention and keys."""


@privacy.command()
@click.option("--days", type=click.IntRange(1), help="Keep conversations this many days "
              "(default: ZHENGWU_RETENTION_DAYS, 90).")
@click.option("--security-days", type=click.IntRange(180), help="Keep the staff access audit this many days "
              "(default: ZHENGWU_SECURITY_LOG_RETENTION_DAYS, 180; at least 180).")
def purge(days: int | None, security_days: int | None) -> None:
    """Delete conversation logs and sessions older than the conversation retention, and staff-access audit
    entries older than the security-log retention. Schedule it daily (docs/security.md)."""
    from zhengwu.personal import purge_old_conversations, purge_security_logs

    settings = get_settings()
    days = days or settings.retention_days
    security_days = security_days or settings.security_log_retention_days
    store = _store()
    turns, sessions = purge_old_conversations(store, days)
    audits = purge_security_logs(store, security_days)
    click.echo(f"purged {turns} conversation turns and {sessions} sessions older than {days} days, "
               f"and {audits} audit entries older than {security_days} days")


@privacy.command(name="new-key")
def new_key() -> None:
    """Print a new random ZHENGWU_DATA_KEY (keep it in your secret store; losing it loses the ID numbers)."""
    from zhengwu.personal import FieldCipher

    click.echo(FieldCipher.generate_key())


def register(main: click.Group) -> None:
    for group in (history, users, reminders, privacy):
        main.add_command(group)
