"""The in-memory backend: exact inner products in numpy, nothing on disk.

It is the reference the other backends are held to (tests/test_backends.py), and with a
fake embedder (tests/fakes.py) it gives the searcher's tests an index in a fraction of a
second instead of the real model's minutes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from boussole.index.backends.base import Backend, IndexParts, PinnedVersion, Selection, ServedVersion
from boussole.index.builder import embed_chunks, new_manifest
from boussole.index.cache import EmbeddingCache
from boussole.index.calibrate import calibrate
from boussole.index.calibration import load_calibration
from boussole.index.centring import centre
from boussole.index.config import DEFAULT_FUSION, FusionConfig
from boussole.index.encoders.base import Encoder
from boussole.index.lexical import LexicalIndex
from boussole.index.problems import lexical_texts, load_item_problems, with_item_problems
from boussole.index.text import second_encoder_text
from boussole.ingest.models import Chunk, Document


class MemoryDense:
    """Top-k inner products over a (n, d) array; ties go to the lower row."""

    def __init__(self, vectors: np.ndarray) -> None:
        self._vectors = np.ascontiguousarray(vectors, dtype=np.float32)

    @property
    def size(self) -> int:
        return self._vectors.shape[0]

    @property
    def dim(self) -> int:
        return self._vectors.shape[1]

    def search(self, query: np.ndarray, k: int, allowed: Selection | None = None) -> list[tuple[int, float]]:
        rows = np.arange(self.size) if allowed is None else np.flatnonzero(allowed.mask)
        if rows.size == 0 or k <= 0:
            return []
        scores = self._vectors[rows] @ np.asarray(query, dtype=np.float32).ravel()
        order = np.lexsort((rows, -scores))[:k]
        return [(int(rows[i]), float(scores[i])) for i in order]


class MemoryBackend(Backend):
    """Serves one version held in memory (`build_parts`), for ever."""

    def __init__(self, parts: IndexParts) -> None:
        self.parts = parts

    def pin(self) -> PinnedVersion:
        return PinnedVersion(self.parts.manifest, self.parts.location, lambda: self.parts)

    def served(self) -> ServedVersion:
        return ServedVersion(self.parts.version, self.parts.manifest.built_at)

    def served_from(self, version: str) -> str:
        return "memory"


def build_parts(
    chunks: Sequence[Chunk],
    documents: Sequence[Document],
    embedder: Encoder,
    second: Encoder,
    fusion: FusionConfig = DEFAULT_FUSION,
) -> IndexParts:
    """What `boussole build` computes (vectors, calibration, scope model, BM25), kept in memory."""
    if not chunks:
        raise ValueError("no chunks to index")
    cache, second_cache = EmbeddingCache(None), EmbeddingCache(None)
    vectors, _ = embed_chunks(chunks, embedder, cache)
    second_vectors, _ = embed_chunks(chunks, second, second_cache, text_of=second_encoder_text)
    calibration, scope_model = calibrate(
        load_calibration(), embedder, second, vectors, second_vectors, cache, second_cache
    )
    problems = load_item_problems()
    calibration = with_item_problems(
        calibration, chunks, problems, embedder, second, cache, second_cache, fusion.centre
    )
    dense_vectors = centre(vectors, calibration.passage_mean) if fusion.centre else vectors
    manifest = new_manifest(chunks, documents, embedder, second, int(vectors.shape[1]), fusion, 0.0, problems)
    return IndexParts(
        version=f"memory-{manifest.corpus_hash[:8]}",
        location="memory",
        manifest=manifest,
        chunks=list(chunks),
        documents=list(documents),
        dense=MemoryDense(dense_vectors),
        second_dense=MemoryDense(second_vectors),
        lexical=LexicalIndex.build(lexical_texts(chunks, problems), [c.lang for c in chunks]),
        vectors=np.ascontiguousarray(dense_vectors, dtype=np.float32),
        second_vectors=np.ascontiguousarray(second_vectors, dtype=np.float32),
        calibration=calibration,
        scope_model=scope_model,
    )
