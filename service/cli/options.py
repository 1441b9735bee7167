"""Options shared by several commands."""

from pathlib import Path

import click

from boussole.index.backends.factory import BACKENDS

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
    help="Embedding model: multilingual-e5-small-problems (the default) or multilingual-e5-small "
    "(both built offline), a local folder, or a hub id.",
)
backend_option = click.option(
    "--backend",
    type=click.Choice(BACKENDS),
    default=None,
    envvar="BOUSSOLE_BACKEND",
    help="Where the index is served from: faiss (the data folder, default) or milvus (env BOUSSOLE_BACKEND).",
)
milvus_uri_option = click.option(
    "--milvus-uri",
    default=None,
    envvar="BOUSSOLE_MILVUS_URI",
    help="Milvus server (http://host:19530) or milvus-lite folder (*.db) for --backend milvus "
    "(env BOUSSOLE_MILVUS_URI; alias from BOUSSOLE_MILVUS_ALIAS, default boussole).",
)


def backend_options(command):
    """--backend and --milvus-uri, as on build, search, serve and eval."""
    return backend_option(milvus_uri_option(command))
