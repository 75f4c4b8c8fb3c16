"""A click group with a default command (``zhengwu eval QUESTIONS`` is ``zhengwu eval run QUESTIONS``)."""

from __future__ import annotations

from pathlib import Path

import click


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
