"""`cxloop` command line. Each command group lives in its own module and is imported only when it runs:
`cxloop jobs` does not load the web app, `cxloop serve` does not load the CSV importer.

To add a command: write it as a `@click.command()` (or group) in a module here, with its imports at the
top, and name it in COMMANDS.
"""

from __future__ import annotations

import importlib

import click

COMMANDS: dict[str, str] = {
    "serve": "bot.cli.serve:serve",
    "worker": "bot.cli.serve:worker",
    "clock": "bot.cli.serve:clock",
    "db": "bot.cli.database:db",
    "check-config": "bot.cli.checks:check_config",
    "doctor": "bot.cli.checks:doctor",
    "analyze": "bot.cli.analyze:analyze",
    "outbox": "bot.cli.outbox:outbox",
    "jobs": "bot.cli.outbox:jobs",
    "demo": "bot.cli.demo:demo",
    "simulate": "bot.cli.demo:simulate",
    "vip": "bot.cli.vip:vip",
    "forget": "bot.cli.privacy:forget",
    "purge": "bot.cli.privacy:purge",
    "link": "bot.cli.product:link",
    "digest": "bot.cli.reports:digest",
    "report": "bot.cli.reports:report",
    "export": "bot.cli.export:export",
    "import": "bot.cli.imports:import_group",
}


class LazyGroup(click.Group):
    """A group whose sub-commands are imported by name when used (click's documented lazy-loading pattern)."""

    def __init__(self, *args, lazy: dict[str, str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.lazy:
            return super().get_command(ctx, cmd_name)
        module_name, attribute = self.lazy[cmd_name].split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.lazy[cmd_name]} is not a click command")
        return command


@click.group(cls=LazyGroup, lazy=COMMANDS)
def main() -> None:
    """cxloop: close the customer-feedback loop in Slack."""
