"""Options shared by several commands."""

from pathlib import Path

import click

data_dir_option = click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    envvar="BOUSSOLE_DATA_DIR",
    help="Where chunks, models and the index live (default ./data; env BOUSSOLE_DATA_DIR).",
)
corpus_dir_option = click.option(
    "--corpus-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    envvar="BOUSSOLE_CORPUS_DIR",
    help="Folder of source documents with documents.toml (default ./corpus).",
)
model_option = click.option(
    "--model",
    default=None,
    envvar="BOUSSOLE_MODEL",
    help="Embedding model: multilingual-e5-small (built offline), a local folder, or a hub id.",
)
