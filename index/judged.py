"""Judged problems as neighbours: the judged problems closest to a question vote for the
items they must (and may) show.

Each judged problem (index/judged_problems.toml) is an official's situation with the items
an official must see. index.problems folds its text into the mean statement vector of each
of those items; a mean forgets which items answer one situation together. Here the
problems are kept whole: a question's nearest judged problems (centred e5 + USE, as the
item problems are compared) lend their judgments to the ranking, each weighted by a
softmax of its similarity, so a question like one judged situation gets that situation's
several items. The vote is a share of the ranking's best score (index.fusion.judged_lift).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from boussole.index.cache import EmbeddingCache
from boussole.index.calibrate import embed_questions
from boussole.index.centring import centre_by_language
from boussole.ingest.models import Chunk


@dataclass(frozen=True)
class JudgedProblem:
    """One official's problem with the item keys judged for it."""

    id: str
    lang: str
    text: str
    must: tuple[str, ...]
    good: tuple[str, ...] = ()


@dataclass(frozen=True)
class JudgedVectors:
    """Per judged problem: its centred e5 and USE query vectors, and the index rows (every
    version of each item) it votes for, as a CSR list: problem p's rows are
    rows[ptr[p]:ptr[p+1]], `good[i]` true for an acceptable item, false for a must."""

    e5: np.ndarray  # (n, d)
    use: np.ndarray  # (n, d_use)
    ptr: np.ndarray  # (n + 1,) int64
    rows: np.ndarray  # int64
    good: np.ndarray  # bool, beside rows

    @classmethod
    def empty(cls, dim: int, use_dim: int) -> JudgedVectors:
        return cls(
            np.zeros((0, dim), np.float32),
            np.zeros((0, use_dim), np.float32),
            np.zeros(1, np.int64),
            np.zeros(0, np.int64),
            np.zeros(0, bool),
        )

    def __len__(self) -> int:
        return len(self.e5)


def judged_vectors(
    chunks: Sequence[Chunk],
    problems: Sequence[JudgedProblem],
    e5,
    use,
    e5_cache: EmbeddingCache,
    use_cache: EmbeddingCache,
    query_means: Mapping[str, np.ndarray] | None,
) -> JudgedVectors:
    """The judged problems' vectors and the rows of `chunks` they vote for. A problem
    none of whose items is in `chunks` is left out (another corpus)."""
    by_key: dict[str, list[int]] = {}
    for row, chunk in enumerate(chunks):
        if chunk.key:
            by_key.setdefault(chunk.key, []).append(row)
    kept, ptr, rows, good = [], [0], [], []
    for problem in problems:
        votes = [(row, False) for key in problem.must for row in by_key.get(key, ())]
        votes += [(row, True) for key in problem.good if key not in problem.must for row in by_key.get(key, ())]
        if not any(not g for _, g in votes):
            continue
        kept.append(problem)
        rows += [r for r, _ in votes]
        good += [g for _, g in votes]
        ptr.append(len(rows))
    if not kept:
        return JudgedVectors.empty(e5.dim, use.dim)
    texts = [p.text for p in kept]
    e5_vectors = embed_questions(e5, texts, e5_cache)
    if query_means is not None:  # centred like a question in the problem's language
        e5_vectors = centre_by_language(e5_vectors, [p.lang for p in kept], query_means)
    return JudgedVectors(
        e5_vectors.astype(np.float32),
        embed_questions(use, texts, use_cache).astype(np.float32),
        np.array(ptr, np.int64),
        np.array(rows, np.int64),
        np.array(good, bool),
    )


def votes(
    judged: JudgedVectors,
    qdense: np.ndarray,
    quse: np.ndarray,
    n_rows: int,
    *,
    use_weight: float,
    neighbours: int,
    temperature: float,
    good: float,
) -> np.ndarray:
    """Per index row, the vote of the question's `neighbours` nearest judged problems:
    each problem's weight is a softmax of its similarity (centred e5 + use_weight · USE)
    at `temperature`; a must item gets the weight, an acceptable item `good` × it."""
    if not len(judged) or neighbours < 1:
        return np.zeros(n_rows, np.float32)
    sims = judged.e5 @ qdense + use_weight * (judged.use @ quse)
    n = min(neighbours, len(sims))
    nearest = np.argpartition(-sims, n - 1)[:n]
    weights = np.exp((sims[nearest] - sims[nearest].max()) / temperature)
    weights /= weights.sum()
    # every entry of the nearest problems at once: their (row, good) pairs and weights
    counts = judged.ptr[nearest + 1] - judged.ptr[nearest]
    entries = np.concatenate([np.arange(judged.ptr[p], judged.ptr[p + 1]) for p in nearest])
    values = np.repeat(weights, counts) * np.where(judged.good[entries], good, 1.0)
    return np.bincount(judged.rows[entries], weights=values, minlength=n_rows).astype(np.float32)
