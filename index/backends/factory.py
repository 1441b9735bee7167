"""The one place that knows the backends by name: it checks the backend settings and
makes the chosen `Backend` (`Searcher.open_served` then opens what it serves).

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
            raise BackendError(
                "the milvus backend needs --milvus-uri (or BOUSSOLE_MILVUS_URI): "
                "http://host:19530, or a milvus-lite folder ending in .db"
            )
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
