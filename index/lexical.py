"""Lexical retrieval: BM25 (bm25s) over language-aware analysed text.

Each chunk is analysed with its own language's stemmer; a query is analysed with the
stemmer of the language it is written in. A query in another language than a chunk
mostly matches noise there, which the fusion accounts for.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from boussole.index.analysis import analyse
from boussole.index.errors import IndexCorrupt

if TYPE_CHECKING:
    from boussole.index.backends.base import Selection


class LexicalIndex:
    def __init__(self, retriever) -> None:
        self._bm25 = retriever

    @classmethod
    def build(cls, texts: list[str], langs: list[str]) -> LexicalIndex:
        import bm25s

        tokens = [analyse(text, lang) or ["∅"] for text, lang in zip(texts, langs)]
        retriever = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
        retriever.index(tokens, show_progress=False)
        return cls(retriever)

    @property
    def size(self) -> int:
        return int(self._bm25.scores["num_docs"])

    def search(self, query: str, lang: str, k: int, allowed: Selection | None = None) -> list[tuple[int, float]]:
        """Top-k (row, BM25 score) pairs with a positive score."""
        return self.search_tokens(analyse(query, lang), k, allowed)

    def search_tokens(self, tokens: list[str], k: int, allowed: Selection | None = None) -> list[tuple[int, float]]:
        """Like `search`, for a query that is already analysed (feedback terms)."""
        ids = self._bm25.get_tokens_ids(tokens)
        if not ids:
            return []
        scores = self._bm25.get_scores_from_ids(ids)
        if allowed is not None:
            scores = np.where(allowed.mask, scores, 0.0)
        k = min(k, scores.shape[0])
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]

    def save(self, directory: Path) -> None:
        self._bm25.save(str(directory), show_progress=False)

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex:
        import bm25s

        try:
            return cls(bm25s.BM25.load(str(directory), show_progress=False))
        except (OSError, ValueError, KeyError) as exc:
            raise IndexCorrupt(f"{directory}: not a readable BM25 index ({exc})") from exc
