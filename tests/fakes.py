"""A deterministic fake embedder: feature-hashed words, L2-normalised.

Texts that share words get similar vectors, so a search over it still ranks by meaning of
a crude kind, and the searcher's logic (filters, modes, fusion, folding) can be tested in
milliseconds, without the real model.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np

from boussole.ingest.models import Document

WORD = re.compile(r"\w+")


class FakeEncoder:
    def __init__(self, dim: int = 64, model_id: str = "fake-hash") -> None:
        self.dim = dim
        self.model_id = model_id
        self.fingerprint = hashlib.sha256(f"{model_id}/{dim}".encode()).hexdigest()

    def _embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in WORD.findall(text.lower()):
                digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
                column = int.from_bytes(digest[:4], "little") % self.dim
                out[row, column] += 1.0 if digest[4] & 1 else -1.0
            norm = np.linalg.norm(out[row])
            out[row] = out[row] / norm if norm else np.eye(1, self.dim, 0, dtype=np.float32)[0]
        return out

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._embed(texts)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self._embed(texts)

    def close(self) -> None:
        pass


# The English UN-style sample of tests/fixtures/en-guidelines-sample.txt, as its manifest entry.
EN_SAMPLE = Document(
    id="en-sample",
    title="Sample guidelines",
    lang="en",
    kind="guidelines",
    source="en-guidelines-sample.txt",
    symbol="HSP/HA.9/99",
)
