"""The seam under the searcher: candidate generation behind one small interface.

Everything a search does above candidate generation (language weights, fusion, pseudo-
relevance feedback, structure lift, duplicate folding, scope) lives once, in
`index.searcher`, over row numbers. A backend only answers the questions below, so the
same query gives the same ranking whichever backend serves it:

* dense top-N, with filters, for each of the two encoders (`DenseLeg.search`);
* the passage vectors the dense ranking rescores with (`IndexParts.vectors`, `.second_vectors`);
* lexical top-N, with filters, for a query or an already-analysed token list (`LexicalLeg`);
* the chunks and documents by row, hence by id (`IndexParts.chunks`), and the index version.

Backends: `index.faiss_backend` (the files of a data folder, the default),
`index.milvus_backend` (a Milvus collection behind an alias), `index.memory_backend`
(numpy, in memory: fast tests with a fake embedder).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from boussole.index.calibrate import CalibrationVectors
from boussole.index.filters import Filters
from boussole.index.scope import ScopeModel
from boussole.index.store import Manifest
from boussole.ingest.models import Chunk, Document

BACKENDS = ("faiss", "milvus")


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
