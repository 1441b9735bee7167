"""What every encoder is, so that the index and the service need not know which one runs."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Encoder(Protocol):
    """Turns texts into L2-normalised float32 vectors of shape (len(texts), dim).

    Queries and passages go through separate methods because a model may prompt them
    differently (E5: "query: " / "passage: "). A string instead of a list is a TypeError,
    not a list of characters.
    """

    @property
    def model_id(self) -> str: ...

    @property
    def fingerprint(self) -> str:
        """Identifies the exact weights (and tokenizer); recorded in index manifests."""
        ...

    @property
    def dim(self) -> int: ...

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...

    def embed_documents(self, texts: list[str]) -> np.ndarray: ...

    def close(self) -> None:
        """Stop what the encoder runs beside its callers (a worker thread), when an index it
        served is replaced; nothing to do for one that runs in its callers' threads."""


@runtime_checkable
class BatchingEncoder(Encoder, Protocol):
    """An Encoder that queues queries and encodes them in a thread of its own, in batches.

    A searcher hands it its query first and runs the other encoder meanwhile
    (index.searcher.Searcher._encode), so a question waits for the slower of the two, not
    for their sum.
    """

    def submit(self, texts: list[str]) -> Future[np.ndarray]:
        """Queue `texts` (a search's one query) and return at once: a future of their
        vectors, shape (len(texts), dim), or of the encoder's error. Raises at once, without
        queueing, when the encoder takes no more work (a full queue, or closed)."""


def passage_precision(encoder: object) -> str:
    """The precision `encoder` writes passage vectors in ("fp32" unless it says otherwise).

    Two precisions of one model share its fingerprint (their vectors live in one space and
    any of them can query an index built by another) but not their passage vectors: the
    embedding cache and the index manifest keep them apart by this name."""
    return str(getattr(encoder, "passage_precision", "fp32"))
