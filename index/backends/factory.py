"""Which backend serves the index, and the two things every command asks of it: open the
version served now, and name it (so a server can notice a new one)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from boussole.errors import BoussoleError
from boussole.index import store
from boussole.index.backends.base import BACKENDS, IndexParts


class BackendError(BoussoleError):
    """The backend settings are unusable (unknown name, Milvus without a URI)."""


@dataclass(frozen=True)
class BackendChoice:
    name: str = "faiss"
    milvus_uri: str | None = None
    milvus_alias: str = "boussole"

    @classmethod
    def of(cls, name: str, milvus_uri: str | None = None, milvus_alias: str = "boussole") -> BackendChoice:
        if name not in BACKENDS:
            raise BackendError(f"unknown backend {name!r}; choose {' or '.join(BACKENDS)}")
        if name == "milvus" and not milvus_uri:
            raise BackendError("the milvus backend needs --milvus-uri (or BOUSSOLE_MILVUS_URI): "
                               "http://host:19530, or a milvus-lite folder ending in .db")
        return cls(name, milvus_uri, milvus_alias)

    def target(self):
        from boussole.index.backends.milvus import MilvusTarget

        try:
            return MilvusTarget(self.milvus_uri or "", self.milvus_alias)
        except ValueError as exc:
            raise BackendError(str(exc)) from None


def open_parts(choice: BackendChoice, index_dir: Path) -> IndexParts:
    """The version served now: the folder `index_dir` points at, or the alias's collection."""
    if choice.name == "milvus":
        from boussole.index.backends.milvus import open_alias

        return open_alias(choice.target())
    from boussole.index.backends.faiss import open_folder

    return open_folder(store.resolve(index_dir))


def served_version(choice: BackendChoice, index_dir: Path) -> str | None:
    """The name of the version served now (None when there is none), cheaply."""
    if choice.name == "milvus":
        from boussole.index.backends.milvus import connect, served_collection

        target = choice.target()
        client = connect(target)
        try:
            return served_collection(client, target)
        finally:
            client.close()
    directory = store.resolve(index_dir)
    return directory.name if (directory / store.MANIFEST).is_file() else None


def open_searcher(choice: BackendChoice, index_dir: Path, models_dir: Path, model: str | None = None, embedder=None):
    """A Searcher over the version served now by the chosen backend."""
    from boussole.index.searcher import Searcher, check_model

    if choice.name == "faiss":
        return Searcher.open(store.resolve(index_dir), models_dir, model, embedder=embedder)
    parts = open_parts(choice, index_dir)
    check_model(parts.manifest, model, parts.location)
    return Searcher.from_parts(parts, models_dir, model, embedder=embedder)


def publish_if_milvus(choice: BackendChoice, index_dir: Path):
    """After a build: copy the version `index_dir` points at into Milvus and switch the
    alias to it (None for the faiss backend, whose build already swapped the pointer)."""
    if choice.name != "milvus":
        return None
    from boussole.index.backends.milvus import publish

    return publish(store.resolve(index_dir), choice.target())
