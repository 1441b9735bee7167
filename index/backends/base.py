"""The seam under the searcher: candidate generation behind one small interface.

Everything a search does above candidate generation (language weights, fusion, pseudo-
relevance feedback, structure lift, duplicate folding, scope) lives once, in
`index.searcher`, over row numbers. A backend only answers the questions below, so the
same query gives the same ranking whichever backend serves it:

* dense top-N, with filters, for each of the two encoders (`DenseLeg.search`);
* the passage vectors the dense ranking rescores with (`IndexParts.vectors`, `.second_vectors`);
* lexical top-N, with filters, for a query or an already-analysed token list (`LexicalLeg`);
* the chunks and documents by row, hence by id (`IndexParts.chunks`), and the index version.

Around the legs, a `Backend` says which version it serves now, hands it over (its
manifest first, so a caller can check the model and start loading the encoders before
the rest is read), and publishes a fresh build where replicas will find it.

Backends: `faiss` (the files of a data folder, the default), `milvus` (a Milvus
collection behind an alias), `memory` (numpy, in memory: fast tests with a fake
embedder). `factory` alone knows them by name.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from boussole.index.calibrate import CalibrationVectors
from boussole.index.filters import Filters
from boussole.index.scope import ScopeModel
from boussole.index.store import Manifest
from boussole.ingest.models import Chunk, Document


@dataclass(frozen=True)
class Selection:
    """The rows a search may return: the filters as asked (what a remote engine is told)
    and the same filters as a boolean mask over rows (what in-process legs apply)."""

    filters: Filters
    mask: np.ndarray

    def any(self) -> bool:
        return bool(self.mask.any())


class DenseLeg(Protocol):
    """Top-k by inner product over one encoder's passage vectors."""

    @property
    def size(self) -> int: ...

    @property
    def dim(self) -> int: ...

    def search(self, query: np.ndarray, k: int, allowed: Selection | None = None) -> list[tuple[int, float]]:
        """Top-k (row, inner product) pairs, best first; only rows `allowed` lets through."""
        ...


class LexicalLeg(Protocol):
    """Top-k by BM25 over the language-analysed passage texts."""

    @property
    def size(self) -> int: ...

    def search(self, query: str, lang: str, k: int, allowed: Selection | None = None) -> list[tuple[int, float]]: ...

    def search_tokens(self, tokens: list[str], k: int, allowed: Selection | None = None) -> list[tuple[int, float]]:
        """Like `search` for an analysed query (the feedback terms)."""
        ...


@dataclass(frozen=True)
class IndexParts:
    """What a backend hands the searcher: one index version, rows numbered 0..n-1 in
    `chunks` order in every part."""

    version: str  # the folder name or the Milvus collection name: identifies what is served
    location: str  # where it was read from, for messages (a folder path, or URI and collection)
    manifest: Manifest
    chunks: list[Chunk]
    documents: list[Document]
    dense: DenseLeg  # e5 (centred when the manifest's fusion says so)
    second_dense: DenseLeg  # the second encoder (USE)
    lexical: LexicalLeg
    vectors: np.ndarray  # (n, dim) e5 passage vectors, as `dense` holds them
    second_vectors: np.ndarray  # (n, dim2) second-encoder passage vectors
    calibration: CalibrationVectors
    scope_model: ScopeModel


@dataclass(frozen=True)
class PinnedVersion:
    """One version, fixed when a backend was asked what it serves: its manifest is read
    and `load` reads the rest of that same version, whatever is published meanwhile."""

    manifest: Manifest
    location: str  # as `IndexParts.location`: where it is read from, for messages
    load: Callable[[], IndexParts]


@dataclass(frozen=True)
class ServedVersion:
    """The version a backend serves now, named without loading it."""

    version: str | None  # None: nothing complete is served (yet)
    built_at: str | None = None  # when the backend can tell without opening the version
    path: Path | None = None  # the version folder, for a backend of local files


@dataclass(frozen=True)
class PublishReport:
    """What publishing a build did, for the build's last line and the evaluation's notes."""

    where: str  # the backend and its address
    collection: str  # the copy of the version served now
    rows: int
    previous: str | None  # the copy it replaced
    unchanged: bool  # the version was served already: nothing was rewritten

    def summary(self) -> str:
        state = "already served" if self.unchanged else f"now served (previous: {self.previous or 'none'})"
        return f"{self.where} -> {self.collection} ({self.rows} chunks), {state}"


class Backend(ABC):
    """Where the index versions live, and what every command asks of that place."""

    @abstractmethod
    def pin(self) -> PinnedVersion:
        """The version served now, its manifest read and the rest left for `load`."""

    def open(self) -> IndexParts:
        """The version served now, whole."""
        return self.pin().load()

    @abstractmethod
    def served(self) -> ServedVersion:
        """Which version is served now, cheaply: a server asks every few seconds."""

    def publish(self, version_dir: Path) -> PublishReport | None:
        """Serve the sealed version folder a build just made (None: the build's own
        pointer swap serves it already)."""
        return None

    @property
    def folder(self) -> Path | None:
        """The data folder's index pointer, when the index is served from local files
        (it must exist before serving); None when it is served from elsewhere."""
        return None

    @abstractmethod
    def served_from(self, version: str) -> str:
        """Where `version` is served from, in words, for the line `boussole serve` prints."""
