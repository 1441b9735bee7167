"""Dense retrieval: exact inner product over L2-normalised vectors (cosine similarity).

The corpus is about a thousand chunks: a flat index answers in well under a millisecond
and is exact, so an approximate index (IVF, HNSW) would only cost recall.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from boussole.index.errors import IndexCorrupt

if TYPE_CHECKING:
    from boussole.index.backends.base import Selection


class DenseIndex:
    def __init__(self, faiss_index) -> None:
        self._index = faiss_index

    @classmethod
    def build(cls, vectors: np.ndarray) -> DenseIndex:
        import faiss

        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(vectors)
        return cls(index)

    @property
    def size(self) -> int:
        return self._index.ntotal

    @property
    def dim(self) -> int:
        return self._index.d

    def vectors(self) -> np.ndarray:
        return self._index.reconstruct_n(0, self._index.ntotal)

    def search(self, query: np.ndarray, k: int, allowed: Selection | None = None) -> list[tuple[int, float]]:
        """Top-k (row, cosine) pairs; `allowed` restricts the rows (filters)."""
        import faiss

        query = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        params = None
        if allowed is not None:
            rows = np.flatnonzero(allowed.mask).astype(np.int64)
            if rows.size == 0:
                return []
            # faiss's Python layer takes the parameters as keywords; its SWIG signature does not say so
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(rows))  # type: ignore[call-arg]
        k = min(k, self.size)
        scores, ids = self._index.search(query, k, params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path) -> DenseIndex:
        import faiss

        try:
            return cls(faiss.read_index(str(path)))
        except RuntimeError as exc:  # faiss raises RuntimeError with a C++ trace on bad files
            raise IndexCorrupt(f"{path}: not a readable FAISS index ({str(exc).splitlines()[0][:200]})") from exc
