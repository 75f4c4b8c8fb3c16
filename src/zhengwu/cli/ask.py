"""``zhengwu ask``: one question, answered as a citizen would be answered.

Staff-curated answers are given as the HTTP API gives them (the review store of the configured database is
read), so an operator checking an answer sees what citizens see; the question is not logged as a conversation.
"""

from __future__ import annotations

import json

import click

from zhengwu.answering.citations import render_plain
from zhengwu.answering.user import UserContext
from zhengwu.bootstrap import build_assistant, ensure_index, open_reviews
from zhengwu.config import get_settings
from zhengwu.ops.progress import progress_bars


@click.command()
@click.argument("question")
@click.option("--region", help="The asker's region, e.g. 广州市 (answers prefer that region's items).")
@click.option("--json", "as_json", is_flag=True, help="Print the full answer as JSON.")
def ask(question: str, region: str | None, as_json: bool) -> None:
    """Ask one question in Chinese and print the answer with its sources.

    Staff-curated answers (review console) are given as the HTTP API gives them; the question is not logged.
    """
    settings = get_settings()
    index = ensure_index(settings, progress=progress_bars(), say=lambda line: click.echo(line, err=True))
    assistant = build_assistant(settings, index, reviews=open_reviews(settings))
    answer = assistant.ask(question, user=UserContext(region=region) if region else None)
    if as_json:
        click.echo(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(render_plain(answer))
        click.echo(f"\n[status: {answer.status}{' / ' + answer.reason if answer.reason else ''}; "
                   f"{answer.latency_ms:.0f} ms]", err=True)
