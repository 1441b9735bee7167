"""`boussole` command line: a thin layer over the library.

Each command group lives in its own module; heavy libraries (torch, faiss) are imported
inside the commands so that `boussole --help` is instant. Layers above the service (the
evaluation) plug their commands in through the `boussole.commands` entry point group
(pyproject.toml), so the service never imports them.
"""

from functools import cache
from importlib.metadata import PackageNotFoundError, distribution

import click

from boussole.service.cli import corpus_cmds, index_cmds, mcp_cmds, serve_cmds

PLUGIN_GROUP = "boussole.commands"


@cache
def plugin_commands() -> dict[str, click.Command]:
    """The commands that Boussole's own distribution declares in PLUGIN_GROUP. Read from its
    metadata only (scanning every installed distribution costs a tenth of a second)."""
    try:
        declared = distribution("boussole").entry_points.select(group=PLUGIN_GROUP)
    except PackageNotFoundError:  # a checkout that was never installed: no plugins
        return {}
    return {command.name: command for plugin in declared for command in plugin.load()}


class BoussoleGroup(click.Group):
    """Built-in commands, then the plugged-in ones, loaded only when listed or called."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *plugin_commands()})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return super().get_command(ctx, name) or plugin_commands().get(name)


@click.group(cls=BoussoleGroup)
@click.version_option(package_name="boussole")
@click.option(
    "--debug", is_flag=True, envvar="BOUSSOLE_DEBUG", help="Print tracebacks of errors (env BOUSSOLE_DEBUG=1)."
)
def cli(debug: bool) -> None:
    """Boussole: find the UN-Habitat smart-city guidance that answers a city's problem."""


for module in (corpus_cmds, index_cmds, serve_cmds, mcp_cmds):
    for command in module.COMMANDS:
        cli.add_command(command)
