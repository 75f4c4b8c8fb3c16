"""The ``zhengwu`` command group: every command is registered here from its own module.

Operator messages are in English; citizen-facing answers are in Simplified Chinese. Errors an operator can fix
(``zhengwu.errors.OperatorError``: a damaged index, a missing corpus, a bad question file …) raised anywhere
below become one ``Error: …`` line and exit code 1 here, in one place.
"""

from __future__ import annotations

import os

import click

from zhengwu.cli.ask import ask
from zhengwu.cli.corpus import corpus
from zhengwu.cli.evaluate import eval_group
from zhengwu.cli.index import info, ingest
from zhengwu.cli.ops import backup, restore
from zhengwu.cli.people import history, privacy, reminders, users
from zhengwu.cli.serve import serve, telegram
from zhengwu.cli.staff import staff
from zhengwu.errors import OperatorError

# Files the commands create (the store and its WAL, the index, backups, exports, the service's metrics) hold
# personal data or sit next to it: the owner's only, 0600 files in 0700 directories, whatever the login umask.
# Set for the command's run (worker processes of `zhengwu serve` inherit it) and put back afterwards, so a
# command invoked in-process (tests, scripts) leaves the caller's umask as it was.
PRIVATE_UMASK = 0o077


class _Zhengwu(click.Group):
    def invoke(self, ctx: click.Context):
        previous = os.umask(PRIVATE_UMASK)
        try:
            return super().invoke(ctx)
        except OperatorError as exc:
            raise click.ClickException(str(exc)) from exc
        finally:
            os.umask(previous)


@click.group(cls=_Zhengwu, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
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


for command in (ingest, ask, eval_group, serve, info, telegram, corpus, history, users, reminders, privacy,
                backup, restore, staff):
    main.add_command(command)
