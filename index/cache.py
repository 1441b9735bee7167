"""Embedding cache keyed by (model fingerprint, text hash).

Rebuilding after adding one document should embed only that document's chunks: on two
CPU cores embedding is the slow part of a build, everything else takes a second.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np

from boussole.atomic import atomic_write_bytes


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def passage_key(text: str, precision: str = "fp32") -> str:
    """A passage's key; float32 passages keep the plain text key of earlier caches, other
    precisions a key of their own, so that one cache never mixes the two."""
    return text_key(text) if precision == "fp32" else text_key(f"\0passage:{precision}\0{text}")


def query_key(text: str, precision: str = "fp32") -> str:
    """A question's key (calibration questions, item problems): apart from the passage of
    the same text, and, like passages, one per precision (float32 keeps the earlier key)."""
    return text_key(f"\0query\0{text}") if precision == "fp32" else text_key(f"\0query:{precision}\0{text}")


class EmbeddingCache:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._vectors: dict[str, np.ndarray] = {}
        self._used: set[str] = set()
        if path is not None and path.exists():
            try:
                with np.load(path, allow_pickle=False) as data:
                    self._vectors = dict(zip(data["keys"].tolist(), data["vectors"]))
            except (OSError, ValueError, KeyError):
                self._vectors = {}  # a damaged cache only costs time: start afresh

    @classmethod
    def for_model(cls, cache_dir: Path | None, fingerprint: str) -> EmbeddingCache:
        if cache_dir is None:
            return cls(None)
        return cls(cache_dir / "embeddings" / f"{fingerprint[:24]}.npz")

    def get(self, key: str) -> np.ndarray | None:
        self._used.add(key)
        return self._vectors.get(key)

    def put(self, key: str, vector: np.ndarray) -> None:
        self._used.add(key)
        self._vectors[key] = vector

    def used_keys(self) -> set[str]:
        """Keys read or written since this cache was opened: what one build needed."""
        return set(self._used)

    def save(self, keep: set[str] | None = None) -> None:
        """Write atomically; `keep` limits the cache to the keys still in use."""
        if self.path is None or not self._vectors:
            return
        keys = sorted(k for k in self._vectors if keep is None or k in keep)
        buffer = io.BytesIO()
        np.savez(buffer, keys=np.array(keys), vectors=np.stack([self._vectors[k] for k in keys]))
        atomic_write_bytes(self.path, buffer.getvalue())
