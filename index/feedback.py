"""Pseudo-relevance feedback: expand a query with the words of its best first-pass results.

An English question shares almost no words with the French guidelines, so BM25 on the
question itself is mostly noise. The top passages of the first (dense + BM25) pass are
in the corpus's language, though: their most distinctive words make a second BM25 query
that carries lexical evidence across languages. This is Rocchio's idea (1971) in the
form of RM3-style term selection (Lavrenko & Croft 2001; Abdul-Jaleel et al. 2004):
terms weighted by their frequency in the feedback passages times their IDF.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence


def document_frequencies(token_lists: Sequence[Sequence[str]]) -> Counter[str]:
    return Counter(token for tokens in token_lists for token in set(tokens))


def feedback_terms(
    rows: Sequence[int],
    token_lists: Sequence[Sequence[str]],
    df: Counter[str],
    n_terms: int,
) -> list[str]:
    """The `n_terms` most distinctive analysed terms of the passages at `rows`."""
    n_docs = len(token_lists)
    weights: defaultdict[str, float] = defaultdict(float)
    for row in rows:
        tokens = token_lists[row]
        if not tokens:
            continue
        for term, count in Counter(tokens).items():
            weights[term] += count / len(tokens) * math.log(n_docs / df[term])
    return [term for term, _ in sorted(weights.items(), key=lambda item: (-item[1], item[0]))[:n_terms]]
