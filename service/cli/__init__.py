"""`boussole` command line: a thin layer over the library.

Each command group lives in its own module; heavy libraries (torch, faiss) are imported
inside the commands so that `boussole --help` is instant.
"""

import click

from boussole.service.cli import corpus_cmds, eval_cmds, index_cmds, mcp_cmds, serve_cmds


@click.group()
@click.version_option(package_name="boussole")
@click.option("--debug", is_flag=True, envvar="BOUSSOLE_DEBUG", help="Print tracebacks of errors (env BOUSSOLE_DEBUG=1).")
def cli(debug: bool) -> None:
    """Boussole: find the UN-Habitat smart-city guidance that answers a city's problem."""


for module in (corpus_cmds, index_cmds, serve_cmds, mcp_cmds, eval_cmds):
    for command in module.COMMANDS:
        cli.add_command(command)
