"""The one place that knows the backends by name: it checks the backend settings, makes
the chosen `Backend`, and opens a searcher over what it serves (`open_searcher`, the one
way every command and the server get a `Searcher`).

Light on purpose: the backend modules (numpy, FAISS) load when a backend is made, so the
CLI can list the names (`--backend`) without paying for them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from boussole.errors import BoussoleError

if TYPE_CHECKING:
    from boussole.index.backends.base import Backend
    from boussole.index.encoders.base import Encoder
    from boussole.index.searcher import Searcher
    from boussole.index.store import Manifest

# The two query encoders for an index, chosen once its manifest is read (None: the
# searcher loads the index's own).
Encoders = Callable[["Manifest"], tuple["Encoder | None", "Encoder | None"]]


class BackendError(BoussoleError):
    """The backend settings are unusable (unknown name, Milvus without a URI)."""


@dataclass(frozen=True)
class BackendChoice:
    """What the settings say about the backend; `of` checks it."""

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


def _faiss(choice: BackendChoice, index_dir: Path) -> Backend:
    from boussole.index.backends.faiss import FaissBackend

    return FaissBackend(index_dir)


def _milvus(choice: BackendChoice, index_dir: Path) -> Backend:
    from boussole.index.backends.milvus import MilvusBackend, MilvusTarget

    try:
        target = MilvusTarget(choice.milvus_uri or "", choice.milvus_alias)
    except ValueError as exc:
        raise BackendError(str(exc)) from None
    return MilvusBackend(target)


# name -> how to make it from the settings and the data folder's index pointer. The
# in-memory backend has no name: tests make it from chunks they hold.
_MAKERS: dict[str, Callable[[BackendChoice, Path], Backend]] = {"faiss": _faiss, "milvus": _milvus}
BACKENDS = tuple(_MAKERS)


def create_backend(choice: BackendChoice, index_dir: Path) -> Backend:
    """The chosen backend; `index_dir` is the data folder's index pointer (`data/index`)."""
    return _MAKERS[choice.name](choice, index_dir)


def open_searcher(
    backend: Backend, models_dir: Path, model: str | None = None, encoders: Encoders | None = None
) -> Searcher:
    """A Searcher over the version `backend` serves now, read once (a version published
    meanwhile cannot mix in). An index built with another model than `model` is refused
    before any model loads; `encoders` then chooses the query encoders from the manifest,
    before the rest of the index is read (so they may load meanwhile)."""
    from boussole.index.searcher import Searcher, check_model

    version = backend.pin()
    check_model(version.manifest, model, version.location)
    embedder, second = encoders(version.manifest) if encoders is not None else (None, None)
    return Searcher.from_parts(version.load(), models_dir, model, embedder, second)
