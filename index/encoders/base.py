"""What every encoder is, so that the index and the service need not know which one runs."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Encoder(Protocol):
    """Turns texts into L2-normalised float32 vectors of shape (len(texts), dim).

    Queries and passages go through separate methods because a model may prompt them
    differently (E5: "query: " / "passage: "). A string instead of a list is a TypeError,
    not a list of characters.
    """

    model_id: str
    fingerprint: str  # identifies the exact weights (and tokenizer); recorded in index manifests
    dim: int

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...

    def embed_documents(self, texts: list[str]) -> np.ndarray: ...
